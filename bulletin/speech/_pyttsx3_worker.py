"""Child process: write one WAV with pyttsx3 (espeak-ng driver), the reliable way.

Run as ``python -I _pyttsx3_worker.py`` with a JSON job on stdin::

    {"text": "...", "voice": "en-us", "rate": 165, "volume": 1.0, "pitch": 50,
     "wav_path": "/out/.speech-tmp.wav", "timeout_s": 60}

Exit status 0 when the file is written, 4 when pyttsx3 did not finish in time, 5 when it
reported an error; the reason goes to stderr.

pyttsx3 2.99's espeak driver has race and state bugs (reproduced with pyttsx3 2.99 on
Debian's espeak-ng 1.51): the first ``runAndWait()`` can return before the WAV is written, a
rate change between two files in one process may be ignored, two saves before one
``runAndWait()`` write only the last file, and an empty ``runAndWait()`` can hang. The pattern
that was verified reliable is used here: one engine per process, exactly one ``save_to_file``
per ``runAndWait``, then waiting for the ``finished-utterance`` event, which the driver sends
only after it has closed the WAV file.
"""

import importlib.util
import json
import os
import sys
import threading
from pathlib import Path


def die_with_parent(parent_pid) -> None:
    """The espeak-ng worker's :func:`die_with_parent` (a sibling file: this script runs
    isolated, without the package on its path)."""
    path = Path(__file__).with_name("_espeak_worker.py")
    spec = importlib.util.spec_from_file_location("_espeak_worker", path)
    sibling = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sibling)
    sibling.die_with_parent(parent_pid)


def main() -> None:
    job = json.load(sys.stdin)
    die_with_parent(job.get("parent_pid"))
    # pyttsx3 prints "Audio saved to ..." on stdout; keep stdout quiet for the caller.
    sys.stdout = sys.stderr
    import pyttsx3

    engine = pyttsx3.init()
    finished = threading.Event()
    errors: list[str] = []
    engine.connect("finished-utterance", lambda name, completed: finished.set())
    engine.connect("error", lambda name=None, exception=None: errors.append(repr(exception)))
    engine.setProperty("voice", job["voice"])
    engine.setProperty("rate", job["rate"])
    engine.setProperty("volume", job["volume"])
    engine.setProperty("pitch", job["pitch"])
    engine.save_to_file(job["text"], job["wav_path"])
    engine.runAndWait()
    if not finished.wait(job["timeout_s"]):
        print(f"pyttsx3 did not finish within {job['timeout_s']} s", file=sys.stderr)
        os._exit(4)
    if errors:
        print("pyttsx3 error: " + "; ".join(errors), file=sys.stderr)
        os._exit(5)
    sys.stderr.flush()
    # Skip interpreter teardown: espeak's own thread is still alive in retrieval mode, and the
    # file is already closed (finished-utterance is sent after the write).
    os._exit(0)


if __name__ == "__main__":
    main()
