"""Programme loudness of the speech: measured, normalised and recorded.

Loudness is the integrated, gated loudness of ITU-R BS.1770-4 (K-weighting, 400 ms blocks with
75 % overlap, absolute gate at -70 LUFS, relative gate 10 LU below), measured with
``pyloudnorm`` (https://github.com/csteinmetz1/pyloudnorm). The default target is EBU R128's
programme loudness, -23 LUFS, with a maximum true peak of -1 dBTP (EBU R128 (2020), sections
2.1 and 2.3; https://tech.ebu.ch/publications/r128).

pyloudnorm measures the sample peak only; the true peak is measured as ITU-R BS.1770-4 Annex 2
describes it: the signal oversampled (polyphase FIR, :func:`scipy.signal.resample_poly`), and the
largest absolute value of the oversampled signal in dB. The Annex oversamples 4 times at 48 kHz,
that is to 192 kHz; here the ratio is at least 4 and large enough to reach 192 kHz from the
speech's own rate (9 times at 22,050 Hz: our choice, the Annex's accuracy at lower rates).

Normalisation is one gain for the whole programme. When that gain would lift the true peak above
the ceiling (a target louder than the speech's crest factor allows), the gain is lowered until
the true peak sits :data:`PEAK_MARGIN_DB` under the ceiling, and the loudness is then below the
target (``peak_limited``). A lower gain and not a limiter is our choice: a limiter reshapes the
plosives and onsets the presenter's mouth follows, and at the default target the espeak-ng voices
do not need it (the true peak of their speech lies 19 to 22 dB above its integrated loudness, so
at -23 LUFS it is at -1 to -4 dBTP); targets above -22 to -20 LUFS, by voice and text, are where
the gain is lowered.
"""

from __future__ import annotations

import math
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bulletin.errors import SpeechError, SpeechUsageError

DEFAULT_LOUDNESS_LUFS = -23.0
"""EBU R128 programme loudness (LUFS)."""
MAX_TRUE_PEAK_DBTP = -1.0
"""EBU R128 maximum true peak (dBTP)."""
LOUDNESS_RANGE_LUFS = (-60.0, -5.0)
"""Targets accepted (our choice: quieter is below the absolute gate's reach for speech, louder
cannot be reached by speech under a -1 dBTP ceiling)."""
PEAK_MARGIN_DB = 0.05
"""Headroom under the ceiling when the peak sets the gain (our choice: covers rounding to
16-bit samples)."""
TRUE_PEAK_RATE_HZ = 192_000
"""The oversampled rate of ITU-R BS.1770-4 Annex 2 (4 x 48 kHz)."""
BLOCK_S = 0.4
"""The gating block of ITU-R BS.1770-4 (seconds)."""
_FULL_SCALE = 32768.0


@dataclass(frozen=True)
class Loudness:
    """The measured loudness of a speech WAV and the gain that made it.

    ``integrated_lufs`` is ``None`` for silence (no block above the absolute gate);
    ``target_lufs`` is ``None`` when the speech was measured but not normalised.
    """

    integrated_lufs: float | None
    true_peak_dbtp: float
    target_lufs: float | None
    max_true_peak_dbtp: float
    gain_db: float
    peak_limited: bool

    def to_json(self) -> dict[str, float | bool | None]:
        """The figures as the speech stage records them (rounded to 0.01 dB)."""
        return {
            "integrated_lufs": _rounded(self.integrated_lufs),
            "true_peak_dbtp": _rounded(self.true_peak_dbtp),
            "target_lufs": self.target_lufs,
            "max_true_peak_dbtp": self.max_true_peak_dbtp,
            "gain_db": _rounded(self.gain_db),
            "peak_limited": self.peak_limited,
        }


def _rounded(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, 2)


def check_loudness_target(target_lufs: float | None) -> float | None:
    """``target_lufs`` as a float, or ``None`` (no normalisation); :class:`SpeechError` for a
    value outside :data:`LOUDNESS_RANGE_LUFS` or not a number."""
    if target_lufs is None:
        return None
    try:
        value = float(target_lufs)
    except (TypeError, ValueError):
        raise SpeechUsageError(f"loudness target {target_lufs!r} is not a number (LUFS)") from None
    low, high = LOUDNESS_RANGE_LUFS
    if not (low <= value <= high):
        raise SpeechUsageError(
            f"loudness target {value:g} LUFS is outside {low:g}..{high:g} LUFS "
            f"(EBU R128 broadcast: {DEFAULT_LOUDNESS_LUFS:g})"
        )
    return value


def integrated_loudness(samples: np.ndarray, sample_rate: int) -> float | None:
    """ITU-R BS.1770-4 integrated loudness (LUFS) of mono ``samples`` (floats, full scale 1)
    with pyloudnorm; ``None`` for silence. Audio shorter than one 400 ms block is measured as
    one block of its own length (our choice; BS.1770-4 defines no shorter measurement)."""
    import pyloudnorm

    duration = len(samples) / sample_rate
    if len(samples) == 0:
        return None
    block = BLOCK_S if duration > BLOCK_S else duration * (1 - 1e-9)
    meter = pyloudnorm.Meter(sample_rate, block_size=block)
    with np.errstate(divide="ignore"):
        value = float(meter.integrated_loudness(np.asarray(samples, dtype=np.float64)))
    return value if math.isfinite(value) else None


