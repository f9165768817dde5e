"""The daily run's index.html: built from a manifest and real files, and opened in Chromium.

The unit tests render a page for a synthetic manifest over small real files (PNGs drawn with
Pillow, an MP4 and a WAV encoded by the ffmpeg binary imageio-ffmpeg ships, WebVTT text). The
browser tests serve that run folder, and one of a real daily run (``run_daily``: one venue in
Chinese built by ``build_venue_bulletin`` with the procedural presenter on the shipped sample
forecast, its overview, manifest and page), from a local http.server thread, open the page in
headless Debian Chromium through chromedriver at a phone's width, and check that every image
and poster decodes, every video and audio player loads its metadata, every subtitle track
loads, and nothing scrolls sideways.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import subprocess
import threading
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from bulletin.daily.manifest import file_sha256, write_manifest
from bulletin.daily.page import PageError, render_index_html, write_index_html
from bulletin.errors import BulletinError

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
HOSTILE = '<script>alert("x")</script> & "quotes" \'single\''


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _make_mp4(path: Path, seconds: float = 1.0) -> None:
    """A real H.264 + AAC MP4 (test pattern and a tone), moov atom first."""
    subprocess.run(
        [
            _ffmpeg(), "-v", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc=size=320x180:rate=25:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
            "-movflags", "+faststart", str(path),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip


def _make_wav(path: Path, seconds: float = 1.0) -> None:
    subprocess.run(
        [
            _ffmpeg(), "-v", "error", "-y",
            "-f", "lavfi", "-i", f"sine=frequency=330:duration={seconds}",
            "-ar", "22050", "-ac", "1", str(path),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip


def _make_png(path: Path, size: tuple[int, int], colour: str) -> None:
    Image.new("RGB", size, colour).save(path)


VTT = "WEBVTT\n\n00:00:00.000 --> 00:00:00.900\nHello, spectators\n"


def _outputs(folder: Path) -> dict:
    return {
        p.name: {"sha256": file_sha256(p), "bytes": p.stat().st_size}
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


def _make_unit_files(folder: Path, lang: str) -> None:
    folder.mkdir(parents=True)
    _make_png(folder / "poster.png", (640, 360), "#234")
    _make_png(folder / "chart.png", (800, 400), "#eee")
    _make_mp4(folder / "bulletin.mp4")
    _make_wav(folder / "speech.wav")
    (folder / "subtitles.vtt").write_text(VTT, encoding="utf-8")
    (folder / "subtitles.srt").write_text("1\n00:00:00,000 --> 00:00:00,900\nHello\n", "utf-8")
    (folder / "indices.csv").write_text("venue_id,time_utc\nv,2022-02-07T00:00Z\n", "utf-8")
    (folder / "script.txt").write_text(f"Bulletin in {lang}.\n", encoding="utf-8")
    (folder / "timings.json").write_text("{}\n", encoding="utf-8")


def _unit(run: Path, venue_id: str, lang: str, names: dict, **extra) -> dict:
    folder = run / venue_id / lang
    entry = {
        "venue_id": venue_id,
        "venue_name": names,
        "lang": lang,
        "status": "ok",
        "error": None,
        "folder": f"{venue_id}/{lang}",
        "outputs": _outputs(folder) if folder.is_dir() else {},
        "speech_seconds": 61.4,
        "stage_seconds": {"script": 0.1, "speech": 2.0, "avatar": 5.0, "compose": 30.0},
    }
    entry.update(extra)
    return entry


def _manifest(units: list, overview: list, languages=("zh", "en")) -> dict:
    return {
        "tool": "spectator-bulletin",
        "version": "0.1.0",
        "run_id": "20221107T053000Z-abc123",
        "started_utc": "2022-02-06T21:30:00+00:00",
        "finished_utc": "2022-02-06T21:41:07+00:00",
        "forecast_init_utc": "2022-02-04T12:00:00+00:00",
        "date": "2022-02-07",
        "languages": list(languages),
        "inputs": [{"path": "samples/forecast_cf.nc", "sha256": "0" * 64, "bytes": 1}],
        "config": {},
        "stage_seconds": {"indices": 3.2},
        "units": units,
        "overview": overview,
    }


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> tuple[Path, dict]:
    """A run folder with one complete venue in zh and en, a failed venue whose error text and
    name are hostile HTML, and an overview per language; and its manifest."""
    run = tmp_path_factory.mktemp("run") / "2022-02-04" / "12Z"
    names = {"en": "Genting Snow Park", "zh": "云顶滑雪公园"}
    units, overview = [], []
    for lang in ("zh", "en"):
        _make_unit_files(run / "genting-snow-park" / lang, lang)
        units.append(_unit(run, "genting-snow-park", lang, names))
        ov = run / "_overview" / lang
        ov.mkdir(parents=True)
        _make_wav(ov / "speech.wav")
        (ov / "script.txt").write_text(f"Overview {lang}: {HOSTILE}\n", encoding="utf-8")
        (ov / "subtitles.vtt").write_text(VTT, encoding="utf-8")
        overview.append(
            {"lang": lang, "status": "ok", "error": None, "folder": f"_overview/{lang}",
             "outputs": _outputs(ov)}
        )  # fmt: skip
    units.append(
        _unit(
            run, "big-air-shougang", "en", {"en": f"Big Air {HOSTILE}", "zh": "首钢滑雪大跳台"},
            status="failed", error=f"speech: espeak-ng failed {HOSTILE}", speech_seconds=None,
        )
    )  # fmt: skip
    manifest = _manifest(units, overview)
    write_manifest(run, manifest)
    return run, manifest


class _Page(HTMLParser):
    """Tags with their attributes and the text of the page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def attrs(self, tag: str) -> list[dict]:
        return [a for t, a in self.tags if t == tag]


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


