"""The videos' colours as viewers see them: RGB converted by the HDTV matrix (ITU-R BT.709) and
the stream tagged so (bulletin/video/encode.py, avatar/video.py). Untagged BT.601, ffmpeg's
default, is shown by browsers as BT.709: the level colours came out up to 17 levels off."""

from __future__ import annotations

import functools
import http.server
import json
import re
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from avatar.video import write_video
from bulletin.indices import LEVEL_NAMES
from bulletin.video.cards import hex_rgb
from bulletin.video.encode import H264Writer, ffmpeg_exe
from tests.dailysite import chromium

pytestmark = pytest.mark.media

SIZE = (1280, 720)
#: Every level colour of the six indices, the cards' and the page's.
COLOURS = sorted(
    {hex_rgb(level.colour) for levels in LEVEL_NAMES.values() for level in levels.values()}
)
BAND = SIZE[0] // len(COLOURS)


def _bands() -> np.ndarray:
    frame = np.zeros((SIZE[1], SIZE[0], 3), dtype=np.uint8)
    for i, colour in enumerate(COLOURS):
        frame[:, i * BAND : (i + 1) * BAND] = colour
    return frame


def _centres(frame: np.ndarray) -> list[tuple[int, int, int]]:
    return [
        tuple(int(v) for v in frame[SIZE[1] // 2, i * BAND + BAND // 2])
        for i in range(len(COLOURS))
    ]


def _ffmpeg_decoded(path: Path) -> np.ndarray:
    """The first frame as ffmpeg decodes it to RGB (by the matrix the stream names; BT.601
    when it names none)."""
    command = [ffmpeg_exe(), "-v", "error", "-i", str(path), "-frames:v", "1"]
    raw = subprocess.run(
        [*command, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True
    ).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(SIZE[1], SIZE[0], 3)


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, Path]:
    """The level colours through the bulletin's encoder and through the presenter's."""
    folder = tmp_path_factory.mktemp("colour")
    wav = folder / "silence.wav"
    soundfile.write(wav, np.zeros(16000, dtype=np.float32), 16000)
    frame = _bands()
    bulletin = folder / "bulletin.mp4"
    with H264Writer(bulletin, SIZE, 25, wav, 1.0, preset="superfast", crf=23, threads=1) as writer:
        for _ in range(25):
            writer.write(frame)
    presenter = folder / "presenter.mp4"
    write_video((frame for _ in range(25)), presenter, SIZE, 25, audio_path=wav)
    return {"bulletin": bulletin, "presenter": presenter}


@pytest.mark.parametrize("name", ["bulletin", "presenter"])
def test_the_stream_is_bt709_and_decodes_to_the_colours_drawn(videos, name):
    path = videos[name]
    header = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True
    ).stderr
    assert re.search(r"yuv420p\(tv, bt709(, progressive|\))", header), header
    decoded = _ffmpeg_decoded(path)
    errors = np.abs(np.array(_centres(decoded)) - np.array(COLOURS))
    assert errors.max() <= 6, list(zip(COLOURS, _centres(decoded), strict=True))


PAGE = """<!doctype html><html><body style="margin:0">
<video id="v" muted playsinline src="{video}"></video><canvas id="c" width="{w}" height="{h}"></canvas>
<script>
const v = document.getElementById("v");
v.addEventListener("seeked", () => {{
  const c = document.getElementById("c").getContext("2d");
  c.drawImage(v, 0, 0);
  const out = [];
  for (const x of {xs}) {{ const d = c.getImageData(x, {y}, 1, 1).data; out.push([d[0], d[1], d[2]]); }}
  document.title = JSON.stringify(out);
}});
v.addEventListener("loadeddata", () => {{ v.currentTime = 0.5; }});
</script></body></html>"""


@pytest.mark.browser
def test_chromium_shows_the_level_colours_drawn(videos, tmp_path):
    """Decoded and drawn by Chromium (as on the daily page), served over HTTP on 127.0.0.1."""
    folder = videos["bulletin"].parent
    xs = [i * BAND + BAND // 2 for i in range(len(COLOURS))]
    (folder / "colour.html").write_text(
        PAGE.format(video="bulletin.mp4", w=SIZE[0], h=SIZE[1], xs=json.dumps(xs), y=SIZE[1] // 2)
    )
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    driver = chromium(tmp_path / "profile", 1280, 800, False)
    try:
        driver.get(f"http://127.0.0.1:{server.server_address[1]}/colour.html")
        deadline = time.monotonic() + 30
        while not driver.title.startswith("[") and time.monotonic() < deadline:
            time.sleep(0.1)
        shown = json.loads(driver.title)
    finally:
        driver.quit()
        server.shutdown()
    # Measured on these colours (CRF 23): tagged BT.709, red and green within 2 of what was
    # drawn, blue within 11 (x264's chroma quantisation and Chromium's own conversion), mean
    # 1.8; untagged BT.601 shown as BT.709, red and green up to 19 and 22 off, mean 5.6.
    errors = np.abs(np.array(shown) - np.array(COLOURS))
    assert errors[:, :2].max() <= 4 and errors[:, 2].max() <= 13, list(
        zip(COLOURS, shown, strict=True)
    )
    assert errors.mean() <= 3.0
