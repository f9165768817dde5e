"""Speech expert, part 2: phoneme timings (or audio alone) to a per-frame mouth track.

With timings, every espeak-ng phoneme mnemonic becomes one or two visemes (diphthongs glide
between two), each viseme a :class:`~avatar.mouth.MouthShape` target, and the targets are
blended over time with Cohen & Massaro's dominance functions (Cohen & Massaro 1993, "Modeling
coarticulation in synthetic visual speech", in Thalmann & Thalmann (eds.), *Models and
Techniques in Computer Animation*, Springer, pp. 139-156): each segment s pulls each mouth
parameter p towards its target T_sp with dominance D_sp(t) = a_sp exp(-theta_sp |tau|), and the
parameter is sum_s D_sp T_sp / sum_s D_sp. Low-dominance segments (tongue consonants such as
/t k/) take their lip shape from their neighbours, which is what coarticulation looks like;
rounding has a slow anticipatory decay, so /u/ rounds the lips through a preceding consonant.

Without timings, :func:`mouth_track_from_audio` derives the mouth from loudness and coarse
spectral shape, gated by voice activity, so that audio alone is enough.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avatar.audio import (
    FMAX,
    FMIN,
    MEL_FPS,
    N_MELS,
    SAMPLE_RATE,
    Speech,
    as_speech,
    hz_to_mel,
    log_mel,
    mel_to_hz,
    n_video_frames,
    voice_activity,
)
from avatar.errors import AvatarError
from avatar.mouth import MOUTH_PARAMETERS, MouthShape, MouthTrack

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------- viseme table

VISEME_TARGETS: dict[str, MouthShape] = {
    # Targets are our choice, set by looking at the procedural presenter; the classes follow
    # the usual consonant groups by place of articulation and vowel groups by openness,
    # spreading and rounding (cf. the 13-14 class sets of MPEG-4 FBA, ISO/IEC 14496-2 Annex C,
    # and the Preston Blair mouth chart used in animation).
    "sil": MouthShape(0.0, 0.40, 0.00, 0.00),  # rest, lips together
    "PBM": MouthShape(0.0, 0.40, 0.05, 0.00),  # bilabial closure  /p b m/
    "FV": MouthShape(0.10, 0.45, 0.00, 0.95),  # lower lip under the upper teeth  /f v/
    "TH": MouthShape(0.20, 0.50, 0.00, 0.85),  # tongue between the teeth  /θ ð/
    "ALV": MouthShape(0.20, 0.50, 0.05, 0.60),  # /t d n l s z/
    "POST": MouthShape(0.18, 0.25, 0.60, 0.60),  # /ʃ ʒ tʃ dʒ/, Mandarin zh ch sh r j q x
    "VEL": MouthShape(0.30, 0.45, 0.05, 0.30),  # /k g ŋ h x/
    "R": MouthShape(0.25, 0.30, 0.55, 0.30),  # /r ɝ/
    "W": MouthShape(0.18, 0.12, 0.95, 0.00),  # /w u ʊ y/, tight rounding
    "OW": MouthShape(0.50, 0.20, 0.70, 0.10),  # /o ɔ ɒ/, open rounding
    "AA": MouthShape(0.90, 0.55, 0.00, 0.35),  # /a ɑ/
    "AH": MouthShape(0.50, 0.50, 0.05, 0.30),  # /ə ʌ ɤ/
    "EH": MouthShape(0.60, 0.72, 0.00, 0.55),  # /e ɛ æ/
    "IY": MouthShape(0.30, 0.92, 0.00, 0.70),  # /i ɪ j/
}
VISEMES: tuple[str, ...] = tuple(VISEME_TARGETS)


@dataclass(frozen=True)
class Dominance:
    """Dominance of one viseme class per mouth parameter (order of MOUTH_PARAMETERS):
    magnitude ``alpha``, anticipatory rate ``theta_before`` and carry-over rate
    ``theta_after``, both per second."""

    alpha: tuple[float, float, float, float]
    theta_before: tuple[float, float, float, float]
    theta_after: tuple[float, float, float, float]


def _dom(alpha=(1, 1, 1, 1), before=(25, 25, 25, 25), after=(25, 25, 25, 25)) -> Dominance:
    return Dominance(tuple(map(float, alpha)), tuple(map(float, before)), tuple(map(float, after)))


# Parameters in (jaw, spread, round, teeth) order. Magnitudes and rates are our choice in the
# spirit of Cohen & Massaro 1993: visible consonants (bilabials, labiodentals) dominate the jaw
# and teeth but only at short range (rate 80/s: a bilabial must close without flattening the
# vowels around it), tongue consonants barely dominate anything, rounding anticipates early
# (rate 15/s: still 22 % at 100 ms; anticipatory lip protrusion starts 100-300 ms before a
# rounded vowel, Benguerel & Cowan 1974, Phonetica 30:41-55). 25/s halves the pull every 28 ms.
DOMINANCE: dict[str, Dominance] = {
    "sil": _dom((1, 1, 1, 1), (40, 40, 40, 40), (40, 40, 40, 40)),
    "PBM": _dom((20, 0.5, 0.3, 3), (80, 25, 25, 80), (80, 25, 25, 80)),
    "FV": _dom((4, 0.6, 0.3, 6), (35, 25, 25, 35), (35, 25, 25, 35)),
    "TH": _dom((2, 0.6, 0.4, 3), (35, 25, 25, 35), (35, 25, 25, 35)),
    "ALV": _dom((0.4, 0.3, 0.2, 0.8), (35, 35, 35, 35), (35, 35, 35, 35)),
    "POST": _dom((0.6, 1, 2, 1), (35, 25, 15, 35), (35, 25, 25, 35)),
    "VEL": _dom((0.4, 0.3, 0.2, 0.5), (35, 35, 35, 35), (35, 35, 35, 35)),
    "R": _dom((0.6, 1, 1.5, 0.6), (30, 25, 15, 30), (30, 25, 25, 30)),
    "W": _dom((1, 2, 3, 1), (25, 15, 15, 25), (25, 25, 20, 25)),
    "OW": _dom((1, 1.5, 2, 1), (25, 15, 15, 25), (25, 25, 20, 25)),
    "AA": _dom(),
    "AH": _dom((0.8, 0.8, 0.8, 0.8)),
    "EH": _dom(),
    "IY": _dom((1, 1.5, 1, 1)),
}

# espeak-ng consonant mnemonics (en and cmn-latn-pinyin phoneme tables) by leading letters;
# longer keys are tried first. Trailing modifiers (h = aspirated, ; = palatalised,
# . = retroflex, # - 2 : = variants) do not change the viseme.
_CONSONANTS: dict[str, str] = {
    "tS": "POST", "dZ": "POST", "ts.": "POST", "s.": "POST", "z.": "POST", "tS;": "POST",
    "S;": "POST", "S": "POST", "Z": "POST", "ts": "ALV", "dz": "ALV",
    "p": "PBM", "b": "PBM", "m": "PBM",
    "f": "FV", "v": "FV",
    "T": "TH", "D": "TH",
    "t": "ALV", "d": "ALV", "n": "ALV", "l": "ALV", "s": "ALV", "z": "ALV", "L": "ALV",
    "k": "VEL", "g": "VEL", "N": "VEL", "h": "VEL", "x": "VEL", "X": "VEL", "?": "VEL",
    "c": "VEL", "J": "VEL", "C": "VEL", "G": "VEL", "q": "VEL",
    "r": "R", "R": "R",
    "w": "W", "W": "W",
    "j": "IY", ";": "IY",
}  # fmt: skip
_CONSONANT_KEYS = sorted(_CONSONANTS, key=len, reverse=True)
_CONSONANT_MODIFIERS = set("h;.#-:2'")
# Vowel letters of espeak-ng mnemonics. 'hw' and syllabic '@L', '@r' are handled by splitting.
_VOWELS: dict[str, str] = {
    "a": "AA", "A": "AA", "V": "AH", "@": "AH", "3": "R", "e": "EH", "E": "EH", "&": "EH",
    "i": "IY", "I": "IY", "0": "OW", "O": "OW", "o": "OW", "u": "W", "U": "W", "y": "W",
    "Y": "W",
}  # fmt: skip
_VOWEL_MODIFIERS = set(":#2-.[;'5")
_NASAL_CODAS = {"N": "VEL", "n": "ALV"}
_STRESS = "'\",%=ˈˌ"
_unknown_logged: set[str] = set()


def phoneme_visemes(symbol: str) -> tuple[str, ...]:
    """The viseme sequence of one espeak-ng phoneme mnemonic, e.g. ``"p"`` -> ``("PBM",)``,
    ``"aI"`` -> ``("AA", "IY")``, ``"_"`` -> ``("sil",)``.

    Pauses (``_``, ``_:``, ``_|``, ``||``, empty) are silence. ``o-`` (Mandarin /ɤ/, unrounded)
    is AH. Unknown symbols map to the neutral AH and are logged once."""
    s = symbol.strip().lstrip(_STRESS)
    if not s or s.startswith("_") or set(s) <= set("|"):
        return ("sil",)
    if s.startswith("o-"):
        return ("AH",)
    for key in _CONSONANT_KEYS:
        if s.startswith(key):
            rest = s[len(key) :]
            if set(rest) <= _CONSONANT_MODIFIERS:
                return (_CONSONANTS[key],)
            if key == "h" and rest.startswith("w"):
                return ("W",)
            break
    visemes: list[str] = []
    # Mandarin finals with a nasal coda come as one mnemonic (cmn: "ong"); the coda closes
    # the syllable with the tongue, velar for -ng, alveolar for -n.
    for ch in s.replace("ng", "N"):
        if ch in _VOWELS:
            viseme = _VOWELS[ch]
        elif ch in ("L", "l"):
            viseme = "ALV"
        elif ch in ("r", "R"):
            viseme = "R"
        elif ch in _NASAL_CODAS and visemes:
            viseme = _NASAL_CODAS[ch]
        elif ch in _VOWEL_MODIFIERS:
            continue
        else:
            visemes = []
            break
        if not visemes or visemes[-1] != viseme:
            visemes.append(viseme)
    if visemes:
        return tuple(visemes)
    if s not in _unknown_logged:
        _unknown_logged.add(s)
        log.warning("unknown phoneme %r: shown as a neutral open mouth", symbol)
    return ("AH",)


# ---------------------------------------------------------------------------- timings


@dataclass(frozen=True)
class Phone:
    """One phoneme: espeak-ng mnemonic and its time span in seconds."""

    symbol: str
    start: float
    end: float


@dataclass(frozen=True)
class Timings:
    """Phoneme timings of one utterance (the ``timings.json`` of the speech stage)."""

    phones: tuple[Phone, ...]
    duration: float
    lang: str = ""
    engine: str = ""


def load_timings(source: str | Path | Mapping) -> Timings:
    """Read and check a ``timings.json`` (version 1) from a path or an already parsed dict.

    Phonemes must have a string ``phoneme`` and numeric ``start`` <= ``end`` (seconds, >= 0),
    in order of start time; small overlaps are trimmed. ``duration`` defaults to the last end."""
    name = "timings"
    if not isinstance(source, Mapping):
        path = Path(source)
        name = str(path)
        try:
            source = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise AvatarError(f"timings file not found: {path}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise AvatarError(f"cannot read timings file {path}: {exc}") from None
        if not isinstance(source, Mapping):
            raise AvatarError(f"{name}: top level must be a JSON object")
    version = source.get("version", 1)
    if version != 1:
        raise AvatarError(f"{name}: unsupported timings version {version!r} (expected 1)")
    raw = source.get("phonemes")
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise AvatarError(f"{name}: 'phonemes' must be a list")
    phones: list[Phone] = []
    for index, item in enumerate(raw):
        where = f"{name}: phonemes[{index}]"
        if not isinstance(item, Mapping):
            raise AvatarError(f"{where} must be an object, got {item!r}")
        symbol, start, end = item.get("phoneme"), item.get("start"), item.get("end")
        if not isinstance(symbol, str):
            raise AvatarError(f"{where}: 'phoneme' must be a string, got {symbol!r}")
        for key, value in (("start", start), ("end", end)):
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
            ):
                raise AvatarError(f"{where}: '{key}' must be a number of seconds, got {value!r}")
        if start < 0 or end < start:
            raise AvatarError(f"{where}: needs 0 <= start <= end, got start={start}, end={end}")
        if phones and start < phones[-1].start:
            raise AvatarError(
                f"{where} starts at {start} s, before the previous phoneme ({phones[-1].start} s)"
            )
        if phones and start < phones[-1].end:
            phones[-1] = Phone(phones[-1].symbol, phones[-1].start, float(start))
        phones.append(Phone(symbol, float(start), float(end)))
    duration = source.get("duration", phones[-1].end if phones else 0.0)
    if isinstance(duration, bool) or not isinstance(duration, int | float) or not duration >= 0:
        raise AvatarError(f"{name}: 'duration' must be a number of seconds >= 0, got {duration!r}")
    return Timings(
        tuple(phones),
        float(max(duration, phones[-1].end if phones else 0.0)),
        str(source.get("lang", "")),
        str(source.get("engine", "")),
    )


@dataclass(frozen=True)
class _Segment:
    viseme: str
    start: float
    end: float


def viseme_segments(timings: Timings) -> list[_Segment]:
    """Viseme segments covering 0..duration: diphthongs split 50/50, gaps become silence."""
    segments: list[_Segment] = []
    cursor = 0.0
    for phone in timings.phones:
        if phone.start > cursor + 1e-3:
            segments.append(_Segment("sil", cursor, phone.start))
        visemes = phoneme_visemes(phone.symbol)
        span = (phone.end - phone.start) / len(visemes)
        for k, viseme in enumerate(visemes):
            segments.append(_Segment(viseme, phone.start + k * span, phone.start + (k + 1) * span))
        cursor = max(cursor, phone.end)
    if timings.duration > cursor + 1e-3:
        segments.append(_Segment("sil", cursor, timings.duration))
    return segments


def _silence_weight(duration: float) -> float:
    """Pauses dominate in proportion to their length up to 0.15 s: a syllable boundary
    (``_|``, ~10 ms) hardly closes the mouth, a phrase pause closes it fully (our choice)."""
    return min(1.0, max(duration, 0.0) / 0.15)


def viseme_track(
    timings: Timings | Mapping | str | Path, fps: float = 25.0, n_frames: int | None = None
) -> MouthTrack:
    """Coarticulated mouth track from phoneme timings, one row per video frame.

    Each frame is evaluated at the middle of its display interval, ``(i + 0.5) / fps``. The
    distance ``tau`` of a frame to a segment is measured to the segment's interval (0 inside
    it), so long segments reach and hold their target; this and the numbers in
    :data:`DOMINANCE` are our choices on top of Cohen & Massaro 1993. Bilabial closures shorter
    than a frame could fall between two frame times and never show; as in JALI (Edwards et al.
    2016, "JALI: an animator-centric viseme model for expressive lip synchronization", ACM TOG
    35(4)), closure is enforced: the frame on screen at the middle of each /p b m/ takes at
    most the jaw opening the model has at that middle.
    """
    if not isinstance(timings, Timings):
        timings = load_timings(timings)
    if n_frames is None:
        n_frames = n_video_frames(timings.duration, fps)
    times = (np.arange(n_frames) + 0.5) / fps
    segments = viseme_segments(timings)
    values = _blend(segments, times)
    closures = np.array([0.5 * (s.start + s.end) for s in segments if s.viseme == "PBM"])
    if closures.size and n_frames:
        jaw = MOUTH_PARAMETERS.index("jaw")
        nearest = np.clip((closures * fps).astype(np.int64), 0, n_frames - 1)
        np.minimum.at(values[:, jaw], nearest, _blend(segments, closures)[:, jaw])
    return MouthTrack(values.astype(np.float32), fps)


def _blend(segments: Sequence[_Segment], times: np.ndarray) -> np.ndarray:
    """Dominance-weighted mix of all segment targets at the (sorted) ``times``: (len, 4)."""
    rest = VISEME_TARGETS["sil"].as_array().astype(np.float64)
    numerator = np.tile(1e-9 * rest, (len(times), 1))  # nothing near: rest
    denominator = np.full((len(times), 4), 1e-9)
    for seg in segments:
        _accumulate(seg, times, numerator, denominator)
    return numerator / denominator


def _accumulate(
    seg: _Segment, times: np.ndarray, numerator: np.ndarray, denominator: np.ndarray
) -> None:
    """Add one segment's dominance-weighted target to the running sums (in place)."""
    dom = DOMINANCE[seg.viseme]
    alpha = np.array(dom.alpha)
    if seg.viseme == "sil":
        alpha = alpha * _silence_weight(seg.end - seg.start)
    theta_b = np.array(dom.theta_before)
    theta_a = np.array(dom.theta_after)
    # Only frames within reach matter: beyond 0.5 s every dominance is below exp(-6).
    lo = int(np.searchsorted(times, seg.start - 0.5))
    hi = int(np.searchsorted(times, seg.end + 0.5))
    if hi <= lo:
        return
    t = times[lo:hi, None]
    before = np.maximum(seg.start - t, 0.0)  # > 0 while the segment is still to come
    after = np.maximum(t - seg.end, 0.0)
    weight = alpha * np.exp(-theta_b * before - theta_a * after)
    numerator[lo:hi] += weight * VISEME_TARGETS[seg.viseme].as_array()
    denominator[lo:hi] += weight


