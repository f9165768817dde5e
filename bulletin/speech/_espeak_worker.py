"""Child process: one synchronous libespeak-ng synthesis with phoneme and word events.

Run as ``python -I -S _espeak_worker.py`` with a JSON job on stdin::

    {"library": "libespeak-ng.so.1", "text": "...", "voice": "en-us", "rate": 165,
     "volume": 100, "pitch": 50, "ipa": false, "pcm_path": null}

It prints one JSON object on stdout: ``{"sample_rate", "n_samples", "pcm_sha256", "events"}``
where each event is ``["word", sample, text_position, length]`` or
``["phoneme", sample, name]`` (``sample`` is the absolute sample index where it starts,
``text_position`` the 1-based character offset in the text). On failure it prints
``{"error": KIND, "detail": ...}`` and exits with status 3.

Why a separate process: libespeak-ng keeps synthesis state from one utterance to the next, so
in one process the same text synthesised twice gives different audio (measured with Debian's
1.51: 84004, then 84538 and 84296 samples for one sentence), whereas the first synthesis of a
fresh process is identical, sample for sample, to pyttsx3's and to ``espeak-ng -w``. A fresh
process per pass is what makes these timings those of the WAV. It uses only the standard
library so that it starts quickly (about 40 ms).

The ctypes binding follows espeak-ng's ``speak_lib.h`` (1.51): ``espeak_Initialize`` with
``AUDIO_OUTPUT_SYNCHRONOUS`` and ``espeakINITIALIZE_PHONEME_EVENTS`` (plus
``espeakINITIALIZE_PHONEME_IPA`` for IPA names), ``espeak_Synth`` with ``POS_CHARACTER`` and
``espeakCHARS_UTF8 | espeakENDPAUSE`` (the flags pyttsx3's espeak driver uses).
"""

import ctypes
import hashlib
import json
import os
import sys
from ctypes import CFUNCTYPE, POINTER, Structure, Union, c_char, c_char_p, c_int, c_short, c_uint

AUDIO_OUTPUT_SYNCHRONOUS = 2
INITIALIZE_PHONEME_EVENTS = 0x0001
INITIALIZE_PHONEME_IPA = 0x0002
POS_CHARACTER = 1
CHARS_UTF8 = 1
ENDPAUSE = 0x1000
PARAM_RATE, PARAM_VOLUME, PARAM_PITCH = 1, 2, 3
EVENT_LIST_TERMINATED, EVENT_WORD, EVENT_PHONEME = 0, 1, 7


class _EventId(Union):
    _fields_ = [("number", c_int), ("name", c_char_p), ("string", c_char * 8)]


class _Event(Structure):
    _fields_ = [
        ("type", c_int),
        ("unique_identifier", c_uint),
        ("text_position", c_int),
        ("length", c_int),
        ("audio_position", c_int),
        ("sample", c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_SynthCallback = CFUNCTYPE(c_int, POINTER(c_short), c_int, POINTER(_Event))


def _fail(kind: str, detail: str) -> None:
    print(json.dumps({"error": kind, "detail": detail}))
    sys.exit(3)


def die_with_parent(parent_pid) -> None:
    """Ask Linux to SIGKILL this process when the process that started it dies (prctl(2)
    PR_SET_PDEATHSIG = 1), and exit at once if that process is already gone: a worker killed
    mid-synthesis (kill -9 of a bulletin daily run) leaves no speech child behind."""
    if not sys.platform.startswith("linux"):
        return
    ctypes.CDLL(None, use_errno=True).prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG, SIGKILL
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)


def main() -> None:
    job = json.load(sys.stdin)
    die_with_parent(job.get("parent_pid"))
    try:
        lib = ctypes.CDLL(job["library"])
    except OSError as error:
        _fail("library", str(error))
    lib.espeak_Initialize.argtypes = [c_int, c_int, c_char_p, c_int]
    lib.espeak_SetVoiceByName.argtypes = [c_char_p]
    lib.espeak_SetParameter.argtypes = [c_int, c_int, c_int]
    lib.espeak_Synth.argtypes = [
        ctypes.c_void_p,
        ctypes.c_size_t,
        c_uint,
        c_int,
        c_uint,
        c_uint,
        POINTER(c_uint),
        ctypes.c_void_p,
    ]
    options = INITIALIZE_PHONEME_EVENTS | (INITIALIZE_PHONEME_IPA if job["ipa"] else 0)
    sample_rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, None, options)
    if sample_rate <= 0:
        _fail("init", f"espeak_Initialize returned {sample_rate} (espeak-ng-data missing?)")

    chunks: list[bytes] = []
    events: list[list] = []

    def on_synth(wav, n_samples, event_list):  # called by espeak for each audio block
        if n_samples > 0:
            chunks.append(ctypes.string_at(wav, n_samples * 2))
        index = 0
        while event_list[index].type != EVENT_LIST_TERMINATED:
            event = event_list[index]
            if event.type == EVENT_WORD:
                events.append(["word", event.sample, event.text_position, event.length])
            elif event.type == EVENT_PHONEME:
                name = event.id.string.decode("utf-8", "replace")
                events.append(["phoneme", event.sample, name])
            index += 1
        return 0

    callback = _SynthCallback(on_synth)  # keep a reference while espeak may call it
    lib.espeak_SetSynthCallback(callback)
    if lib.espeak_SetVoiceByName(job["voice"].encode("utf-8")) != 0:
        _fail("voice", job["voice"])
    for parameter, value in (
        (PARAM_RATE, job["rate"]),
        (PARAM_VOLUME, job["volume"]),
        (PARAM_PITCH, job["pitch"]),
    ):
        lib.espeak_SetParameter(parameter, int(value), 0)
    text = job["text"].encode("utf-8")
    status = lib.espeak_Synth(
        text, len(text) + 1, 0, POS_CHARACTER, 0, CHARS_UTF8 | ENDPAUSE, None, None
    )
    if status != 0:
        _fail("synth", f"espeak_Synth returned status {status}")
    pcm = b"".join(chunks)
    if job.get("pcm_path"):
        with open(job["pcm_path"], "wb") as raw:
            raw.write(pcm)
    result = {
        "sample_rate": sample_rate,
        "n_samples": len(pcm) // 2,
        "pcm_sha256": hashlib.sha256(pcm).hexdigest(),
        "events": events,
    }
    sys.stdout.write(json.dumps(result))


if __name__ == "__main__":
    main()
