"""Quality metrics of a twin on held-out footage (lip sync, mouth shape, fidelity, stability).

* **Lip sync**: the evaluator SyncNet (trained separately from the training judge, with
  another seed) scores every 5-frame window against the mel window shifted by k frames; the
  mean embedding distance d(k) gives the offset argmin_k d(k) and the confidence
  median_k d(k) - min_k d(k), the LSE-D/LSE-C definitions of Wav2Lip's
  ``evaluation/scores_LSE`` (there computed with the pretrained syncnet_python, here with our
  own evaluator, so the values are not comparable to published ones). Reported for the
  generated frames and for the real (ground-truth) frames on the same audio.
* **Mouth shape**: a ridge regressor from the mouth region of a face crop to the jaw
  opening, fitted on training frames with their known mouth parameters, measures the jaw of
  generated frames; the MAE is taken against the ground-truth jaw track.
* **Fidelity**: SSIM (Wang et al. 2004, IEEE TIP 13(4):600-612; scikit-image) of the
  pasted result against the real face crop.
* **Paste identity**: the largest pixel change outside the feathered paste mask.
* **Temporal jitter**: mean absolute frame-to-frame change in the mouth region,
  generated over real.
* **Rest in silence**: the measured jaw on frames at least 2 frames away from voice activity.

* **Mouth opening**: the Pearson correlation between the driving jaw-opening track and the mouth
  opening measured on the generated frames from their pixels alone (:func:`mouth_opening`: the
  area of the mouth region that is not skin-coloured), an evaluator that shares nothing with
  the training (no fitted weights, not the generator's inputs). A mouth that never opens, or
  frames copied from one template, measure a constant opening: the correlation is invalid.

Gates (our quality bar for a shipped twin): offset 0 +- 1, confidence >= 0.8x the ground truth's, jaw
MAE <= 0.1, SSIM >= 0.90, outside-mask change 0, jitter ratio <= 1.3, resting jaw <= 0.1,
mouth-opening correlation >= 0.5; with display measures (procedural templates) also the edge
strength, seam and band-colour gates. A gate of the held-out set whose metric is missing from
the metrics fails (reported as missing), so a metrics file cannot pass by leaving one out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from avatar.errors import AvatarError

REGRESSOR_GRID = (24, 32)
"""Mouth-region features: the crop's mouth area box-averaged to 24 x 32 pixels per colour
channel (our choice: on 150 s of procedural footage, held-out jaw MAE of the regressor on the
ground-truth frames 0.048 at 24 x 32 against 0.052 at 12 x 16)."""


def mouth_region(faces: np.ndarray) -> np.ndarray:
    """The mouth area of (N, S, S, 3) face crops: rows 55-95 %, columns 25-75 % (the lower
    face of the square crop; our choice, covers the lips at any viseme)."""
    s = faces.shape[1]
    return faces[:, round(0.55 * s) : round(0.95 * s), round(0.25 * s) : round(0.75 * s)]


def _features(faces: np.ndarray) -> np.ndarray:
    region = mouth_region(faces)
    rows, cols = REGRESSOR_GRID
    small = np.stack(
        [np.asarray(Image.fromarray(r).resize((cols, rows), Image.Resampling.BOX)) for r in region]
    ).astype(np.float64)
    return small.reshape(len(faces), -1) / 255.0


@dataclass
class JawRegressor:
    """Ridge regression (Hoerl & Kennard 1970, Technometrics 12(1):55-67) from mouth-region
    pixels to the jaw opening, on centred features and target so that the intercept is not
    shrunk; ``alpha`` = 1e-4 per sample is our choice."""

    weights: np.ndarray
    feature_mean: np.ndarray
    target_mean: float

    @classmethod
    def fit(cls, faces: np.ndarray, jaw: np.ndarray, alpha: float = 1e-4) -> JawRegressor:
        x = _features(faces)
        if len(x) < 10:
            raise AvatarError(f"the jaw regressor needs at least 10 frames, got {len(x)}")
        y = np.asarray(jaw, np.float64)
        mean, target = x.mean(axis=0), float(y.mean())
        xc = x - mean
        gram = xc.T @ xc + alpha * len(x) * np.eye(x.shape[1])
        return cls(np.linalg.solve(gram, xc.T @ (y - target)), mean, target)

    def predict(self, faces: np.ndarray) -> np.ndarray:
        return np.clip(
            (_features(faces) - self.feature_mean) @ self.weights + self.target_mean, 0.0, 1.0
        )


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM over frames of (N, S, S, 3) uint8 crops (scikit-image, 7x7 Gaussian-free
    window, data range 255)."""
    from skimage.metrics import structural_similarity

    scores = [
        structural_similarity(x, y, channel_axis=-1, data_range=255)
        for x, y in zip(a, b, strict=True)
    ]
    return float(np.mean(scores))