@pytest.fixture(scope="module")
def small_page(small_run) -> tuple[Path, str, _Page]:
    run, manifest = small_run
    path = write_index_html(run, manifest)
    html = path.read_text(encoding="utf-8")
    return path, html, _parse(html)


def test_page_is_written_atomically_in_the_run_folder(small_run, small_page):
    run, _ = small_run
    path, html, _ = small_page
    assert path == run / "index.html"
    assert html.startswith("<!DOCTYPE html>")
    assert not [p.name for p in run.iterdir() if p.name.startswith(".")]


def test_every_link_is_relative_and_points_at_a_file_of_the_run(small_run, small_page):
    run, _, page = small_run[0], None, small_page[2]
    refs = [a["src"] for t, a in page.tags if "src" in a]
    refs += [a["href"] for t, a in page.tags if "href" in a and not a["href"].startswith("#")]
    refs += [a["poster"] for a in page.attrs("video") if "poster" in a]
    assert refs
    for ref in refs:
        assert "://" not in ref and not ref.startswith(("/", "//")), ref
        assert (run / ref).resolve().is_file(), ref
        assert (run / ref).resolve().is_relative_to(run.resolve()), ref


def test_no_external_resources_and_no_script(small_page):
    _, html, page = small_page
    assert not page.attrs("script")
    assert not page.attrs("link")  # styles are inline
    assert "http:" not in html and "https:" not in html
    assert "@import" not in html and "url(" not in html


def test_phone_layout_basics(small_page):
    _, html, page = small_page
    viewport = [a for a in page.attrs("meta") if a.get("name") == "viewport"]
    assert viewport and "width=device-width" in viewport[0]["content"]
    assert "max-width: 100%" in html  # media shrink to the screen
    assert "grid-template-columns" in html


def test_each_complete_unit_has_poster_video_subtitles_chart_and_csv(small_page):
    _, _, page = small_page
    videos = page.attrs("video")
    assert len(videos) == 2  # genting zh + en; the failed unit has none
    for video in videos:
        assert "controls" in video and video["preload"] == "metadata"
    sources = [a["src"] for a in page.attrs("source")]
    assert sources == ["genting-snow-park/en/bulletin.mp4", "genting-snow-park/zh/bulletin.mp4"]
    tracks = page.attrs("track")
    assert {(t["src"], t["srclang"], t["kind"]) for t in tracks} == {
        ("genting-snow-park/zh/subtitles.vtt", "zh-Hans", "subtitles"),
        ("genting-snow-park/en/subtitles.vtt", "en", "subtitles"),
    }
    # The poster is the video's face (not repeated as an image); the chart is an image.
    assert [v["poster"] for v in videos] == [
        "genting-snow-park/en/poster.png",
        "genting-snow-park/zh/poster.png",
    ]
    images = {a["src"]: a for a in page.attrs("img")}
    assert set(images) == {"genting-snow-park/en/chart.png", "genting-snow-park/zh/chart.png"}
    for image in images.values():
        assert (image["width"], image["height"]) == ("800", "400")  # space kept while loading
    hrefs = {a["href"] for a in page.attrs("a")}
    assert "genting-snow-park/zh/poster.png" in hrefs
    assert {"genting-snow-park/zh/indices.csv", "genting-snow-park/en/indices.csv"} <= hrefs
    assert {"_overview/zh/speech.wav", "_overview/en/script.txt"} <= hrefs
    assert [a["src"] for a in page.attrs("audio")] == [
        "_overview/en/speech.wav",
        "_overview/zh/speech.wav",
    ]