def true_peak_dbtp(samples: np.ndarray, sample_rate: int) -> float:
    """True peak (dBTP) of mono ``samples`` (floats, full scale 1), ITU-R BS.1770-4 Annex 2:
    oversampled to at least :data:`TRUE_PEAK_RATE_HZ` (at least 4 times), then the largest
    absolute value; ``-inf`` for silence."""
    from scipy.signal import resample_poly

    if len(samples) == 0:
        return -math.inf
    factor = max(4, math.ceil(TRUE_PEAK_RATE_HZ / sample_rate))
    # In float32: its 24-bit mantissa holds 16-bit audio with room to spare (the peak to a
    # millionth of a dB) at 0.6 of float64's time over the 9x oversampled signal.
    oversampled = resample_poly(np.asarray(samples, dtype=np.float32), factor, 1)
    # The sample peak bounds the true peak from below (the FIR's edges can fall short of it).
    peak = max(float(oversampled.max()), -float(oversampled.min()), float(np.max(np.abs(samples))))
    return 20 * math.log10(peak) if peak > 0 else -math.inf


def measure(
    samples: np.ndarray,
    sample_rate: int,
    *,
    target_lufs: float | None = None,
    gain_db: float = 0.0,
    peak_limited: bool = False,
) -> Loudness:
    """The :class:`Loudness` of ``samples`` (floats, full scale 1)."""
    return Loudness(
        integrated_lufs=integrated_loudness(samples, sample_rate),
        true_peak_dbtp=true_peak_dbtp(samples, sample_rate),
        target_lufs=target_lufs,
        max_true_peak_dbtp=MAX_TRUE_PEAK_DBTP,
        gain_db=gain_db,
        peak_limited=peak_limited,
    )


def normalize_pcm(
    pcm: np.ndarray,
    sample_rate: int,
    target_lufs: float | None = DEFAULT_LOUDNESS_LUFS,
    *,
    max_true_peak_dbtp: float = MAX_TRUE_PEAK_DBTP,
) -> tuple[np.ndarray, Loudness]:
    """16-bit mono ``pcm`` at ``target_lufs`` with its true peak at most ``max_true_peak_dbtp``
    (see the module docstring), and the :class:`Loudness` measured on the returned samples.
    ``target_lufs=None`` returns ``pcm`` unchanged, measured. Silence is returned unchanged."""
    target_lufs = check_loudness_target(target_lufs)
    samples = np.asarray(pcm, dtype=np.int16).astype(np.float64) / _FULL_SCALE
    if target_lufs is None:
        return np.asarray(pcm, dtype=np.int16), measure(samples, sample_rate)
    before = integrated_loudness(samples, sample_rate)
    if before is None:
        return np.asarray(pcm, dtype=np.int16), measure(
            samples, sample_rate, target_lufs=target_lufs
        )
    gain_db = target_lufs - before
    peak = true_peak_dbtp(samples, sample_rate)
    limited = peak + gain_db > max_true_peak_dbtp - PEAK_MARGIN_DB
    if limited:
        gain_db = max_true_peak_dbtp - PEAK_MARGIN_DB - peak
    scaled = np.rint(samples * (10 ** (gain_db / 20)) * _FULL_SCALE)
    out = np.clip(scaled, -_FULL_SCALE, _FULL_SCALE - 1).astype(np.int16)
    loudness = measure(
        out.astype(np.float64) / _FULL_SCALE,
        sample_rate,
        target_lufs=target_lufs,
        gain_db=gain_db,
        peak_limited=limited,
    )
    return out, loudness


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """(16-bit samples, sample rate) of a mono 16-bit WAV; :class:`SpeechError` otherwise."""
    try:
        with wave.open(str(path), "rb") as reader:
            if reader.getnchannels() != 1 or reader.getsampwidth() != 2:
                raise SpeechError(f"{path} is not a mono 16-bit WAV")
            rate = reader.getframerate()
            frames = reader.readframes(reader.getnframes())
    except (OSError, EOFError, wave.Error) as error:
        raise SpeechError(f"cannot read WAV {path}: {error}") from None
    return np.frombuffer(frames, dtype="<i2").astype(np.int16), rate


def write_wav(path: Path, pcm: np.ndarray, sample_rate: int) -> None:
    """Write mono 16-bit ``pcm`` to ``path`` (a temporary file of the caller's)."""
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(sample_rate)
        writer.writeframes(np.asarray(pcm, dtype="<i2").tobytes())


def normalize_wav(
    path: Path,
    target_lufs: float | None = DEFAULT_LOUDNESS_LUFS,
    *,
    max_true_peak_dbtp: float = MAX_TRUE_PEAK_DBTP,
) -> Loudness:
    """Normalise the mono 16-bit WAV at ``path`` in place (:func:`normalize_pcm`); return the
    loudness measured on what was written."""
    pcm, rate = read_wav(Path(path))
    out, loudness = normalize_pcm(pcm, rate, target_lufs, max_true_peak_dbtp=max_true_peak_dbtp)
    if target_lufs is not None:
        write_wav(Path(path), out, rate)
    return loudness


def measure_wav(path: Path) -> Loudness:
    """The :class:`Loudness` of a mono 16-bit WAV, unchanged."""
    pcm, rate = read_wav(Path(path))
    return measure(pcm.astype(np.float64) / _FULL_SCALE, rate)


__all__ = [
    "DEFAULT_LOUDNESS_LUFS",
    "LOUDNESS_RANGE_LUFS",
    "MAX_TRUE_PEAK_DBTP",
    "Loudness",
    "check_loudness_target",
    "integrated_loudness",
    "measure",
    "measure_wav",
    "normalize_pcm",
    "normalize_wav",
    "read_wav",
    "true_peak_dbtp",
]
