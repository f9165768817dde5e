"""GAN inference: the trained generator redraws the lower face of a template frame.

For each output frame (Wav2Lip's inference recipe, Prajwal et al. 2020, ACM MM):

1. the *template* frame gives everything but the mouth: the procedural presenter at rest
   (blinking, breathing, swaying) or the presenter's own footage played in a loop;
2. its square face crop is resized to the generator's size; the crop is the reference frame
   and, with the lower half blanked, the masked target;
3. the generator, conditioned by FiLM on the 0.2 s mel window and the 5-frame mouth window,
   draws the face; its lower half (in training and metrics) or the feathered ellipse around
   the mouth and jaw inside it (when rendering, :func:`mouth_mask`) is pasted back;
4. a twin with a refinement stage (:mod:`avatar.refine`) first takes the generated face to
   twice its side, guided by the template's crop at that size; ``avatar train`` records the
   jaw paste for it (:func:`jaw_mask`, the detail-preserving paste of :func:`paste_back`).

Pixels where the mask is 0 are copied from the template unchanged (the composite is integer
exact there). Inference runs under bf16 autocast when the CPU has native bf16 (``benchmarks/avatar.py``
times fp32 against bf16) and with flush-to-zero for denormals (5-15x stalls without it).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from avatar.ahead import MadeAhead
from avatar.audio import Speech, mel_windows
from avatar.cues import Cue
from avatar.errors import AvatarError
from avatar.geometry import FEATHER_FRACTION, Box, crop_square, paste_mask, square_box
from avatar.models import (
    SYNC_FRAMES,
    LipGenerator,
    denormals_flushed,
    mask_lower_half,
)
from avatar.mouth import MouthShape, MouthTrack
from avatar.procedural import PresenterStyle, ProceduralPresenter, speaking_envelope
from avatar.refine import Refiner, load_twin, refine_faces

MOUTH_ELLIPSE = (0.48, 0.685, 0.23, 0.18)
"""Centre (x, y) and semi-axes of the render paste region, in fractions of the face crop's side
(our choice, measured on the crops of both procedural styles: the mouth's box spans x
0.30-0.65 and y 0.54-0.83 of the crop; the ellipse holds it but not the chin's outline, the
hair beside the jaw or the collar, which the generator only blurs at 96^2). A presenter whose
chin drops far when speaking may need a larger region."""

JAW_MARGIN = 0.25
"""The jaw region reaches this fraction of the face's half-width and chin depth past the face
outline (our choice: the feathered ramp lies outside the jaw contour, which the procedural
presenter moves with the jaw, and holds the chin line and the shadow under the chin)."""
SHARPEN = 1.0
"""Unsharp-mask gain on the generator's upsampled change (our choice; Gaussian of one source
pixel, so it restores the contrast the bicubic upsampling spreads out, and it acts only where
the generator changes the template)."""
JAW_TOP = 0.062
"""The jaw region's upper edge in head units below the eye line: just under the nose, above the
upper lip (``avatar.procedural.MOUTH_BOX`` starts at 0.063)."""
FOOTAGE_CROP = (0.013, 0.084, 0.99)
"""Crop framing (centre shift in face-box sides, side scale) assumed for the jaw region of
twins without procedural geometry: the LBP crop of the default presenter, measured by
:func:`crop_calibration` (our choice; the detector frames real faces alike)."""
DETAIL_SCALE = 24.0
"""Levels of generator change at which the template's fine detail is faded to 1/e in the
detail-preserving paste (our choice: the lips' own change on an opening is 40-120 levels, the
generator's error where nothing moves is under 10)."""

BATCH = 8
"""Frames per generator call (our choice; ``benchmarks/avatar.py`` times the generator at this
batch)."""


def bf16_supported() -> bool:
    """Whether oneDNN can run bf16 natively on this CPU (AVX512-BF16 / AMX)."""
    try:
        return bool(
            torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
        )
    except (AttributeError, RuntimeError):
        return False


@functools.lru_cache(maxsize=16)
def mouth_mask(size: int) -> np.ndarray:
    """:func:`paste_mask` times a feathered ellipse (:data:`MOUTH_ELLIPSE`, soft edge of
    ``FEATHER_FRACTION * size`` pixels inside it): the region a rendered frame takes from the
    generator. The rest of the lower face (hair beside the jaw, neck, collar) stays the
    template's, which is sharp where the generator's 96^2 face, scaled up to the box, is not."""
    cx, cy, rx, ry = MOUTH_ELLIPSE
    centres = (np.arange(size) + 0.5) / size
    # Distance from the ellipse's edge, inwards, in fractions of the side (first-order).
    radius = np.hypot((centres[None, :] - cx) / rx, (centres[:, None] - cy) / ry)
    inside = (1 - radius) * min(rx, ry)
    ellipse = np.clip(inside / FEATHER_FRACTION, 0, 1)
    return (paste_mask(size) * ellipse).astype(np.float32)


def jaw_polygon(crop: tuple[float, float, float] = FOOTAGE_CROP) -> tuple[tuple[float, float], ...]:
    """The lower face (cheeks under the nose, lips, chin, jaw line, :data:`JAW_MARGIN` past the
    outline) as a polygon in fractions (x, y) of the square face crop, from the procedural
    head's outline (:func:`avatar.procedural._face_outline`) and the crop framing ``crop``
    (:attr:`ProceduralTemplate.adjust`)."""
    from avatar.procedural import FACE_BOX, FACE_HALF_WIDTH, _face_outline

    outline = _face_outline(FACE_HALF_WIDTH, 240) * (1 + JAW_MARGIN)
    lower = outline[outline[:, 1] >= JAW_TOP]
    lower = lower[np.argsort(np.arctan2(lower[:, 1], lower[:, 0]))]  # right, chin, left
    edge = float(np.abs(lower[:, 0]).max())
    points = np.concatenate([[[edge, JAW_TOP]], lower, [[-edge, JAW_TOP]]])
    fx0, fy0, fx1, fy1 = FACE_BOX
    side = max(fx1 - fx0, fy1 - fy0)
    dx, dy, scale = crop
    cx, cy = (fx0 + fx1) / 2 + dx * side, (fy0 + fy1) / 2 + dy * side
    fractions = (points - [cx, cy]) / (side * scale) + 0.5
    return tuple((round(float(x), 4), round(float(y), 4)) for x, y in fractions)


@functools.lru_cache(maxsize=16)
def jaw_mask(size: int, polygon: tuple[tuple[float, float], ...] | None = None) -> np.ndarray:
    """Feathered alpha (size x size, float32) over the :func:`jaw_polygon`: 1 inside, a ramp of
    ``FEATHER_FRACTION * size`` pixels inside the polygon's edge, exactly 0 outside it and on
    the upper half and the outer ring (:func:`paste_mask`). Follows the jaw line and the chin,
    not an ellipse around the mouth."""
    from PIL import ImageDraw
    from scipy.ndimage import distance_transform_edt

    polygon = polygon or jaw_polygon()
    image = Image.new("L", (size, size), 0)
    ImageDraw.Draw(image).polygon([(x * size, y * size) for x, y in polygon], fill=1)
    inside = np.asarray(image, dtype=bool)
    feather = max(1.0, size * FEATHER_FRACTION)
    ramp = np.clip(distance_transform_edt(inside) / feather, 0, 1)
    return (paste_mask(size) * ramp).astype(np.float32)


@functools.lru_cache(maxsize=32)
def _resize_matrix(source: int, side: int) -> np.ndarray:
    """(side, source) float32 ``M`` such that ``M @ line`` is PIL's bicubic resize (mode F) of a
    line of ``source`` values to ``side``: the resize is linear and separable, so the matrix is
    read off PIL's own resize of the identity (its kernel, antialiasing and edge weights)."""
    identity = np.eye(source, dtype=np.float32)
    rows = Image.fromarray(identity).resize((side, source), Image.Resampling.BICUBIC)
    return np.ascontiguousarray(np.asarray(rows, dtype=np.float32).T)


def _resize_window(image: np.ndarray, side: int, rows: slice, cols: slice) -> np.ndarray:
    """The window ``rows`` x ``cols`` of the (S, S, C) float32 ``image`` resized bicubic to
    ``side`` x ``side``, as two small matrix products: only the window's pixels are computed.
    In torch, whose thread count the renderer sets (numpy's OpenBLAS spins threads of its own,
    5-10x slower for these sizes on a shared 2-core machine)."""
    source, channels = image.shape[0], image.shape[-1]
    matrix = torch.from_numpy(_resize_matrix(source, side))
    pixels = torch.from_numpy(np.ascontiguousarray(image)).reshape(source, -1)
    tall = (matrix[rows] @ pixels).reshape(-1, source, channels)  # (h, S, C)
    height = tall.shape[0]
    wide = matrix[cols] @ tall.permute(1, 0, 2).reshape(source, -1)  # (w, h * C)
    return wide.reshape(-1, height, channels).permute(1, 0, 2).numpy()


def _nonzero_window(alpha: np.ndarray) -> tuple[slice, slice] | None:
    """The bounding rows and columns of the nonzero part of ``alpha`` (None where all zero)."""
    rows = np.flatnonzero(alpha.any(axis=1))
    if not rows.size:
        return None
    cols = np.flatnonzero(alpha.any(axis=0))
    return slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1)