def test_header_shows_init_time_version_run_id_and_names(small_page):
    page = small_page[2]
    text = "".join(page.text)
    assert "2022-02-04 12:00 UTC" in text
    assert "spectator-bulletin 0.1.0" in text
    assert "20221107T053000Z-abc123" in text
    assert "云顶滑雪公园" in text and "Genting Snow Park" in text
    assert "AI" in text


def test_languages_are_sections_switched_without_script(small_page):
    _, _, page = small_page
    sections = page.attrs("section")
    # The default (first) language comes last, marked default; a :target rule shows others.
    assert [(s["id"], s["lang"], s["class"]) for s in sections] == [
        ("en", "en", "lang"),
        ("zh", "zh-Hans", "lang default"),
    ]
    nav = [a["href"] for a in page.attrs("a") if a.get("href", "").startswith("#")]
    assert nav == ["#zh", "#en"]


def test_failed_unit_shows_its_error_and_everything_is_escaped(small_page):
    _, html, page = small_page
    text = "".join(page.text)
    assert f"Failed: speech: espeak-ng failed {HOSTILE}" in text  # the parser unescapes
    assert f"Big Air {HOSTILE}" in text
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp;" in html
    assert f"Overview en: {HOSTILE}" in text  # the overview's script text, inline
    failed = [a for t, a in page.tags if t == "article" and a.get("class") == "failed"]
    assert [a["id"] for a in failed] == ["en-big-air-shougang"]


def test_a_listed_file_missing_on_disk_is_not_linked(small_run, tmp_path):
    run, manifest = small_run
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    (copy / "genting-snow-park" / "en" / "chart.png").unlink()
    (copy / "genting-snow-park" / "en" / "bulletin.mp4").unlink()
    page = _parse(render_index_html(copy, manifest))
    srcs = [a["src"] for a in page.attrs("img")]
    assert "genting-snow-park/en/chart.png" not in srcs
    assert "genting-snow-park/zh/chart.png" in srcs
    # No video: the poster shows on its own.
    assert [a["src"] for a in page.attrs("source")] == ["genting-snow-park/zh/bulletin.mp4"]
    assert "genting-snow-park/en/poster.png" in srcs


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"folder": "../outside"}, "units[0].folder '../outside' is not a relative folder"),
        ({"folder": "/etc"}, "units[0].folder '/etc' is not a relative folder"),
        ({"folder": "v/en/.."}, "units[0].folder 'v/en/..' is not a relative folder"),
        ({"status": "done"}, "units[0].status is 'done'"),
        ({"lang": None}, "units[0].lang must be a non-empty string"),
        ({"outputs": {"../x.png": {}}}, "unsafe file name '../x.png'"),
        ({"speech_seconds": "long"}, "units[0].speech_seconds must be a number"),
    ],
)
def test_bad_unit_entries_are_one_line_errors(small_run, change, message):
    run, manifest = small_run
    bad = json.loads(json.dumps(manifest))
    bad["units"][0].update(change)
    with pytest.raises(PageError, match=re.escape(message)) as err:
        write_index_html(run, bad)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("run_id", None, "manifest run_id must be a non-empty string"),
        ("languages", [], "manifest languages must be a non-empty list"),
        ("languages", ["en/../x"], "manifest languages must be a non-empty list"),
        ("forecast_init_utc", "yesterday", "forecast_init_utc is not an ISO 8601 time"),
        ("units", {"a": 1}, "manifest units must be a list of objects"),
    ],
)
def test_bad_manifest_keys_are_one_line_errors(small_run, tmp_path, key, value, message):
    run, manifest = small_run
    bad = {**manifest, key: value}
    before = sorted(p.name for p in run.iterdir())
    with pytest.raises(PageError, match=message):
        write_index_html(run, bad)
    assert sorted(p.name for p in run.iterdir()) == before  # no temp file left behind


def test_missing_run_folder_is_a_bulletin_error(small_run, tmp_path):
    _, manifest = small_run
    with pytest.raises(BulletinError, match="does not exist"):
        write_index_html(tmp_path / "absent", manifest)


# --- the page in a real browser --------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep pytest's output clean
        pass