def jitter_ratio(generated: np.ndarray, real: np.ndarray) -> float:
    """Mean |frame_t - frame_t-1| in the mouth region, generated over real (M5b)."""

    def motion(faces: np.ndarray) -> float:
        region = mouth_region(faces).astype(np.float32)
        return float(np.abs(np.diff(region, axis=0)).mean())

    return motion(generated) / max(motion(real), 1e-6)


def silent_frames(voiced: np.ndarray, margin: int = 2) -> np.ndarray:
    """Frames at least ``margin`` frames away from any voiced frame."""
    voiced = np.asarray(voiced, bool)
    near = voiced.copy()
    for shift in range(1, margin + 1):
        near[shift:] |= voiced[:-shift]
        near[:-shift] |= voiced[shift:]
    return ~near


def sync_offset_confidence(evaluator, clip, max_offset: int = 6) -> tuple[int, float, float]:
    """(offset in frames, confidence LSE-C, distance LSE-D) of a clip under the evaluator."""
    from avatar.models import sync_scores

    distances = sync_scores(evaluator, clip, max_offset)
    best = int(np.argmin(distances))
    return (
        best - max_offset,
        float(np.median(distances) - distances[best]),
        float(distances[best]),
    )


EDGE_QUANTILE = 0.9
"""Edge pixels of a frame: where the reference's gradient magnitude inside the region is at or
above this quantile (our choice: the drawing's lines, lip lines, chin and jaw contour, are the
top tenth of the lower face's gradients)."""
EDGE_STRENGTH_MIN = 0.8
"""Gate: the twin keeps at least this fraction of the reference's gradient strength at the
reference's edges in the redrawn region at the size shown (our choice)."""
SEAM_RATIO_MAX = 1.25
"""Gate: gradient magnitude in the feathered band at most this multiple of the reference's
there; a visible paste edge adds gradient along the band (our choice)."""
BAND_COLOUR_MAX = 2.0
"""Gate: mean colour difference in the feathered band, levels of 255 (our choice: about the
just-noticeable difference of a flat patch, Sharma 2003, "Digital Color Imaging Handbook")."""


def _gradient_magnitude(frames: np.ndarray) -> np.ndarray:
    """|grad| of the luma (ITU-R BT.601 weights) of (N, H, W, 3) frames, central differences."""
    luma = frames.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    gy, gx = np.gradient(luma, axis=(1, 2))
    return np.hypot(gx, gy)


def edge_strength_ratio(generated: np.ndarray, reference: np.ndarray, alpha: np.ndarray) -> float:
    """Gradient magnitude of ``generated`` over that of ``reference`` summed over the
    reference's edge pixels (:data:`EDGE_QUANTILE`) where the paste mask ``alpha`` (N, H, W
    or H, W) is at least 0.5: 1 keeps the drawing's lines as sharp, a blurred twin is below."""
    g, r = _gradient_magnitude(generated), _gradient_magnitude(reference)
    region = np.broadcast_to(np.asarray(alpha) >= 0.5, r.shape)
    kept = total = 0.0
    for gf, rf, mf in zip(g, r, region, strict=True):
        if not mf.any():
            continue
        edges = mf & (rf >= np.quantile(rf[mf], EDGE_QUANTILE))
        kept += float(gf[edges].sum())
        total += float(rf[edges].sum())
    return kept / total if total > 0 else 0.0


