"""Killing the parent ends its dask workers: a real LocalCluster of two worker processes, the
parent killed with SIGKILL, and every descendant gone within seconds.

The first test keeps each worker inside one long C call that holds the interpreter lock (a
regular expression with catastrophic backtracking), where distributed's own watch thread
cannot run: only the kernel's parent-death signal (:mod:`bulletin.daily.worker_death`) ends
those workers. The second kills a real ``bulletin daily --workers 2`` in the middle of its
units.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from .clirun import REPO

#: How long the workers may outlive their parent (seconds; the brief's bound).
GRACE_S = 5.0

HOLD_THE_LOCK = textwrap.dedent(
    """
    import json, logging, os, sys, time
    from bulletin.daily.scale import dask_client

    def hold_the_interpreter_lock():
        import re
        re.match(r"(a*)*b", "a" * 64)  # exponential backtracking inside one C call

    with dask_client(None, 2, logging.getLogger("test")) as client:
        client.wait_for_workers(2)
        pids = client.run(os.getpid)
        futures = [
            client.submit(hold_the_interpreter_lock, pure=False, workers=[address])
            for address in pids
        ]
        deadline = time.monotonic() + 60
        while len(client.processing()) < 2 or not all(client.processing().values()):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.5)  # inside the regular expression now
        print(json.dumps(sorted(pids.values())), flush=True)
        time.sleep(600)
    """
)


def descendants(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (from /proc's children lists)."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            threads = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for thread in threads:
            try:
                children = Path(f"/proc/{parent}/task/{thread}/children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    todo.append(child)
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def survivors(pids: set[int], within_s: float) -> set[int]:
    """The processes of ``pids`` still alive after up to ``within_s`` seconds."""
    deadline = time.monotonic() + within_s
    while True:
        left = {pid for pid in pids if alive(pid)}
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def described(pids: set[int]) -> list[str]:
    """``pid: command line`` of each of ``pids``, for a failure's message."""
    lines = []
    for pid in sorted(pids):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            command = "?"
        lines.append(f"{pid}: {command[:200]}")
    return lines


def kill_all(pids: set[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="needs Linux /proc and prctl(2)"
)


def test_kill_9_of_the_parent_ends_workers_that_hold_the_interpreter_lock():
    parent = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_LOCK],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    workers: set[int] = set()
    try:
        line = parent.stdout.readline()
        assert line, "the cluster did not start"
        workers = set(json.loads(line))
        family = descendants(parent.pid)
        assert workers <= family and all(alive(pid) for pid in workers)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        left = survivors(family, GRACE_S)
        assert not left, f"still alive {GRACE_S} s after the parent's SIGKILL: {described(left)}"
    finally:
        parent.kill()
        parent.wait()
        kill_all(workers | descendants(parent.pid))


@pytest.mark.media
@pytest.mark.slow
def test_kill_9_of_bulletin_daily_ends_its_workers_and_their_children(tmp_path):
    from .test_daily_run import make_config

    config = make_config(tmp_path)
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "bulletin", "daily", "--config", str(config), "--workers", "2"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    family: set[int] = set()
    try:
        deadline = time.monotonic() + 600
        # A unit is being built: its temporary folder exists (bulletin.output's naming).
        while not (out.is_dir() and any(out.rglob(".*.tmp"))):
            assert process.poll() is None, "the run ended before a unit started"
            assert time.monotonic() < deadline
            family |= descendants(process.pid)
            time.sleep(0.02)
        time.sleep(1.0)  # inside the unit: speech or video
        family |= descendants(process.pid)
        assert len(family) >= 2, "no worker processes were seen"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        left = survivors(family, GRACE_S)
        assert not left, f"still alive {GRACE_S} s after the parent's SIGKILL: {described(left)}"
    finally:
        process.kill()
        process.wait()
        kill_all(family)


SPEAK_A_LONG_TEXT = """
import sys
from pathlib import Path
from bulletin.speech import espeak
text = "The wind chill stays below minus twenty degrees all day at the venue. " * 60
espeak.pyttsx3_save(text, "en-us", 165, Path(sys.argv[1]))
"""


@pytest.mark.media
def test_kill_9_of_a_speaking_process_ends_its_speech_child(tmp_path):
    """The espeak-ng and pyttsx3 workers ask the kernel to end them with the process that
    started them (a dask worker killed mid-synthesis leaves none behind)."""
    parent = subprocess.Popen(
        [sys.executable, "-c", SPEAK_A_LONG_TEXT, str(tmp_path / "long.wav")],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    children: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        while not children:
            assert parent.poll() is None, "the speaking process ended before its child started"
            assert time.monotonic() < deadline, "no speech child started"
            children = descendants(parent.pid)
            time.sleep(0.02)
        time.sleep(0.5)  # the child is synthesising (the text takes several seconds)
        assert all(alive(pid) for pid in children), described(children)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        left = survivors(children, 2.0)
        assert not left, f"still alive 2 s after the parent's SIGKILL: {described(left)}"
    finally:
        parent.kill()
        parent.wait()
        kill_all(children)
