"""Speech expert, part 1: audio to 16 kHz mono, log-mel windows per video frame, energy and
voice activity.

The log-mel follows Wav2Lip's audio front end (Prajwal et al. 2020, "A Lip Sync Expert Is All
You Need for Speech to Lip Generation In the Wild", ACM MM; repository Rudrabha/Wav2Lip,
``hparams.py`` and ``audio.py``): 16 kHz, pre-emphasis 0.97, 800-sample (50 ms) Hann window,
200-sample (12.5 ms) hop, i.e. 80 mel frames per second, 80 Slaney mel bands from 55 to
7600 Hz, magnitude in dB minus a 20 dB reference level, scaled from [-100, 0] dB to [-4, 4].
A 0.2 s window is 16 mel frames, Wav2Lip's ``syncnet_mel_step_size``.

Everything is numpy/scipy; torch is never imported here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from avatar.errors import AvatarError

SAMPLE_RATE = 16_000
N_FFT = 800
HOP = 200
WIN = 800
N_MELS = 80
FMIN = 55.0
FMAX = 7_600.0
PREEMPHASIS = 0.97
REF_LEVEL_DB = 20.0
MIN_LEVEL_DB = -100.0
MAX_ABS_VALUE = 4.0
MEL_FPS = SAMPLE_RATE / HOP  # 80 mel frames per second
MEL_FLOOR = -MAX_ABS_VALUE  # the normalised value of silence, used to pad windows


@dataclass(frozen=True)
class Speech:
    """Mono audio samples (float32, nominally in [-1, 1]) and their sample rate."""

    samples: np.ndarray
    sample_rate: int

    def __post_init__(self) -> None:
        samples = np.asarray(self.samples, dtype=np.float32)
        if samples.ndim != 1:
            raise AvatarError(f"speech samples must be mono (1-D), got shape {samples.shape}")
        if not np.all(np.isfinite(samples)):
            raise AvatarError("speech samples contain NaN or infinity")
        if not (isinstance(self.sample_rate, int | np.integer) and self.sample_rate > 0):
            raise AvatarError(f"sample rate must be a positive integer, got {self.sample_rate!r}")
        object.__setattr__(self, "samples", samples)
        object.__setattr__(self, "sample_rate", int(self.sample_rate))

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.sample_rate

    def to_16k(self) -> Speech:
        """The same speech at :data:`SAMPLE_RATE` (polyphase resampling, scipy)."""
        return Speech(resample_to(self.samples, self.sample_rate, SAMPLE_RATE), SAMPLE_RATE)


def load_audio(path: str | Path) -> Speech:
    """Read an audio file (WAV, FLAC, OGG... anything libsndfile reads) as mono float32 at its
    own sample rate; several channels are averaged."""
    import soundfile

    path = Path(path)
    if not path.is_file():
        raise AvatarError(f"audio file not found: {path}")
    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError) as exc:
        raise AvatarError(f"cannot read audio file {path}: {exc}") from None
    if data.shape[0] == 0:
        raise AvatarError(f"audio file {path} holds no samples")
    return Speech(data.mean(axis=1), int(rate))


def as_speech(audio: Speech | str | Path) -> Speech:
    """Accept a :class:`Speech` or a path to an audio file."""
    return audio if isinstance(audio, Speech) else load_audio(audio)


def resample_to(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Polyphase resampling (``scipy.signal.resample_poly``, Kaiser-windowed FIR) by the exact
    rational factor ``rate_out / rate_in``, e.g. 320/441 for 22.05 kHz to 16 kHz."""
    samples = np.asarray(samples, dtype=np.float32)
    if rate_in == rate_out or samples.size == 0:
        return samples
    g = math.gcd(int(rate_in), int(rate_out))
    return resample_poly(samples, rate_out // g, rate_in // g).astype(np.float32)


# ---------------------------------------------------------------------------- mel filterbank


def hz_to_mel(hz: np.ndarray | float, htk: bool = False) -> np.ndarray:
    """Hertz to mels. Slaney (Auditory Toolbox, 1998): linear below 1 kHz at 200/3 Hz per mel,
    logarithmic above with 27 mels per factor 6.4; HTK (Young et al., The HTK Book):
    2595 log10(1 + f/700). Same formulas as ``librosa.hz_to_mel``."""
    hz = np.asarray(hz, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + hz / 700.0)
    f_sp = 200.0 / 3
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, math.log(6.4) / 27.0
    linear = hz / f_sp
    log = min_log_mel + np.log(np.maximum(hz, min_log_hz) / min_log_hz) / logstep
    return np.where(hz >= min_log_hz, log, linear)


def mel_to_hz(mel: np.ndarray | float, htk: bool = False) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    mel = np.asarray(mel, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)
    f_sp = 200.0 / 3
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, math.log(6.4) / 27.0
    linear = mel * f_sp
    log = min_log_hz * np.exp(logstep * (mel - min_log_mel))
    return np.where(mel >= min_log_mel, log, linear)


def mel_filterbank(
    sample_rate: int = SAMPLE_RATE,
    n_fft: int = N_FFT,
    n_mels: int = N_MELS,
    fmin: float = FMIN,
    fmax: float = FMAX,
    htk: bool = False,
    slaney_norm: bool = True,
) -> np.ndarray:
    """Triangular mel filters, shape (n_mels, n_fft // 2 + 1), float32.

    Filter ``i`` rises from mel point ``i`` to ``i + 1`` and falls to ``i + 2``, the points
    equally spaced in mel between ``fmin`` and ``fmax``. With ``slaney_norm`` each filter is
    scaled by 2 / (its bandwidth in Hz), so every filter has unit area (Slaney's Auditory
    Toolbox). This is the construction of ``librosa.filters.mel`` (norm="slaney"), the one
    Wav2Lip uses.
    """
    if not 0 <= fmin < fmax <= sample_rate / 2:
        raise AvatarError(f"mel range must satisfy 0 <= fmin < fmax <= sr/2, got {fmin}, {fmax}")
    fft_freqs = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    mel_points = mel_to_hz(np.linspace(hz_to_mel(fmin, htk), hz_to_mel(fmax, htk), n_mels + 2), htk)
    widths = np.diff(mel_points)
    ramps = mel_points[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    if slaney_norm:
        weights *= (2.0 / (mel_points[2:] - mel_points[:-2]))[:, None]
    return weights.astype(np.float32)


_MEL_BASIS = mel_filterbank()
_WINDOW = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(WIN) / WIN)).astype(np.float32)  # periodic Hann