def seam_measures(generated: np.ndarray, reference: np.ndarray, alpha: np.ndarray) -> dict:
    """The paste boundary in the feathered band (0.05 < ``alpha`` < 0.95): ``seam_ratio``, the
    mean gradient magnitude of ``generated`` there over the reference's (a visible edge raises
    it above 1), and ``band_colour_diff``, the largest per-channel difference of the mean colour
    there (levels)."""
    a = np.broadcast_to(np.asarray(alpha), generated.shape[:3])
    band = (a > 0.05) & (a < 0.95)
    if not band.any():
        return {"seam_ratio": 1.0, "band_colour_diff": 0.0}
    g, r = _gradient_magnitude(generated), _gradient_magnitude(reference)
    colour = np.abs(
        generated[band].astype(np.float64).mean(axis=0)
        - reference[band].astype(np.float64).mean(axis=0)
    )
    return {
        "seam_ratio": float(g[band].mean() / max(float(r[band].mean()), 1e-6)),
        "band_colour_diff": float(colour.max()),
    }


MOUTH_REGION = ((0.45, 0.85), (0.30, 0.66))
"""Rows and columns (fractions of the square face crop) searched for the mouth opening: the
lips at any viseme in the exact and in the detector's crop of both procedural styles (our
choice; the render paste region of :data:`avatar.neural.MOUTH_ELLIPSE` spans y 0.54-0.83)."""
SKIN_REGION = ((0.42, 0.50), (0.30, 0.70))
"""Rows and columns of the skin reference, the cheeks and nose between the eyes and the mouth;
its median colour is the frame's skin colour (our choice)."""
NON_SKIN_DISTANCE = 45.0
"""A mouth-region pixel is "not skin" (lips, dark interior, teeth, tongue) when its RGB distance
from the skin colour exceeds this, in levels of 255 (our choice: of 30, 45 and 60 it gave the
highest correlation with the jaw track on both styles' crops at 64^2 and 96^2 together, 0.67-0.85
on espeak-ng speech)."""
MOUTH_OPENING_MIN = 0.5
"""Gate: the Pearson correlation of the measured mouth opening with the driving jaw track is at
least this (our choice: the procedural presenter, the twins' ground truth, measures 0.67-0.85 on
espeak-ng speech; a mouth that does not follow the track measures about 0)."""
MIN_OPENING_SPREAD_PIXELS = 0.5
"""Below this standard deviation of the measured opening, in pixels of the mouth region, the
frames hold no mouth motion to correlate: the correlation is invalid (None) and its gate fails."""
MIN_JAW_SPREAD = 0.01
"""Below this standard deviation of the driving jaw track there is no speech to correlate with:
the correlation is invalid (None)."""


def _fraction_slice(span: tuple[float, float], side: int) -> slice:
    return slice(round(span[0] * side), round(span[1] * side))


def mouth_opening(faces: np.ndarray) -> np.ndarray:
    """The mouth opening of each (N, S, S, 3) uint8 square face crop, from its pixels alone: the
    fraction of :data:`MOUTH_REGION` whose colour is farther than :data:`NON_SKIN_DISTANCE`
    from the median colour of :data:`SKIN_REGION`. Parted lips show the dark interior, teeth and
    tongue, and the lips stretch: the area grows with the jaw; a closed mouth leaves the lips."""
    faces = np.asarray(faces)
    if faces.ndim != 4 or faces.shape[1] != faces.shape[2] or faces.shape[3] != 3:
        raise AvatarError(f"mouth opening needs (N, S, S, 3) face crops, got {faces.shape}")
    side = faces.shape[1]
    rows, cols = (_fraction_slice(span, side) for span in MOUTH_REGION)
    skin_rows, skin_cols = (_fraction_slice(span, side) for span in SKIN_REGION)
    region = faces[:, rows, cols].astype(np.float32)
    skin = np.median(faces[:, skin_rows, skin_cols].reshape(len(faces), -1, 3), axis=1)
    distance = np.linalg.norm(region - skin[:, None, None, :].astype(np.float32), axis=-1)
    return (distance > NON_SKIN_DISTANCE).mean(axis=(1, 2))