def paste_back(
    template: np.ndarray,
    face: np.ndarray,
    box: Box,
    *,
    mask: str | np.ndarray = "lower_half",
    base: np.ndarray | None = None,
    sharpen: float = SHARPEN,
) -> np.ndarray:
    """Composite ``face`` (SxSx3 uint8) into the square ``box`` of ``template`` through a
    feathered mask drawn at the box's own side (so the mid line stays sharp):
    :func:`paste_mask` (``mask="lower_half"``, as in training and the metrics) or
    :func:`mouth_mask` (``mask="mouth"``, as rendered).

    ``mask`` may also be an alpha array of the box's side (:func:`jaw_mask`). With ``base``,
    the S x S crop of the template the generator was given, the paste keeps the template's
    detail (a Laplacian-pyramid style composite, Burt & Adelson 1983, "A multiresolution
    spline with application to image mosaics", ACM TOG 2(4)): the box gets the template at its
    own resolution plus the upsampled change ``face - base``, and the template's fine detail
    (the template minus its S x S version, upsampled) fades only where the generator changes
    the picture (:data:`DETAIL_SCALE`). Lines the generator keeps, chin, jaw contour and the
    resting lip line, stay as sharp as the template; what it redraws comes at its own size,
    its change upsampled with the unsharp gain ``sharpen`` (:data:`SHARPEN`; 0 for a refined
    face, already drawn at about the box's side, where the gain only adds halos).

    The face is resized to the box side; parts outside the frame are cut off. Where the mask
    is 0 the template pixel is kept exactly."""
    if isinstance(mask, str) and mask not in ("lower_half", "mouth"):
        raise ValueError(f"mask must be 'lower_half' or 'mouth', got {mask!r}")
    side = box[2] - box[0]
    height, width = template.shape[:2]
    x0, y0 = max(0, box[0]), max(0, box[1])
    x1, y1 = min(width, box[2]), min(height, box[3])
    out = template.copy()
    if x1 <= x0 or y1 <= y0:
        return out
    if isinstance(mask, np.ndarray):
        if mask.shape != (side, side):
            raise ValueError(f"mask array must be {side}x{side}, got {mask.shape}")
        alpha = mask
    else:
        alpha = paste_mask(side) if mask == "lower_half" else mouth_mask(side)
    sx, sy = x0 - box[0], y0 - box[1]
    # Only the bounding box of the mask's nonzero part changes (the jaw region is about a
    # third of the box): everything is computed there, in float32.
    window = _nonzero_window(alpha[sy : sy + (y1 - y0), sx : sx + (x1 - x0)])
    if window is None:
        return out
    rows, cols = window
    y0, y1 = y0 + rows.start, y0 + rows.stop
    x0, x1 = x0 + cols.start, x0 + cols.stop
    sx, sy = sx + cols.start, sy + rows.start
    rows, cols = slice(sy, sy + (y1 - y0)), slice(sx, sx + (x1 - x0))
    a = alpha[rows, cols, None]
    region = out[y0:y1, x0:x1].astype(np.float32)
    if base is None:
        face_big = Image.fromarray(face).resize((side, side), Image.Resampling.BICUBIC)
        g = np.asarray(face_big, dtype=np.float32)[rows, cols]
    else:
        base_f = base.astype(np.float32)
        change = face.astype(np.float32) - base_f
        # The largest channel change, as element-wise maxima (numpy's reduction over a last
        # axis of 3 is some 30x slower).
        size_of_change = np.abs(change)
        largest = np.maximum(
            np.maximum(size_of_change[..., 0], size_of_change[..., 1]), size_of_change[..., 2]
        )
        fade = np.exp(-largest[..., None] / DETAIL_SCALE)
        stacked = np.concatenate([base_f, change, fade], axis=-1)
        if sharpen:
            from scipy.ndimage import gaussian_filter

            # The filter needs the whole upsampled change (its edges reflect there).
            every = slice(0, side)
            big = _resize_window(stacked, side, every, every)
            colour = big[..., 3:6]
            sigma = side / face.shape[0]
            colour = colour + sharpen * (colour - gaussian_filter(colour, (sigma, sigma, 0)))
            big = np.concatenate([big[..., :3], colour, big[..., 6:]], axis=-1)[rows, cols]
        else:
            big = _resize_window(stacked, side, rows, cols)
        base_big = big[..., :3]
        g = base_big + big[..., 3:6] + np.clip(big[..., 6:], 0, 1) * (region - base_big)
    # Clipped before the cast: the unsharp gain overshoots past 0 and 255 at strong edges
    # (dark mouth interior), and a bare cast would wrap those to the other end of the range.
    blended = np.rint(np.clip(region + a * (g - region), 0, 255)).astype(np.uint8)
    out[y0:y1, x0:x1] = np.where(a > 0, blended, out[y0:y1, x0:x1])
    return out


