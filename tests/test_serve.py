"""``bulletin serve``: the daily output on a real HTTP server, with byte ranges.

Each test starts ``python -m bulletin serve ROOT --port 0`` as a separate process on a small
output root of real files (tests.dailysite) with its pages written by write_site_pages, reads
the address it prints, and talks to it with http.client; the browser test seeks in a video in
headless Debian Chromium.
"""

from __future__ import annotations

import http.client
import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bulletin.daily.page import write_index_html, write_site_pages
from tests.dailysite import chromium, make_small_run

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """An output root with one run (videos of 4 s, so that there is somewhere to seek to)."""
    root = tmp_path_factory.mktemp("served")
    run = root / "2022-02-04" / "12Z"
    manifest = make_small_run(run, tmp_path_factory.mktemp("config"), video_seconds=4.0)
    write_index_html(run, manifest)
    write_site_pages(root)
    (root.parent / "secret.txt").write_text("outside the root\n", encoding="utf-8")
    (root / "link-out.txt").symlink_to(root.parent / "secret.txt")
    return root


def _start(*args: str) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bulletin", "serve", *args],
        cwd=REPO,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    deadline = time.monotonic() + 60
    line = ""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stderr], [], [], 1.0)
        if ready:
            line = process.stderr.readline()
            found = re.search(r"at (http://\S+/) ", line)
            if found:
                return process, found.group(1)
        if process.poll() is not None:
            break
    process.kill()
    raise AssertionError(f"bulletin serve did not start: {line!r} {process.stderr.read()!r}")


def _stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()


@pytest.fixture(scope="module")
def server(site):
    process, url = _start(str(site), "--port", "0")
    yield url
    assert _stop(process) == 130  # Ctrl-C stops it, with the CLI's exit code for an interrupt


def _get(url: str, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


VIDEO = "/2022-02-04/12Z/genting-snow-park/zh/bulletin.mp4"


def test_binds_to_localhost_by_default(server):
    assert urlsplit(server).hostname == "127.0.0.1"


def test_a_range_request_is_answered_206_with_those_bytes(server, site):
    data = (site / VIDEO.lstrip("/")).read_bytes()
    status, headers, body = _get(server, VIDEO, {"Range": "bytes=100-1099"})
    assert status == 206
    assert headers["content-range"] == f"bytes 100-1099/{len(data)}"
    assert body == data[100:1100]
    status, headers, body = _get(server, VIDEO, {"Range": "bytes=-500"})  # the last 500
    assert (status, body) == (206, data[-500:])
    status, headers, body = _get(server, VIDEO, {"Range": f"bytes={len(data) - 10}-"})
    assert (status, body) == (206, data[-10:])


def test_a_whole_file_says_it_accepts_ranges(server, site):
    status, headers, body = _get(server, VIDEO)
    assert status == 200 and headers["accept-ranges"] == "bytes"
    assert headers["content-type"] == "video/mp4"
    assert body == (site / VIDEO.lstrip("/")).read_bytes()


def test_a_range_past_the_end_is_416(server, site):
    size = (site / VIDEO.lstrip("/")).stat().st_size
    status, _, _ = _get(server, VIDEO, {"Range": f"bytes={size + 10}-{size + 20}"})
    assert status == 416


def test_folders_serve_their_index_page(server):
    for path in ("/", "/latest/", "/2022-02-04/12Z/"):
        status, headers, body = _get(server, path)
        assert status == 200 and headers["content-type"].startswith("text/html"), path
        assert b"<!DOCTYPE html>" in body


@pytest.mark.parametrize(
    "path", ["/../secret.txt", "/2022-02-04/../../secret.txt", "/%2e%2e/secret.txt",
             "/link-out.txt", "/absent.mp4"],
)  # fmt: skip
def test_paths_outside_the_root_are_refused(server, path):
    status, _, body = _get(server, path)
    assert status == 404, path
    assert b"outside the root" not in body


def test_a_port_in_use_is_a_one_line_error(server):
    port = str(urlsplit(server).port)
    done = subprocess.run(
        [sys.executable, "-m", "bulletin", "serve", ".", "--port", port],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert (
        done.stderr.strip()
        == f"bulletin: error: cannot serve on 127.0.0.1:{port}: the port is in use"
    )


def test_a_missing_root_is_a_usage_error(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "bulletin", "serve", str(tmp_path / "absent")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "does not exist" in done.stderr and "Traceback" not in done.stderr


# Seek the first video of the page: wait for `seeked`, then report what the browser holds.
_SEEK = """
const done = arguments[arguments.length - 1];
const video = document.querySelector('section.lang.default video');
const report = () => done({
  time: video.currentTime, state: video.readyState, duration: video.duration,
  seekable: video.seekable.length ? [video.seekable.start(0), video.seekable.end(0)] : null,
  error: video.error && video.error.code});
const seek = () => {
  video.addEventListener('seeked', report, {once: true});
  video.currentTime = 2.5;
};
if (video.readyState >= 1) seek(); else video.addEventListener('loadedmetadata', seek, {once: true});
"""


@pytest.mark.browser
def test_chromium_seeks_in_a_video_of_the_latest_page(server, tmp_path):
    driver = chromium(tmp_path / "profile", 1366, 768, False)
    try:
        driver.set_script_timeout(60)
        driver.get(server + "latest/index.html")
        state = driver.execute_async_script(_SEEK)
    finally:
        driver.quit()
    assert state["error"] is None
    # The whole video is seekable (a server without byte ranges gives Chromium no seekable
    # range past what it has read), and the frame at 2.5 s is there (HAVE_CURRENT_DATA).
    assert state["seekable"] is not None and state["seekable"][1] >= state["duration"] - 0.05
    assert abs(state["time"] - 2.5) < 0.05
    assert state["state"] >= 2


def test_serving_does_not_write_into_the_root(server, site):
    before = sorted(str(p.relative_to(site)) for p in site.rglob("*"))
    _get(server, VIDEO, {"Range": "bytes=0-99"})
    assert sorted(str(p.relative_to(site)) for p in site.rglob("*")) == before
    assert not [p for p in os.listdir(site) if p.startswith(".")]
