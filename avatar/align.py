"""Phoneme timings for footage from its transcript: espeak-ng resynthesis aligned by DTW.

The transcript is spoken by a synthesizer the caller passes in (:class:`avatar.synthesis.Synthesize`,
e.g. espeak-ng, which reports exact phoneme times for its own audio); the resynthesis is aligned
to the footage's sound by dynamic time warping on log-mel features, the forced-alignment
approach of aeneas (Pettarin, https://github.com/readbeyond/aeneas), and the phoneme times are
carried through the warping path onto the footage.

Features: the 80-band log-mel of :mod:`avatar.audio` averaged per video frame, each band
normalised to zero mean and unit variance per recording (cepstral mean/variance normalisation,
which removes most of the voice and channel difference; Viikki & Laurila 1998, Speech
Communication 25:133-147), compared by Euclidean distance. DTW (Sakoe & Chiba 1978, IEEE
Trans. ASSP 26(1):43-49) uses the asymmetric steps (1, 0), (1, 1), (1, 2): every footage frame
advances the resynthesis by 0-2 frames, which allows speaking rates from half to twice
espeak's and lets each row of the cost table be computed at once.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from avatar.audio import SAMPLE_RATE, Speech, as_speech, log_mel
from avatar.errors import AvatarError
from avatar.synthesis import Synthesize

MAX_CELLS = 400_000_000
"""Largest DTW table (footage frames x resynthesis frames) we build: about 20 min x 20 min of
speech at 25 frames/s with int8 back-pointers (400 MB, our limit)."""


def frame_features(speech: Speech, fps: float, n_frames: int | None = None) -> np.ndarray:
    """(n_frames, 80) per-frame log-mel, normalised per band over the recording."""
    samples = speech.to_16k().samples
    mel = log_mel(samples)  # 80 frames/s
    if n_frames is None:
        n_frames = max(1, int(len(samples) / SAMPLE_RATE * fps))
    edges = np.round(np.arange(n_frames + 1) * 80.0 / fps).astype(np.int64)
    edges = np.clip(edges, 0, mel.shape[1])
    cumulative = np.concatenate([np.zeros((80, 1)), np.cumsum(mel, axis=1)], axis=1)
    counts = np.maximum(edges[1:] - edges[:-1], 1)
    features = ((cumulative[:, edges[1:]] - cumulative[:, edges[:-1]]) / counts).T
    features -= features.mean(axis=0)
    features /= np.maximum(features.std(axis=0), 1e-3)
    return features.astype(np.float32)


def dtw_path(target: np.ndarray, source: np.ndarray) -> np.ndarray:
    """For each target frame i, the source frame j(i) it is aligned to (non-decreasing,
    j(0) = 0, j(end) = last), by DTW with steps (1, 0), (1, 1), (1, 2)."""
    n, m = len(target), len(source)
    if n * m > MAX_CELLS:
        raise AvatarError(f"alignment table of {n} x {m} frames is too large; split the footage")
    if m > 2 * n - 1:
        raise AvatarError(
            f"the resynthesis ({m} frames) is more than twice as long as the footage ({n})"
        )
    t2 = (target**2).sum(axis=1)[:, None]
    s2 = (source**2).sum(axis=1)[None, :]
    cost = np.sqrt(np.maximum(t2 + s2 - 2.0 * target @ source.T, 0.0)).astype(np.float32)
    back = np.zeros((n, m), np.int8)
    row = np.full(m, np.inf, np.float32)
    row[0] = cost[0, 0]
    for i in range(1, n):
        stay = row
        one = np.concatenate([[np.inf], row[:-1]])
        two = np.concatenate([[np.inf, np.inf], row[:-2]])
        options = np.stack([stay, one, two])
        choice = np.argmin(options, axis=0)
        back[i] = choice
        row = options[choice, np.arange(m)] + cost[i]
    if not np.isfinite(row[-1]):
        raise AvatarError("the transcript's resynthesis cannot be aligned to the footage")
    path = np.empty(n, np.int64)
    j = m - 1
    for i in range(n - 1, -1, -1):
        path[i] = j
        j -= int(back[i, j])
    return path


def _language(line: str) -> str:
    return "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in line) else "en"


def transcript_timings(
    transcript: str | Path, audio: Speech | str | Path, synthesize: Synthesize, fps: int = 25
) -> dict:
    """``timings.json``-style phoneme timings for ``audio`` (the footage's sound) from the
    transcript file: one utterance per line, English or Mandarin (detected per line), each
    spoken by ``synthesize`` at its default rate."""
    path = Path(transcript)
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    except (OSError, UnicodeDecodeError) as exc:
        raise AvatarError(f"cannot read transcript {path}: {exc}") from None
    lines = [line for line in lines if line]
    if not lines:
        raise AvatarError(f"transcript {path} is empty")
    speech = as_speech(audio)
    pieces, phonemes, offset, rate = [], [], 0.0, None
    with tempfile.TemporaryDirectory(prefix="avatar-align-") as work:
        for k, line in enumerate(lines):
            result = synthesize(line, _language(line), Path(work) / f"u{k}")
            resynth = as_speech(result.wav_path)
            rate = rate or resynth.sample_rate
            pieces.append(resynth.samples)
            phonemes += [(p.phoneme, offset + p.start, offset + p.end) for p in result.phonemes]
            offset += resynth.duration
    resynthesis = Speech(np.concatenate(pieces), int(rate))
    n = max(1, int(speech.duration * fps))
    m = max(1, int(resynthesis.duration * fps))
    path_j = dtw_path(frame_features(speech, fps, n), frame_features(resynthesis, fps, m))
    # Source frame j is first reached at target frame first[j]: the inverse warping.
    first = np.searchsorted(path_j, np.arange(m + 1), side="left").astype(np.float64)

    def warp(t: float) -> float:
        return float(np.interp(t * fps, np.arange(m + 1), first) / fps)

    aligned = [
        {"phoneme": name, "start": round(warp(s), 4), "end": round(max(warp(s), warp(e)), 4)}
        for name, s, e in phonemes
    ]
    return {
        "version": 1,
        "engine": "espeak-ng resynthesis, DTW-aligned",
        "duration": round(speech.duration, 4),
        "phonemes": aligned,
    }