def jaw_paste_window(
    source: int, sides: Iterable[int], polygon: tuple[tuple[float, float], ...] | None
) -> tuple[slice, slice] | None:
    """The rows and columns of a ``source``-side face that the jaw paste into boxes of the
    ``sides`` reads: the source pixels under the bicubic kernel of the mask's nonzero part
    (:func:`_resize_matrix`), over all the sides."""
    spans = []
    for side in sides:
        window = _nonzero_window(jaw_mask(side, polygon))
        if window is None:
            continue
        matrix = _resize_matrix(source, side)
        spans.append([np.flatnonzero(matrix[part].any(axis=0)) for part in window])
    if not spans:
        return None
    rows = slice(min(int(r[0]) for r, _ in spans), max(int(r[-1]) for r, _ in spans) + 1)
    cols = slice(min(int(c[0]) for _, c in spans), max(int(c[-1]) for _, c in spans) + 1)
    return rows, cols


def mouth_windows(track: MouthTrack) -> np.ndarray:
    """(N, 4, 5) mouth parameters of the 5 frames centred on each frame (edges repeated)."""
    values = track.values
    half = SYNC_FRAMES // 2
    padded = np.pad(values, ((half, half), (0, 0)), mode="edge")
    index = np.arange(len(values))[:, None] + np.arange(SYNC_FRAMES)[None, :]
    return np.ascontiguousarray(padded[index].transpose(0, 2, 1))