@pytest.fixture(scope="module")
def served(request):
    """Serve a run folder over http on localhost in a thread; yields a function folder -> URL."""
    servers = []

    def serve(folder: Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/index.html"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Debian Chromium driven by chromedriver (no network, fresh profile)."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip("Debian chromium and chromium-driver are not installed (make installs them)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",  # we run as root in CI
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",  # the machine has no network: no update pings
        "--disable-component-update",
        "--disable-sync",
        "--autoplay-policy=no-user-gesture-required",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    # A phone's screen: 390 CSS px wide, a mobile viewport that honours <meta name=viewport>.
    options.add_experimental_option(
        "mobileEmulation",
        {"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 2, "mobile": True}},
    )
    # An explicit driver path: selenium then does not try to download one.
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    yield driver
    driver.quit()


# Everything the page loads, as the browser sees it (readyState 1 = HAVE_METADATA).
_MEDIA_STATE = """
return {
  images: [...document.images, ...(window.posters || [])].map(i => ({
      src: i.getAttribute('src'), complete: i.complete, width: i.naturalWidth})),
  media: [...document.querySelectorAll('video, audio')].map(m => ({
      src: m.currentSrc, state: m.readyState, duration: m.duration,
      error: m.error && m.error.code, width: m.videoWidth || 0})),
  tracks: [...document.querySelectorAll('track')].map(t => ({src: t.getAttribute('src'),
                                                            state: t.readyState})),
  overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
  width: document.documentElement.clientWidth,
};
"""


def _loaded(state: dict) -> bool:
    return (
        all(i["complete"] for i in state["images"])
        and all(m["state"] >= 1 or m["error"] for m in state["media"])
        and all(t["state"] >= 2 for t in state["tracks"])
    )


def _open_and_wait(driver, url: str) -> dict:
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    # Subtitle tracks that are not shown are not fetched; ask for them (hidden: not drawn).
    driver.execute_script(
        "document.querySelectorAll('track').forEach(t => t.track.mode = 'hidden')"
    )
    # A video's poster is not in document.images: load each one as an image to check it.
    driver.execute_script(
        "window.posters = [...document.querySelectorAll('video[poster]')].map(v => {"
        " const i = new Image(); i.src = v.getAttribute('poster'); return i; })"
    )
    WebDriverWait(driver, 60, poll_frequency=0.2).until(
        lambda d: _loaded(d.execute_script(_MEDIA_STATE))
    )
    return driver.execute_script(_MEDIA_STATE)


def _check_everything_loaded(state: dict, videos: int, audios: int) -> None:
    assert state["images"], "the page has no images"
    for image in state["images"]:
        assert image["width"] > 0, image
    media = state["media"]
    assert sum(m["width"] > 0 for m in media) == videos, media
    assert len(media) == videos + audios
    for item in media:
        assert item["error"] is None and item["state"] >= 1 and item["duration"] > 0, item
    assert all(t["state"] == 2 for t in state["tracks"]), state["tracks"]  # 2 = LOADED
    assert state["width"] == 390  # the phone's width, not a desktop layout
    assert state["overflow"] <= 0, "the page scrolls sideways on a phone"


@pytest.mark.browser
def test_small_page_loads_in_chromium(small_run, small_page, served, browser):
    run, _ = small_run
    url = served(run)
    state = _open_and_wait(browser, url)
    _check_everything_loaded(state, videos=2, audios=2)
    assert len(state["images"]) == 4  # 2 charts, 2 posters

    # The language switch: the default section shows first; #en shows English only.
    zh, en = (browser.find_element("id", lang) for lang in ("zh", "en"))
    assert zh.is_displayed() and not en.is_displayed()
    browser.get(url + "#en")
    assert browser.find_element("id", "en").is_displayed()
    assert not browser.find_element("id", "zh").is_displayed()


@pytest.fixture(scope="module")
def real_run(browser, tmp_path_factory) -> tuple[Path, dict]:
    """A real daily run: one venue in Chinese (the CJK path) with the procedural presenter on
    the shipped NetCDF sample, its overview, manifest and page (bulletin.daily.run_daily, which
    builds the unit with bulletin.unit.build_venue_bulletin). Asks for ``browser`` first so
    that nothing is built where Chromium is absent."""
    from bulletin.daily.config import parse_config
    from bulletin.daily.run import run_daily

    folder = tmp_path_factory.mktemp("daily")
    config = parse_config(
        {
            "forecast": str(Path(__file__).resolve().parents[1] / "samples" / "forecast_cf.nc"),
            "output": str(folder / "out"),
            "venues": ["genting-snow-park"],
            "languages": ["zh"],
            "avatar": "procedural",
            "tts": "pyttsx3",
            "date": "2022-02-05",
        },
        folder / "bulletin.toml",
    )
    result = run_daily(config)
    assert result.exit_code == 0, result.manifest
    return result.run_folder, result.manifest


@pytest.mark.browser
@pytest.mark.media
@pytest.mark.slow
def test_real_daily_page_loads_in_chromium(real_run, served, browser):
    run, manifest = real_run
    assert (run / "index.html").is_file()
    state = _open_and_wait(browser, served(run))
    # One unit: its chart and poster, its video; the overview's audio.
    _check_everything_loaded(state, videos=1, audios=1)
    assert len(state["images"]) == 2
    video = next(m for m in state["media"] if m["width"] > 0)
    assert video["width"] == 1280
    assert abs(video["duration"] - manifest["units"][0]["speech_seconds"]) <= 0.1