def mouth_opening_correlation(faces: np.ndarray, jaw: np.ndarray) -> float | None:
    """Pearson correlation of :func:`mouth_opening` of the crops ``faces`` with the driving jaw
    track ``jaw`` (N,), or None (invalid) when either holds no motion: the opening's standard
    deviation is under :data:`MIN_OPENING_SPREAD_PIXELS` pixels, or the jaw's under
    :data:`MIN_JAW_SPREAD`."""
    opening = mouth_opening(faces)
    jaw = np.asarray(jaw, np.float64).reshape(-1)
    if len(jaw) != len(opening):
        raise AvatarError(f"{len(opening)} frames but a jaw track of {len(jaw)}")
    side = np.asarray(faces).shape[1]
    rows, cols = (_fraction_slice(span, side) for span in MOUTH_REGION)
    pixels = len(range(side)[rows]) * len(range(side)[cols])
    if opening.std() * pixels < MIN_OPENING_SPREAD_PIXELS or jaw.std() < MIN_JAW_SPREAD:
        return None
    return float(np.corrcoef(opening, jaw)[0, 1])


MIN_GROUND_TRUTH_CONFIDENCE = 0.01
"""Below this LSE-C of the ground truth the evaluator cannot tell sync from noise, so the
confidence ratio is reported as invalid (None) and its gate fails (our choice: a ratio of two
confidences near 0.002 measured only noise)."""

GATES: tuple[tuple[str, str, str, float], ...] = (
    ("sync_offset_within_1", "sync_offset", "abs<=", 1),
    ("sync_confidence_ratio_ge_0.8", "sync_confidence_ratio", ">=", 0.8),
    ("jaw_mae_le_0.1", "jaw_mae", "<=", 0.1),
    ("ssim_ge_0.90", "ssim", ">=", 0.90),
    ("outside_mask_identical", "outside_mask_max_diff", "==", 0),
    ("jitter_ratio_le_1.3", "jitter_ratio", "<=", 1.3),
    ("rest_jaw_in_silence_le_0.1", "rest_jaw_in_silence", "<=", 0.1),
    ("mouth_opening_correlation_ge_0.5", "mouth_opening_correlation", ">=", MOUTH_OPENING_MIN),
    ("display_edge_strength_ge_0.8", "display.edge_strength_ratio", ">=", EDGE_STRENGTH_MIN),
    ("display_seam_ratio_le_1.25", "display.seam_ratio", "<=", SEAM_RATIO_MAX),
    ("display_band_colour_le_2", "display.band_colour_diff", "<=", BAND_COLOUR_MAX),
)
"""(gate name, metric key, comparison, threshold) of the module docstring's quality bar; a
``display.`` key is an entry of ``metrics["display"]``, gated only when that is present."""

DISPLAY_PREFIX = "display."


def _passes(value, comparison: str, threshold: float) -> bool:
    if value is None:  # an invalid metric never passes
        return False
    if comparison == "abs<=":
        return abs(value) <= threshold
    if comparison == ">=":
        return value >= threshold
    if comparison == "<=":
        return value <= threshold
    return value == threshold


