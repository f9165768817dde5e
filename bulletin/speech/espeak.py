"""espeak-ng through child processes: the pyttsx3 WAV writer and the libespeak-ng timing pass.

Both run as fresh child processes (see ``_pyttsx3_worker.py`` and ``_espeak_worker.py`` for
why), with the same voice, rate, volume and pitch, so the timing pass synthesises exactly the
PCM that pyttsx3 writes; :func:`bulletin.speech.synthesis.synthesize` checks that by hash.
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bulletin.errors import SpeechError, SpeechUsageError

ESPEAK_LIBRARY = "libespeak-ng.so.1"
DEBIAN_PACKAGES = ("espeak-ng", "libespeak-ng1")
# pyttsx3's volume 1.0 is espeak volume 100 (its driver multiplies by 100); pitch 50 is
# espeak-ng's default. Both are set explicitly in both passes so they cannot drift apart.
VOLUME = 100
PITCH = 50
# espeak-ng accepts 80-450 words per minute (speak_lib.h, espeakRATE_MINIMUM/MAXIMUM).
MIN_RATE = 80
MAX_RATE = 450

_HERE = Path(__file__).resolve().parent
_ESPEAK_WORKER = _HERE / "_espeak_worker.py"
_PYTTSX3_WORKER = _HERE / "_pyttsx3_worker.py"


@dataclass(frozen=True)
class EspeakPass:
    """What one libespeak-ng synthesis produced: audio size, its hash, and its events."""

    sample_rate: int
    n_samples: int
    pcm_sha256: str
    events: tuple[tuple, ...]


def check_espeak_library(library: str | None = None) -> None:
    """Raise :class:`SpeechError` naming the Debian packages if libespeak-ng cannot be loaded."""
    _load_check(library or ESPEAK_LIBRARY)


@lru_cache(maxsize=4)
def _load_check(library: str) -> None:
    try:
        ctypes.CDLL(library)
    except OSError:
        packages = " ".join(DEBIAN_PACKAGES)
        raise SpeechError(
            f"espeak-ng is not installed ({library} not found): "
            f"install the Debian packages {packages} (apt-get install {packages})"
        ) from None


def check_rate(rate: int) -> int:
    if not isinstance(rate, int) or isinstance(rate, bool) or not MIN_RATE <= rate <= MAX_RATE:
        raise SpeechUsageError(
            f"espeak-ng rate {rate!r} is outside {MIN_RATE}-{MAX_RATE} words per minute"
        )
    return rate


def timeout_for(text: str) -> float:
    """Generous child-process time limit: espeak-ng runs hundreds of times faster than speech."""
    return 30.0 + len(text) / 20.0


def timing_pass(
    text: str,
    voice: str,
    rate: int,
    *,
    ipa: bool = False,
    pcm_path: Path | None = None,
    library: str | None = None,
) -> EspeakPass:
    """Synthesise ``text`` with libespeak-ng in a fresh process and return its events.

    ``ipa`` names phonemes in IPA instead of espeak mnemonics; ``pcm_path`` (for checks) saves
    the raw 16-bit PCM.
    """
    library = library or ESPEAK_LIBRARY
    check_espeak_library(library)
    job = {
        "library": library,
        "text": text,
        "voice": voice,
        "rate": rate,
        "volume": VOLUME,
        "pitch": PITCH,
        "ipa": ipa,
        "pcm_path": str(pcm_path) if pcm_path else None,
    }
    completed = _run_child(
        [sys.executable, "-I", "-S", str(_ESPEAK_WORKER)], job, timeout_for(text), "espeak-ng"
    )
    try:
        result = json.loads(completed.stdout)
    except json.JSONDecodeError:
        detail = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or ["no output"]
        raise SpeechError(f"espeak-ng timing pass failed: {detail[0]}") from None
    if "error" in result:
        raise _worker_error(result["error"], result.get("detail", ""), voice, library)
    return EspeakPass(
        sample_rate=int(result["sample_rate"]),
        n_samples=int(result["n_samples"]),
        pcm_sha256=str(result["pcm_sha256"]),
        events=tuple(tuple(event) for event in result["events"]),
    )


def pyttsx3_save(text: str, voice: str, rate: int, wav_path: Path) -> None:
    """Write ``wav_path`` with pyttsx3 in a fresh process (one engine, one save, one wait)."""
    timeout = timeout_for(text)
    job = {
        "text": text,
        "voice": voice,
        "rate": rate,
        "volume": VOLUME / 100.0,
        "pitch": PITCH,
        "wav_path": str(wav_path),
        "timeout_s": timeout,
    }
    completed = _run_child(
        [sys.executable, "-I", str(_PYTTSX3_WORKER)], job, timeout + 10.0, "pyttsx3"
    )
    if completed.returncode != 0:
        lines = completed.stderr.strip().splitlines()
        detail = lines[-1] if lines else f"exit status {completed.returncode}"
        raise SpeechError(f"pyttsx3 could not write {wav_path.name}: {detail}")


def _run_child(
    command: list[str], job: dict, timeout: float, what: str
) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            command,
            # The child dies with this process (the workers' die_with_parent).
            input=json.dumps({**job, "parent_pid": os.getpid()}),
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SpeechError(f"{what} did not finish within {timeout:.0f} s") from None


def _worker_error(kind: str, detail: str, voice: str, library: str) -> SpeechError:
    if kind == "voice":
        return SpeechUsageError(
            f"unknown espeak-ng voice {voice!r} (list them with: espeak-ng --voices)"
        )
    if kind == "library":
        packages = " ".join(DEBIAN_PACKAGES)
        return SpeechError(
            f"espeak-ng is not installed ({library}: {detail}): "
            f"install the Debian packages {packages}"
        )
    return SpeechError(f"espeak-ng failed ({kind}): {detail}")