@dataclass(frozen=True)
class TemplateFrame:
    """One frame of the template: the image and the square face box to redraw."""

    image: np.ndarray
    box: Box


#: Times (s) of the rest frames :func:`crop_calibration` measures.
CALIBRATION_TIMES = (0.0, 0.7, 1.9, 3.1, 4.3)


_CALIBRATIONS_KEPT = 8
_calibrations: dict[tuple, tuple[float, float, float]] = {}


def crop_calibration(presenter: ProceduralPresenter) -> tuple[float, float, float]:
    """The face detector's crop on ``presenter`` relative to its exact face box, as (centre
    shift x, y in box sides, side scale): the median over its rest frames at
    :data:`CALIBRATION_TIMES`. Remembered per (style, size, seed), the same every time: about
    0.5 s to measure, once per process instead of once per render (a daily worker renders many
    units)."""
    key = (presenter.style, tuple(presenter.size), presenter.seed)
    found = _calibrations.get(key)
    if found is None:
        found = _measure_crop(presenter)
        if len(_calibrations) >= _CALIBRATIONS_KEPT:
            _calibrations.pop(next(iter(_calibrations)), None)
        _calibrations[key] = found
    return found


def _measure_crop(presenter: ProceduralPresenter) -> tuple[float, float, float]:
    from avatar.ingest import CROP_SCALE, detect_face, face_cascade

    cascade = face_cascade()
    rows = []
    for t in CALIBRATION_TIMES:
        frame = presenter.render(t)
        found = detect_face(cascade, frame.image)
        if found is None:
            continue
        x0, y0, x1, y1 = square_box(frame.face_box)
        side = x1 - x0
        rows.append(
            (
                (found[0] - (x0 + x1) / 2) / side,
                (found[1] - (y0 + y1) / 2) / side,
                found[2] * CROP_SCALE / side,
            )
        )
    if not rows:
        raise AvatarError("the face detector finds no face on this procedural presenter")
    dx, dy, scale = np.median(np.array(rows), axis=0)
    return float(dx), float(dy), float(scale)