def log_mel(samples_16k: np.ndarray) -> np.ndarray:
    """Normalised log-mel spectrogram of 16 kHz mono audio, shape (80, T), float32, in [-4, 4].

    Frame ``k`` is centred on sample ``k * 200`` (the signal is zero-padded by half a window at
    both ends, as ``librosa.stft(center=True)``), so there are ``1 + len // 200`` frames at
    80 per second."""
    x = np.asarray(samples_16k, dtype=np.float32)
    if x.ndim != 1:
        raise AvatarError(f"log_mel expects mono 1-D audio, got shape {x.shape}")
    # Pre-emphasis y[n] = x[n] - 0.97 x[n-1] (Wav2Lip audio.preemphasis, scipy lfilter form).
    emphasised = np.empty_like(x)
    if x.size:
        emphasised[0] = x[0]
        emphasised[1:] = x[1:] - PREEMPHASIS * x[:-1]
    padded = np.pad(emphasised, (N_FFT // 2, N_FFT // 2))
    n_frames = 1 + len(x) // HOP
    frames = np.lib.stride_tricks.sliding_window_view(padded, WIN)[::HOP][:n_frames]
    spectrum = np.abs(np.fft.rfft(frames * _WINDOW, n=N_FFT, axis=1)).astype(np.float32)
    mel = _MEL_BASIS @ spectrum.T
    db = 20.0 * np.log10(np.maximum(1e-5, mel)) - REF_LEVEL_DB
    scaled = 2 * MAX_ABS_VALUE * (db - MIN_LEVEL_DB) / -MIN_LEVEL_DB - MAX_ABS_VALUE
    return np.clip(scaled, -MAX_ABS_VALUE, MAX_ABS_VALUE).astype(np.float32)


def n_video_frames(duration_s: float, fps: float = 25.0) -> int:
    """Frames needed to cover ``duration_s`` seconds at ``fps`` (the last one may be partial)."""
    return max(0, math.ceil(round(duration_s * fps, 6)))


def mel_windows(
    samples_16k: np.ndarray,
    fps: float = 25.0,
    window_s: float = 0.2,
    n_frames: int | None = None,
    mel: np.ndarray | None = None,
) -> np.ndarray:
    """Log-mel windows, one per video frame: shape (n_frames, 80, T), T = round(window_s * 80).

    Video frame ``i`` is on screen from ``i / fps`` to ``(i + 1) / fps``; its window is centred
    on the middle of that interval, ``(i + 0.5) / fps`` (Wav2Lip instead *starts* its window at
    ``i / fps``, which puts the audio 0.1 s ahead of the picture). Windows reaching past either
    end of the audio are padded with the value of silence. ``mel`` may be passed when already
    computed with :func:`log_mel`.
    """
    if fps <= 0 or window_s <= 0:
        raise AvatarError(f"fps and window_s must be positive, got {fps}, {window_s}")
    samples_16k = np.asarray(samples_16k, dtype=np.float32)
    if mel is None:
        mel = log_mel(samples_16k)
    if n_frames is None:
        n_frames = n_video_frames(len(samples_16k) / SAMPLE_RATE, fps)
    width = max(1, round(window_s * MEL_FPS))
    centres = (np.arange(n_frames) + 0.5) / fps * MEL_FPS
    starts = np.round(centres - width / 2).astype(np.int64)
    left = int(max(0, -starts.min(initial=0)))
    right = int(max(0, starts.max(initial=0) + width - mel.shape[1]))
    padded = np.pad(mel, ((0, 0), (left, right)), constant_values=MEL_FLOOR)
    index = starts[:, None] + left + np.arange(width)[None, :]
    return np.ascontiguousarray(padded[:, index].transpose(1, 0, 2))


# ---------------------------------------------------------------------------- energy, activity


def frame_rms(
    samples: np.ndarray, sample_rate: int, fps: float = 25.0, n_frames: int | None = None
) -> np.ndarray:
    """Root-mean-square amplitude of the samples shown with each video frame, i.e. between
    ``i / fps`` and ``(i + 1) / fps`` seconds (zero past the end of the audio)."""
    samples = np.asarray(samples, dtype=np.float64)
    if n_frames is None:
        n_frames = n_video_frames(len(samples) / sample_rate, fps)
    nominal = np.round(np.arange(n_frames + 1) / fps * sample_rate).astype(np.int64)
    edges = np.clip(nominal, 0, len(samples))
    cumulative = np.concatenate([[0.0], np.cumsum(samples**2)])
    energy = cumulative[edges[1:]] - cumulative[edges[:-1]]
    counts = np.maximum(np.diff(nominal), 1)
    return np.sqrt(np.maximum(energy, 0.0) / counts).astype(np.float32)


@dataclass(frozen=True)
class Activity:
    """Per-frame loudness and voice activity.

    ``level_db`` is the frame RMS in dBFS; ``envelope`` maps it linearly from the activity
    threshold (0) to the loud end of the utterance (1); ``voiced`` is the cleaned-up decision.
    """

    level_db: np.ndarray
    envelope: np.ndarray
    voiced: np.ndarray
    threshold_db: float


def voice_activity(
    samples: np.ndarray,
    sample_rate: int,
    fps: float = 25.0,
    n_frames: int | None = None,
    dynamic_range_db: float = 35.0,
    min_gap_s: float = 0.12,
    min_run_s: float = 0.06,
) -> Activity:
    """Energy-based voice activity per video frame, used to keep the mouth shut in silence.

    The threshold is ``dynamic_range_db`` below the utterance's loud level (95th percentile of
    frame dBFS), but never less than 10 dB above its noise floor (10th percentile), and never
    below -70 dBFS. Silent gaps shorter than ``min_gap_s`` inside speech are filled (a
    "hangover", as in telephone VADs, e.g. ITU-T G.729 Annex B) and active runs shorter than
    ``min_run_s`` are dropped as clicks. The 35 dB, 0.12 s and 0.06 s defaults are our choice
    for clean TTS audio: stop closures (< 0.1 s) stay inside speech, pauses between phrases
    (>= 0.15 s) do not.
    """
    rms = frame_rms(samples, sample_rate, fps, n_frames)
    level = 20.0 * np.log10(np.maximum(rms, 1e-7))
    if level.size == 0:
        empty = np.zeros(0, np.float32)
        return Activity(empty, empty, np.zeros(0, bool), -70.0)
    loud = float(np.percentile(level, 95))
    floor = float(np.percentile(level, 10))
    threshold = max(loud - dynamic_range_db, floor + 10.0, -70.0)
    voiced = level > threshold
    voiced = _fill_short_runs(
        voiced, value=False, max_len=round(min_gap_s * fps), interior_only=True
    )
    voiced = _fill_short_runs(
        voiced, value=True, max_len=round(min_run_s * fps) - 1, interior_only=False
    )
    span = max(loud - threshold, 1e-6)
    envelope = np.clip((level - threshold) / span, 0.0, 1.0).astype(np.float32)
    return Activity(level.astype(np.float32), envelope, voiced, float(threshold))


def _fill_short_runs(
    mask: np.ndarray, value: bool, max_len: int, interior_only: bool
) -> np.ndarray:
    """Flip runs of ``value`` no longer than ``max_len`` frames; with ``interior_only`` runs
    touching either end are kept (leading/trailing silence is real silence)."""
    out = mask.copy()
    if max_len <= 0 or mask.size == 0:
        return out
    change = np.flatnonzero(np.diff(mask.astype(np.int8))) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [mask.size]])
    for start, end in zip(starts, ends, strict=True):
        if mask[start] != value or end - start > max_len:
            continue
        if interior_only and (start == 0 or end == mask.size):
            continue
        out[start:end] = not value
    return out