def viseme_labels(
    timings: Timings | Mapping | str | Path, fps: float = 25.0, n_frames: int | None = None
) -> list[str]:
    """The viseme being articulated at the middle of each frame (no coarticulation): the
    classification target for viseme accuracy metrics."""
    if not isinstance(timings, Timings):
        timings = load_timings(timings)
    if n_frames is None:
        n_frames = n_video_frames(timings.duration, fps)
    segments = viseme_segments(timings)
    starts = np.array([s.start for s in segments])
    labels = []
    for i in range(n_frames):
        t = (i + 0.5) / fps
        k = int(np.searchsorted(starts, t, side="right")) - 1
        labels.append(
            segments[k].viseme if 0 <= k < len(segments) and t < segments[k].end else "sil"
        )
    return labels


# ---------------------------------------------------------------------------- audio only


def mouth_track_from_audio(
    audio: Speech | str | Path, fps: float = 25.0, n_frames: int | None = None
) -> MouthTrack:
    """A mouth track from speech audio alone (no phoneme timings).

    Heuristics, our choice, resting on two well-documented regularities: mouth opening follows
    the acoustic amplitude envelope (Chandrasekaran et al. 2009, "The natural statistics of
    audiovisual speech", PLoS Comput Biol 5(7):e1000436), and lip rounding lowers the upper
    formants while spreading raises them (Stevens 1998, *Acoustic Phonetics*, ch. 6), so a low
    spectral centroid within 300-3500 Hz suggests rounding and a high one spreading. Frames with
    strong energy above 4 kHz and little below 1 kHz are fricatives: small opening, teeth
    showing. Outside voice activity the mouth rests; the result is smoothed over ~3 frames so
    that it does not flutter.
    """
    speech = as_speech(audio).to_16k()
    samples = speech.samples
    if n_frames is None:
        n_frames = n_video_frames(speech.duration, fps)
    activity = voice_activity(samples, SAMPLE_RATE, fps, n_frames)
    if n_frames == 0:
        return MouthTrack(np.zeros((0, 4), np.float32), fps)
    mel = log_mel(samples)
    # Undo the [-4, 4] scaling of log_mel: back to dB, then to linear mel magnitude.
    power = np.power(10.0, ((mel + 4.0) * 12.5 - 100.0 + 20.0) / 20.0)
    freqs = _mel_centres()
    per_frame = _mel_to_video_frames(power, fps, n_frames)
    low = per_frame[:, freqs < 1000].sum(axis=1)
    high = per_frame[:, freqs > 4000].sum(axis=1)
    band = (freqs > 300) & (freqs < 3500)
    centroid = (per_frame[:, band] * freqs[band]).sum(axis=1) / np.maximum(
        per_frame[:, band].sum(axis=1), 1e-9
    )
    voiced = activity.voiced
    fricative = np.clip(
        (np.log10(np.maximum(high, 1e-9) / np.maximum(low, 1e-9)) + 0.3) / 0.8, 0, 1
    )
    if voiced.any():
        # A frame without energy in the band has no centroid: it takes the band's lower edge.
        log_c = np.log(np.maximum(centroid, 300.0))
        mu, sigma = log_c[voiced].mean(), max(log_c[voiced].std(), 1e-3)
        z = (log_c - mu) / sigma
    else:
        z = np.zeros(n_frames)
    envelope = activity.envelope.astype(np.float64)
    # Scales set so that, over the voiced frames of espeak-ng speech (en-us and Mandarin), each
    # parameter has about the mean of the phoneme-driven track (our calibration).
    jaw = 0.6 * envelope**1.4 * (1 - 0.65 * fricative)
    spread = 0.45 + 0.3 * np.tanh(0.8 * z)
    rnd = np.clip(0.35 - 0.35 * z, 0, 0.9) * (1 - fricative)
    teeth = np.clip(0.1 + 0.35 * envelope + 0.5 * fricative, 0, 1) * (jaw > 0.05)
    values = np.stack([jaw, spread, rnd, teeth], axis=1)
    rest = VISEME_TARGETS["sil"].as_array()
    values = np.where(voiced[:, None], values, rest[None, :])
    kernel = np.array([0.25, 0.5, 0.25])
    smoothed = np.stack(
        [np.convolve(np.pad(values[:, k], 1, mode="edge"), kernel, mode="valid") for k in range(4)],
        axis=1,
    )
    return MouthTrack(smoothed.astype(np.float32), fps)


def _mel_centres() -> np.ndarray:
    """Centre frequencies (Hz) of the 80 log-mel bands."""
    return mel_to_hz(np.linspace(hz_to_mel(FMIN), hz_to_mel(FMAX), N_MELS + 2)[1:-1])


def _mel_to_video_frames(power: np.ndarray, fps: float, n_frames: int) -> np.ndarray:
    """Average mel frames (80/s) over each video frame's display interval: (n_frames, 80)."""
    edges = np.round(np.arange(n_frames + 1) / fps * MEL_FPS).astype(np.int64)
    edges = np.clip(edges, 0, power.shape[1])
    cumulative = np.concatenate([np.zeros((power.shape[0], 1)), np.cumsum(power, axis=1)], axis=1)
    sums = cumulative[:, edges[1:]] - cumulative[:, edges[:-1]]
    counts = np.maximum(edges[1:] - edges[:-1], 1)
    return (sums / counts).T