class ProceduralTemplate:
    """The procedural presenter with its mouth at rest, head motion livened by speech.

    With ``lbp_boxes`` the crop is framed as in training on footage (the face detector's box,
    :mod:`avatar.ingest`): the median offset and side of the detector's crop relative to the
    exact face box over a few rest frames is measured once, then applied to every frame's exact
    face box, so the crop follows the head without running the detector per frame."""

    def __init__(
        self, style: PresenterStyle, size: tuple[int, int], seed: int = 0, lbp_boxes: bool = False
    ) -> None:
        self.presenter = ProceduralPresenter(style, size, seed)
        self.adjust = (0.0, 0.0, 1.0)  # centre shift (x, y) in face-box sides, side scale
        if lbp_boxes:
            self.adjust = crop_calibration(self.presenter)
        self.polygon = jaw_polygon(self.adjust)

    def box(self, face_box: Box) -> Box:
        x0, y0, x1, y1 = square_box(face_box)
        side = x1 - x0
        dx, dy, scale = self.adjust
        new_side = round(side * scale)
        cx = (x0 + x1) / 2 + dx * side
        cy = (y0 + y1) / 2 + dy * side
        left, top = round(cx - new_side / 2), round(cy - new_side / 2)
        return left, top, left + new_side, top + new_side

    def frames(self, track: MouthTrack, cues: Iterable[Cue] = ()) -> Iterator[TemplateFrame]:
        """Template frames; ``cues`` raise an arm, move the eyes and change the brows (the face
        box follows the features, so the generator's crop stays centred on them). The head
        stays frontal: the generator learnt the mouth on the template at rest only, and on a
        turned face it draws the lips off their place (seen at 512x504), so a twin looks
        toward a card with its eyes and hand, not with a head turn."""
        speaking = speaking_envelope(track)
        rest = MouthShape.rest()
        cues = tuple(cues)
        channels = self.presenter.channels(cues, len(track), track.fps) if cues else None
        if channels is not None:
            still = np.zeros(len(channels))
            channels = dataclasses.replace(channels, yaw=still, pitch=still)
        for i in range(len(track)):
            expression = channels[i] if channels is not None else None
            frame = self.presenter.render(i / track.fps, rest, float(speaking[i]), expression)
            yield TemplateFrame(frame.image, self.box(frame.face_box))


def decode_frame(encoded: torch.Tensor | np.ndarray) -> np.ndarray:
    """One template frame stored in a checkpoint (a uint8 tensor holding the bytes of a JPEG or
    PNG file) as HxWx3 uint8."""
    import io

    data = np.asarray(encoded, dtype=np.uint8).tobytes()
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