def gate_report(metrics: dict) -> list[dict]:
    """Every gate that applies to ``metrics``: name, metric, value, comparison, threshold,
    passed, missing. The held-out gates always apply: a metric absent from ``metrics`` is
    reported as missing and fails; the display gates apply when ``metrics["display"]`` is
    there (twins over the procedural presenter)."""
    rows = []
    display = metrics.get("display")
    for name, key, comparison, threshold in GATES:
        source, entry = metrics, key
        if key.startswith(DISPLAY_PREFIX):
            if not isinstance(display, dict):
                continue
            source, entry = display, key.removeprefix(DISPLAY_PREFIX)
        missing = entry not in source
        value = None if missing else source[entry]
        rows.append(
            {
                "name": name,
                "metric": key,
                "value": value,
                "comparison": comparison,
                "threshold": threshold,
                "passed": _passes(value, comparison, threshold),
                "missing": missing,
            }
        )
    return rows


def format_gate(row: dict) -> str:
    """One line: ``name: value (comparison threshold) pass|FAIL``; invalid or missing values say
    so."""
    value = row["value"]
    if row.get("missing"):
        shown = "missing"
    else:
        shown = "invalid" if value is None else f"{value:.4g}"
    verdict = "pass" if row["passed"] else "FAIL"
    return f"{row['name']}: {shown} ({row['comparison']} {row['threshold']:g}) {verdict}"


def gates(metrics: dict) -> dict[str, bool]:
    """The quality gates of the module docstring applied to a metrics dictionary."""
    return {row["name"]: row["passed"] for row in gate_report(metrics)}


def evaluate_twin(
    generated: np.ndarray,
    clip,
    evaluator,
    regressor: JawRegressor,
    voiced: np.ndarray,
) -> dict:
    """All metrics for generated-and-pasted face crops ``generated`` (N, S, S, 3) against the
    held-out ``clip`` (a :class:`avatar.models.FaceClip` of the real crops, mels and mouth
    track), with the evaluator SyncNet, the fitted jaw regressor and the voice activity."""
    from avatar.geometry import paste_mask
    from avatar.models import FaceClip

    if generated.shape != clip.faces.shape:
        raise AvatarError(f"generated {generated.shape} and real {clip.faces.shape} differ")
    fake_clip = FaceClip(generated, clip.mels, clip.mouth)
    offset, confidence, distance = sync_offset_confidence(evaluator, fake_clip)
    real_offset, real_confidence, real_distance = sync_offset_confidence(evaluator, clip)
    jaw_true = clip.mouth[:, 0]
    jaw_fake = regressor.predict(generated)
    jaw_real = regressor.predict(clip.faces)
    outside = paste_mask(clip.size) == 0
    diff = np.abs(generated.astype(np.int16) - clip.faces.astype(np.int16)).max(axis=-1)
    silent = silent_frames(voiced)
    result = {
        "frames": len(clip),
        "sync_offset": offset,
        "sync_confidence": confidence,
        "sync_distance": distance,
        "sync_offset_ground_truth": real_offset,
        "sync_confidence_ground_truth": real_confidence,
        "sync_distance_ground_truth": real_distance,
        "sync_confidence_ratio": (
            confidence / real_confidence if real_confidence >= MIN_GROUND_TRUTH_CONFIDENCE else None
        ),
        "jaw_mae": float(np.abs(jaw_fake - jaw_true).mean()),
        "jaw_mae_regressor_on_ground_truth": float(np.abs(jaw_real - jaw_true).mean()),
        "ssim": ssim(generated, clip.faces),
        "outside_mask_max_diff": int(diff[:, outside].max()),
        "jitter_ratio": jitter_ratio(generated, clip.faces),
        "silent_frames": int(silent.sum()),
        "rest_jaw_in_silence": float(jaw_fake[silent].mean()) if silent.any() else 0.0,
        "mouth_opening_correlation": mouth_opening_correlation(generated, jaw_true),
        "mouth_opening_correlation_ground_truth": mouth_opening_correlation(clip.faces, jaw_true),
    }
    result["gates"] = gates(result)
    return result