class FootageTemplate:
    """The presenter's own footage, looped from the start, with its smoothed face boxes.

    ``images`` restarts the footage's frames (``native`` = (W, H)) at every loop: decoded from
    the checkpoint (:meth:`from_manifest`, self-contained twins) or read from the footage file
    (twins that predate them)."""

    def __init__(
        self,
        images: Callable[[], Iterable[np.ndarray]],
        boxes: np.ndarray,
        native: tuple[int, int],
        size: tuple[int, int],
    ) -> None:
        self.images = images
        self.boxes = np.asarray(boxes, dtype=np.int64).reshape(-1, 4)
        if len(self.boxes) == 0:
            raise AvatarError("the twin's footage template holds no frames")
        self.native = (int(native[0]), int(native[1]))
        self.size = size
        self.polygon = jaw_polygon()

    @classmethod
    def from_manifest(
        cls, template: dict, size: tuple[int, int], source: str, manifest: dict
    ) -> FootageTemplate:
        """The template of a footage twin: its frames and boxes from the checkpoint, or, for a
        checkpoint that predates self-contained twins, from the footage file it names (an
        :class:`AvatarError` with the command that retrains it when that file is gone)."""
        frames = template.get("frames")
        if frames is not None:
            try:
                boxes = np.asarray(template["boxes"], dtype=np.int64).reshape(-1, 4)
                native = tuple(int(v) for v in template["frame_size"])
            except (KeyError, TypeError, ValueError) as exc:
                raise AvatarError(
                    f"{source}: bad footage template in the checkpoint: {exc}"
                ) from None
            order = np.asarray(template.get("order", np.arange(len(frames))), np.int64)
            if len(frames) != len(boxes) or len(native) != 2:
                raise AvatarError(
                    f"{source}: the footage template holds {len(frames)} frames but "
                    f"{len(boxes)} face boxes"
                )
            if order.ndim != 1 or not len(order) or order.min() < 0 or order.max() >= len(frames):
                raise AvatarError(f"{source}: the footage template's play order is out of range")
            return cls(lambda: (decode_frame(frames[k]) for k in order), boxes[order], native, size)
        from avatar.video import read_video, video_info

        path = Path(str(template.get("path", "")))
        if not path.is_file():
            raise AvatarError(
                f"{source} predates self-contained twins: it renders over its footage {path}, "
                f"which is missing; retrain it with: {retrain_command(path, source, manifest)}"
            )
        return cls(lambda: read_video(path), template.get("boxes", []), video_info(path).size, size)

    def frames(self, track: MouthTrack) -> Iterator[TemplateFrame]:
        from avatar.face_track import aspect_window, fit_window

        produced = 0
        # One window of the output's aspect ratio around the face for the whole loop: the
        # footage is cut or padded, never stretched, and the framing does not move.
        middle = tuple(int(v) for v in np.median(self.boxes, axis=0))
        window = aspect_window(self.native, middle, self.size)  # type: ignore[arg-type]
        scale = self.size[0] / (window[2] - window[0])
        while produced < len(track):
            for index, image in enumerate(self.images()):
                if produced >= len(track) or index >= len(self.boxes):
                    break
                box = tuple(int(v) for v in self.boxes[index])
                if window != (0, 0, *self.native) or self.native != self.size:
                    image = fit_window(image, window, self.size)
                    box = square_box(
                        tuple(round((v - window[k % 2]) * scale) for k, v in enumerate(box))  # type: ignore[arg-type]
                    )
                yield TemplateFrame(image, box)  # type: ignore[arg-type]
                produced += 1


def retrain_command(footage: Path, checkpoint: str, manifest: dict) -> str:
    """The ``bulletin avatar train`` command line that trains ``checkpoint`` again on
    ``footage`` with the settings in its manifest (a self-contained twin)."""
    import shlex

    settings = manifest.get("settings") or {}
    words = ["bulletin", "avatar", "train", "--footage", str(footage)]
    if manifest.get("mouth_source") == "timings":
        words += ["--timings", str(footage.with_suffix(".timings.json"))]
    if "size" in settings:
        words += ["--size", str(settings["size"])]
    steps = manifest.get("training_steps", settings.get("steps"))
    if steps is not None:
        words += ["--steps", str(steps)]
    if settings.get("refine_steps"):
        words += ["--refine-steps", str(settings["refine_steps"])]
    words += ["-o", checkpoint or "twin.pt"]
    return shlex.join(words)


class NeuralPresenter:
    """A trained generator plus its template: ``frames(speech, track)`` streams output frames."""

    def __init__(
        self,
        generator: LipGenerator,
        manifest: dict,
        size: tuple[int, int],
        source: str = "",
        refiner: Refiner | None = None,
    ) -> None:
        self.generator = generator.eval()
        # The refinement stage (avatar.refine): the generator's face at twice its side,
        # guided by the template crop at that size, before the paste.
        self.refiner = refiner.eval() if refiner is not None else None
        self.manifest = manifest
        self.source = source
        self.size = size
        template = manifest.get("template") or {}
        kind = template.get("kind")
        if kind == "procedural":
            style_fields = {
                key: tuple(value) if isinstance(value, list) else value
                for key, value in (template.get("style") or {}).items()
            }
            try:
                style = PresenterStyle(**style_fields)
            except TypeError as exc:
                raise AvatarError(f"{source}: bad presenter style in the manifest: {exc}") from None
            self.template = ProceduralTemplate(
                style, size, int(template.get("seed", 0)), template.get("box") == "lbp"
            )
        elif kind == "footage":
            self.template = FootageTemplate.from_manifest(template, size, source, manifest)
        else:
            raise AvatarError(f"{source}: the manifest names no render template (got {kind!r})")
        self.bf16 = bf16_supported()
        # "mouth": the feathered ellipse of :func:`mouth_mask`, plain paste (twins without the
        # entry); "jaw": :func:`jaw_mask` with the detail-preserving paste of :func:`paste_back`.
        self.paste = str(manifest.get("paste", "mouth"))
        if self.paste not in ("mouth", "jaw"):
            raise AvatarError(f"{source}: paste must be mouth or jaw, got {self.paste!r}")

    @classmethod
    def from_checkpoint(
        cls, path: str | Path, size: tuple[int, int], refine: bool = True
    ) -> NeuralPresenter:
        """The twin in ``path``, with its refinement stage when it holds one (and ``refine``)."""
        twin = load_twin(path)
        return cls(twin.generator, twin.manifest, size, str(path), twin.refiner if refine else None)

    @property
    def mouth_source(self) -> str:
        """ "timings" when the twin was trained on phoneme-driven mouth tracks, else "audio"."""
        return str(self.manifest.get("mouth_source", "audio"))

    @torch.no_grad()
    @denormals_flushed()
    def generate(self, faces: np.ndarray, mels: np.ndarray, mouths: np.ndarray) -> np.ndarray:
        """(B, S, S, 3) uint8 face crops -> (B, S, S, 3) uint8 generated faces."""
        x = torch.from_numpy(np.ascontiguousarray(faces)).float().div_(255.0).permute(0, 3, 1, 2)
        mel = torch.from_numpy(np.ascontiguousarray(mels, dtype=np.float32))[:, None]
        mouth = torch.from_numpy(np.ascontiguousarray(mouths, dtype=np.float32))
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            out = self.generator(x, mask_lower_half(x), mel, mouth)
        out = out.float().clamp_(0, 1).mul_(255).round_().to(torch.uint8)
        return out.permute(0, 2, 3, 1).numpy()

    @denormals_flushed()
    def refine(
        self,
        generated: np.ndarray,
        guides: np.ndarray,
        window: tuple[slice, slice] | None = None,
    ) -> np.ndarray:
        """(B, S, S, 3) generated faces and (B, sS, sS, 3) template crops -> (B, sS, sS, 3)
        refined faces (uint8), under bf16 autocast where the CPU has native bf16; ``window``:
        the rows and columns the paste reads (:func:`avatar.refine.refine_faces`)."""
        if self.refiner is None:
            raise AvatarError(f"{self.source or 'this twin'} has no refinement stage")
        return refine_faces(self.refiner, generated, guides, self.bf16, window)

    def frames(
        self, speech: Speech, track: MouthTrack, cues: Iterable[Cue] = ()
    ) -> Iterator[np.ndarray]:
        """Output frames (HxWx3 uint8), one per track entry, generated in batches. ``cues``
        move a procedural template (:meth:`ProceduralTemplate.frames`); footage cannot turn or
        gesture on demand, so a footage twin ignores them (with a warning)."""
        size = self.generator.config.size
        mels = mel_windows(speech.to_16k().samples, fps=track.fps, n_frames=len(track))
        mouths = mouth_windows(track)
        pending: list[TemplateFrame] = []
        start = 0
        cues = tuple(cues)
        if isinstance(self.template, ProceduralTemplate):
            templates = self.template.frames(track, cues)
        else:
            if cues:
                import logging

                logging.getLogger(__name__).warning(
                    "%s renders over its footage, which cannot turn, gesture or change "
                    "expression: %d cues ignored",
                    self.source or "the twin",
                    len(cues),
                )
            templates = self.template.frames(track)
        # The template is drawn (PIL and numpy, which release the GIL) in its own thread, one
        # batch ahead, while the generator runs on the batch before: on a second core.
        with MadeAhead(templates, 2 * BATCH, name="twin-template") as ahead:
            for template in ahead:
                pending.append(template)
                if len(pending) == BATCH:
                    yield from self._flush(pending, mels, mouths, start, size)
                    start += len(pending)
                    pending = []
            if pending:
                yield from self._flush(pending, mels, mouths, start, size)

    def _flush(
        self,
        pending: list[TemplateFrame],
        mels: np.ndarray,
        mouths: np.ndarray,
        start: int,
        size: int,
    ) -> Iterator[np.ndarray]:
        faces = np.stack([crop_square(t.image, t.box, size) for t in pending])
        stop = start + len(pending)
        generated = self.generate(faces, mels[start:stop], mouths[start:stop])
        if self.refiner is not None:
            big = size * self.refiner.config.scale
            faces = np.stack([crop_square(t.image, t.box, big) for t in pending])
            window = None
            if self.paste == "jaw":
                polygon = getattr(self.template, "polygon", None)
                window = jaw_paste_window(big, {t.box[2] - t.box[0] for t in pending}, polygon)
            generated = self.refine(generated, faces, window)
        for template, face, base in zip(pending, generated, faces, strict=True):
            if self.paste == "mouth":
                yield paste_back(template.image, face, template.box, mask="mouth")
                continue
            side = template.box[2] - template.box[0]
            alpha = jaw_mask(side, getattr(self.template, "polygon", None))
            sharpen = 0.0 if self.refiner is not None else SHARPEN
            yield paste_back(
                template.image, face, template.box, mask=alpha, base=base, sharpen=sharpen
            )


def display_measures(presenter: NeuralPresenter, speech: Speech, track: MouthTrack) -> dict:
    """Sharpness and seam of a twin over the procedural presenter at the size it is shown.

    The twin (``presenter``, whose template is procedural) and the procedural presenter of the
    same style and seed render the same speech and mouth track at ``presenter.size``; the head
    moves alike in both, so they differ only where the twin redraws. In each frame's face box
    :func:`avatar.metrics.edge_strength_ratio` and :func:`avatar.metrics.seam_measures` compare
    the twin to the procedural frame over the paste mask (:func:`jaw_mask`)."""
    from avatar.metrics import edge_strength_ratio, seam_measures

    if not isinstance(presenter.template, ProceduralTemplate):
        raise AvatarError(f"{presenter.source}: display measures need a procedural template")
    procedural = presenter.template.presenter
    reference = ProceduralPresenter(procedural.style, presenter.size, procedural.seed)
    twins, truths, alphas = [], [], []
    for twin, truth in zip(presenter.frames(speech, track), reference.frames(track), strict=True):
        box = presenter.template.box(truth.face_box)
        side = box[2] - box[0]
        twins.append(crop_square(twin, box, side))
        truths.append(crop_square(truth.image, box, side))
        alphas.append(jaw_mask(side, presenter.template.polygon))
    shapes = {a.shape for a in alphas}
    if len(shapes) != 1:  # boxes keep their side; crop all to the smallest if not
        side = min(a.shape[0] for a in alphas)
        twins, truths = [t[:side, :side] for t in twins], [t[:side, :side] for t in truths]
        alphas = [a[:side, :side] for a in alphas]
    twin_arr, truth_arr, alpha_arr = np.stack(twins), np.stack(truths), np.stack(alphas)
    return {
        "size": list(presenter.size),
        "frames": len(twins),
        "edge_strength_ratio": edge_strength_ratio(twin_arr, truth_arr, alpha_arr),
        **seam_measures(twin_arr, truth_arr, alpha_arr),
    }
