"""The daily pages: a run's index.html, latest/ and the index of runs, built from manifests and
real files, and opened in Chromium.

The unit tests render pages for synthetic manifests over small real files
(:mod:`tests.dailysite`: PNG and JPEG pictures drawn with Pillow, MP4s and WAVs encoded by the
ffmpeg binary imageio-ffmpeg ships, WebVTT text). The browser tests serve that output root,
and one of a real daily run (``run_daily``: one venue in Chinese built by
``build_venue_bulletin`` with the procedural presenter on the shipped sample forecast, its
overview, manifest and pages), from a local http.server thread, open the pages in headless
Debian Chromium through chromedriver at a phone's width (390 CSS px) and a laptop's (1366),
and check that every image and poster decodes, every video and audio player loads its
metadata and has a visible height, every subtitle track loads, nothing scrolls sideways and
the main column fills most of the laptop's screen. Screenshots go to $PAGE_SHOTS when set.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import threading
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from bulletin.daily.page import (
    PageError,
    find_runs,
    local_time_text,
    page_record,
    render_index_html,
    write_index_html,
    write_site_pages,
)
from bulletin.errors import BulletinError
from tests.dailysite import AGENCY, HOSTILE, chromium, copy_run, make_small_run


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> tuple[Path, dict]:
    """A run folder ROOT/2022-02-04/12Z (tests.dailysite.make_small_run) and its manifest."""
    root = tmp_path_factory.mktemp("root")
    run = root / "2022-02-04" / "12Z"
    manifest = make_small_run(run, tmp_path_factory.mktemp("config"))
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
    write_site_pages(run.parent.parent)
    html = path.read_text(encoding="utf-8")
    return path, html, _parse(html)


def _check_links(page: _Page, folder: Path, root: Path) -> list[str]:
    """Every link of ``page`` (at ``folder``) is relative and names a file under ``root``."""
    refs = [a["src"] for t, a in page.tags if "src" in a]
    refs += [a["href"] for t, a in page.tags if "href" in a and not a["href"].startswith("#")]
    refs += [a["poster"] for a in page.attrs("video") if "poster" in a]
    assert refs
    for ref in refs:
        assert "://" not in ref and not ref.startswith(("/", "//")), ref
        path = (folder / ref.split("#")[0]).resolve()
        assert path.is_file(), ref
        assert path.is_relative_to(root.resolve()), ref
    return refs


def test_page_is_written_atomically_in_the_run_folder(small_run, small_page):
    run, _ = small_run
    path, html, _ = small_page
    assert path == run / "index.html"
    assert html.startswith("<!DOCTYPE html>")
    assert not [p.name for p in run.iterdir() if p.name.startswith(".")]


def test_every_link_is_relative_and_points_at_a_file_of_the_run(small_run, small_page):
    run, page = small_run[0], small_page[2]
    refs = _check_links(page, run, run.parent.parent)
    # Only the index of runs lies outside the run folder.
    outside = {ref for ref in refs if not (run / ref).resolve().is_relative_to(run.resolve())}
    assert outside == {"../../index.html#zh", "../../index.html#en"}


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
    assert len(videos) == 3  # genting zh + en, the zh overview; the failed unit has none
    for video in videos:
        assert "controls" in video and video["preload"] == "metadata"
    sources = [a["src"] for a in page.attrs("source")]
    assert sources == [
        "genting-snow-park/en/bulletin.mp4",
        "_overview/zh/overview.mp4",
        "genting-snow-park/zh/bulletin.mp4",
    ]
    tracks = page.attrs("track")
    assert {(t["src"], t["srclang"], t["kind"]) for t in tracks} == {
        ("genting-snow-park/zh/subtitles.vtt", "zh-Hans", "subtitles"),
        ("genting-snow-park/en/subtitles.vtt", "en", "subtitles"),
        ("_overview/zh/subtitles.vtt", "zh-Hans", "subtitles"),
    }
    # The poster is the video's face (not repeated as an image); the chart is an image; the
    # overview's face is its thumbnail.
    assert [v["poster"] for v in videos] == [
        "genting-snow-park/en/poster.png",
        "_overview/zh/thumbnail.jpg",
        "genting-snow-park/zh/poster.png",
    ]
    images = {a["src"]: a for a in page.attrs("img") if a.get("class") != "logo"}
    assert set(images) == {"genting-snow-park/en/chart.png", "genting-snow-park/zh/chart.png"}
    for image in images.values():
        assert (image["width"], image["height"]) == ("800", "400")  # space kept while loading
    hrefs = {a["href"] for a in page.attrs("a")}
    assert "genting-snow-park/zh/poster.png" in hrefs
    assert {"genting-snow-park/zh/indices.csv", "genting-snow-park/en/indices.csv"} <= hrefs
    assert {"_overview/zh/speech.wav", "_overview/en/script.txt"} <= hrefs
    # The overview with a video shows it; the one without shows its audio.
    assert [a["src"] for a in page.attrs("audio")] == ["_overview/en/speech.wav"]


def test_times_are_local_with_the_zone_named_and_no_run_id_or_version(small_page):
    _, html, page = small_page
    text = "".join(page.text)
    # Issued 2022-02-04 12:00 UTC, published 21:41 UTC: Beijing time is UTC+8.
    assert "起报时间: 2022-02-04 20:00 北京时间 (UTC+8)" in text
    assert "发布时间: 2022-02-07 05:41 北京时间 (UTC+8)" in text
    assert "Forecast issued: 2022-02-04 20:00 Beijing time (UTC+8)" in text
    assert "UTC " not in text.replace("(UTC+8)", "")
    # The run id and the tool's version stay in the manifest.
    assert "20221107T053000Z-abc123" not in html and "abc123" not in html
    assert "0.1.0" not in html and "spectator-bulletin" not in html
    assert not [a for a in page.attrs("meta") if a.get("name") == "generator"]
    assert "云顶滑雪公园" in text and "Genting Snow Park" in text
    assert "AI" in text


def test_agency_and_logo_from_the_page_record(small_run, small_page):
    run, manifest = small_run
    _, _, page = small_page
    text = "".join(page.text)
    assert manifest["page"]["logo"] == "logo.png"
    assert (run / "logo.png").is_file()
    logos = [a for a in page.attrs("img") if a.get("class") == "logo"]
    assert logos == [{"class": "logo", "src": "logo.png", "alt": AGENCY, "width": "240",
                      "height": "96"}]  # fmt: skip
    assert f"发布单位: {AGENCY}" in text and f"Issued by: {AGENCY}" in text
    html = small_page[1]
    title = re.search(r"<title>(.*?)</title>", html).group(1)
    assert title == f"{AGENCY} · 观赛气象服务 · Spectator weather bulletins 2022-02-07"
    heading = re.search(r"<h1>(.*?)</h1>", html).group(1)
    assert heading == "观赛气象服务 · Spectator weather bulletins 2022-02-07"  # agency shown once


def test_open_graph_metadata(small_page):
    _, _, page = small_page
    og = {}
    for meta in page.attrs("meta"):
        if "property" in meta:
            og.setdefault(meta["property"], []).append(meta["content"])
    assert og["og:type"] == ["website"]
    assert og["og:title"] == ["观赛气象服务 2022-02-07"]
    assert og["og:description"] == ["2022-02-07云顶滑雪公园观赛气象视频播报"]
    assert og["og:image"] == ["_overview/zh/thumbnail.jpg"]  # the overview's thumbnail
    assert (og["og:image:width"], og["og:image:height"]) == (["640"], ["360"])
    assert og["og:locale"] == ["zh_CN"] and og["og:locale:alternate"] == ["en_US"]
    assert og["og:site_name"] == [AGENCY]
    assert "og:url" not in og  # no site_url: no absolute address to give


def test_open_graph_addresses_are_absolute_with_a_site_url(small_run, tmp_path):
    run, manifest = small_run
    page = {**manifest["page"], "site_url": "https://example.org/bulletins/"}
    html = render_index_html(run, {**manifest, "page": page})
    og = {m["property"]: m["content"] for m in _parse(html).attrs("meta") if "property" in m}
    assert og["og:url"] == "https://example.org/bulletins/2022-02-04/12Z/index.html"
    assert (
        og["og:image"] == "https://example.org/bulletins/2022-02-04/12Z/_overview/zh/thumbnail.jpg"
    )


def test_open_graph_image_falls_back_to_a_venue_thumbnail(small_run):
    run, manifest = small_run
    html = render_index_html(run, {**manifest, "languages": ["en", "zh"]})
    og = {m["property"]: m["content"] for m in _parse(html).attrs("meta") if "property" in m}
    assert og["og:image"] == "genting-snow-park/en/thumbnail.jpg"  # the en overview has none
    assert og["og:locale"] == "en_US"
    assert (
        og["og:description"]
        == "Spectator weather video bulletins for Genting Snow Park, 2022-02-07"
    )


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
    assert [a["src"] for a in page.attrs("source")] == [
        "_overview/zh/overview.mp4",
        "genting-snow-park/zh/bulletin.mp4",
    ]
    assert "genting-snow-park/en/poster.png" in srcs
    # No overview video: its audio plays instead.
    (copy / "_overview" / "zh" / "overview.mp4").unlink()
    page = _parse(render_index_html(copy, manifest))
    assert [a["src"] for a in page.attrs("audio")] == [
        "_overview/en/speech.wav",
        "_overview/zh/speech.wav",
    ]


@pytest.mark.parametrize(
    ("zone", "lang", "expected"),
    [
        ("Asia/Shanghai", "zh", "2022-02-04 08:00 北京时间 (UTC+8)"),
        ("Asia/Shanghai", "en", "2022-02-04 08:00 Beijing time (UTC+8)"),
        ("Europe/Oslo", "en", "2022-02-04 01:00 CET (UTC+1)"),
        ("Asia/Kolkata", "en", "2022-02-04 05:30 IST (UTC+5:30)"),
        ("America/Denver", "en", "2022-02-03 17:00 MST (UTC-7)"),
        ("UTC", "zh", "2022-02-04 00:00 UTC"),
    ],
)
def test_local_time_text_names_the_zone_and_its_offset(zone, lang, expected):
    import datetime as dt
    from zoneinfo import ZoneInfo

    moment = dt.datetime(2022, 2, 4, 0, tzinfo=dt.UTC)
    assert local_time_text(moment, ZoneInfo(zone), lang) == expected


def test_summer_time_offsets_come_from_the_tz_database():
    import datetime as dt
    from zoneinfo import ZoneInfo

    moment = dt.datetime(2022, 7, 4, 0, tzinfo=dt.UTC)
    assert local_time_text(moment, ZoneInfo("Europe/Oslo"), "en") == "2022-07-04 02:00 CEST (UTC+2)"


@pytest.fixture(scope="module")
def site(small_run, tmp_path_factory) -> Path:
    """An output root of three runs: 2022-02-04/12Z (small_run), an older 2022-02-04/00Z and a
    2022-02-03/12Z in English only, with latest/ and the index of runs written."""
    run, manifest = small_run
    root = tmp_path_factory.mktemp("site")
    shutil.copytree(run, root / "2022-02-04" / "12Z")
    copy_run(run, root / "2022-02-04" / "00Z", manifest,
             forecast_init_utc="2022-02-04T00:00:00Z", date="2022-02-06")  # fmt: skip
    copy_run(run, root / "2022-02-03" / "12Z", manifest, languages=["en"],
             forecast_init_utc="2022-02-03T12:00:00Z", date="2022-02-05")  # fmt: skip
    (root / "opendata").mkdir()  # not a run folder
    for folder in find_runs(root):
        write_index_html(folder.folder, dict(folder.manifest))
    assert write_site_pages(root) == (root / "latest" / "index.html", root / "index.html")
    return root


def test_runs_are_found_newest_first(site):
    assert [run.href for run in find_runs(site)] == ["2022-02-04/12Z/", "2022-02-04/00Z/",
                                                     "2022-02-03/12Z/"]  # fmt: skip


def test_latest_is_a_copy_of_the_newest_run_page_with_links_into_its_folder(site):
    latest = site / "latest" / "index.html"
    html = latest.read_text(encoding="utf-8")
    page = _parse(html)
    refs = _check_links(page, latest.parent, site)
    assert "../2022-02-04/12Z/_overview/zh/overview.mp4" in refs
    assert "../index.html#zh" in refs
    assert not latest.is_symlink()
    # The same page as the run's own, but for where its links point.
    own = (site / "2022-02-04" / "12Z" / "index.html").read_text(encoding="utf-8")
    assert html.count("<video") == own.count("<video") == 3
    assert "2022-02-04 20:00 北京时间 (UTC+8)" in html
    assert not [p.name for p in latest.parent.iterdir() if p.name != "index.html"]


def test_index_of_runs_lists_every_run_newest_first(site):
    index = site / "index.html"
    page = _parse(index.read_text(encoding="utf-8"))
    refs = _check_links(page, site, site)
    runs = [a["href"] for a in page.attrs("a") if a.get("class") == "run"]
    # The English section (first in the page: zh is the default, last) lists all three runs.
    assert runs == [
        "2022-02-04/12Z/index.html#en", "2022-02-04/00Z/index.html#en",
        "2022-02-03/12Z/index.html#en",
        "2022-02-04/12Z/index.html#zh", "2022-02-04/00Z/index.html#zh",
    ]  # fmt: skip
    assert "latest/index.html#zh" in refs
    text = "".join(page.text)
    assert "起报时间: 2022-02-04 20:00 北京时间 (UTC+8)" in text
    assert "Forecast issued: 2022-02-03 20:00 Beijing time (UTC+8)" in text
    assert "成功 1 个，失败 0 个" in text and "1 ready, 1 failed" in text
    assert [a["src"] for a in page.attrs("img")] == ["2022-02-04/12Z/logo.png"]


def test_a_newer_run_becomes_latest(site, small_run, tmp_path):
    run, manifest = small_run
    root = tmp_path / "root"
    shutil.copytree(site, root)
    copy_run(run, root / "2022-02-05" / "00Z", manifest,
             forecast_init_utc="2022-02-05T00:00:00Z", date="2022-02-08")  # fmt: skip
    write_site_pages(root)
    html = (root / "latest" / "index.html").read_text(encoding="utf-8")
    assert "../2022-02-05/00Z/genting-snow-park/zh/bulletin.mp4" in html
    assert "2022-02-05/00Z/index.html#zh" in (root / "index.html").read_text(encoding="utf-8")


def test_a_run_the_page_cannot_show_is_left_out(site, small_run, tmp_path):
    run, manifest = small_run
    root = tmp_path / "root"
    shutil.copytree(site, root)
    copy_run(run, root / "2022-02-09" / "00Z", manifest, languages=[],
             forecast_init_utc="2022-02-09T00:00:00Z")  # fmt: skip
    write_site_pages(root)
    assert "../2022-02-04/12Z/" in (root / "latest" / "index.html").read_text(encoding="utf-8")
    assert "2022-02-09" not in (root / "index.html").read_text(encoding="utf-8")


def test_a_root_without_runs_gets_no_pages(tmp_path):
    assert write_site_pages(tmp_path) is None
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"logo": "logo.gif"}, "logo .*logo.gif must be one of .png, .jpg, .jpeg, .webp"),
        ({"logo": "absent.png"}, "logo .*absent.png does not exist"),
    ],
)
def test_bad_page_settings_are_one_line_errors(tmp_path, kwargs, message):
    if "logo" in kwargs:
        kwargs = {"logo": tmp_path / kwargs["logo"]}
        if kwargs["logo"].suffix == ".gif":
            kwargs["logo"].write_bytes(b"GIF89a")
    with pytest.raises(PageError, match=message):
        page_record(tmp_path, **kwargs)
    assert not list(tmp_path.glob("logo*.png"))


def test_config_keys_agency_logo_and_site_url(tmp_path):
    from bulletin.daily.config import ConfigError, parse_config

    (tmp_path / "art").mkdir()
    (tmp_path / "art" / "logo.png").write_bytes(b"")
    base = {"forecast": "f.nc", "output": "out"}
    config = parse_config({**base, "agency": " 北京市气象局 ", "logo": "art/logo.png",
                           "site_url": "https://example.org/b/"}, tmp_path / "b.toml")  # fmt: skip
    assert (config.agency, config.logo, config.site_url) == (
        "北京市气象局", tmp_path / "art" / "logo.png", "https://example.org/b/")  # fmt: skip
    assert parse_config(base, tmp_path / "b.toml").agency is None
    for bad, message in [
        ({"agency": ""}, "config key 'agency' must be a non-empty string"),
        ({"logo": "art/absent.png"}, "config key 'logo': .*absent.png is not a PNG"),
        ({"logo": "b.toml"}, "config key 'logo': .*b.toml is not a PNG"),
        ({"site_url": "example.org"}, "config key 'site_url' must be an http"),
    ]:
        with pytest.raises(ConfigError, match=message):
            parse_config({**base, **bad}, tmp_path / "b.toml")


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
        ("date", None, "manifest date must be a non-empty string"),
        ("page", {"timezone": "Nowhere/x"}, "unknown time zone 'Nowhere/x'"),
        ("page", {"logo": "../x.png"}, "manifest page.logo has an unsafe file name '../x.png'"),
        ("page", {"agency": 3}, "manifest page.agency must be a string"),
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
    """Serve a folder over http on localhost in a thread; yields a function folder -> URL of
    its index.html. (Seeking, which needs byte ranges, is tested on ``bulletin serve`` in
    tests/test_serve.py.)"""
    servers = []

    def serve(folder: Path, page: str = "index.html") -> str:
        handler = functools.partial(_QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/{page}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


#: The two screens the page is made for: a phone's (CSS px, a mobile viewport that honours
#: <meta name=viewport>) and a laptop's.
PHONE = (390, 844, True)
LAPTOP = (1366, 768, False)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Debian Chromium at a phone's width (no network, fresh profile)."""
    driver = chromium(tmp_path_factory.mktemp("chromium-phone"), *PHONE)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def laptop(tmp_path_factory):
    """Headless Debian Chromium at a laptop's width."""
    driver = chromium(tmp_path_factory.mktemp("chromium-laptop"), *LAPTOP)
    yield driver
    driver.quit()


# Everything the page loads, as the browser sees it (readyState 1 = HAVE_METADATA), and the
# size each picture and player takes on the screen.
_MEDIA_STATE = """
const section = document.querySelector('section.lang:target')
  || document.querySelector('section.lang.default');
const box = e => e.getBoundingClientRect();
return {
  images: [...document.images, ...(window.posters || [])].map(i => ({
      src: i.getAttribute('src'), complete: i.complete, width: i.naturalWidth})),
  media: [...document.querySelectorAll('video, audio')].map(m => ({
      src: m.currentSrc, state: m.readyState, duration: m.duration,
      error: m.error && m.error.code, width: m.videoWidth || 0})),
  tracks: [...document.querySelectorAll('track')].map(t => ({src: t.getAttribute('src'),
                                                            state: t.readyState})),
  shown: section ? section.id : null,
  // Every picture and player of the section on show, and the header's logo.
  sizes: [...(section ? section.querySelectorAll('img, video, audio') : []),
          ...document.querySelectorAll('header img')].map(e => ({
      tag: e.tagName.toLowerCase(), src: e.currentSrc || e.getAttribute('src'),
      width: box(e).width, height: box(e).height, right: box(e).right})),
  column: section && section.querySelector('.units')
      ? box(section.querySelector('.units')).width : null,
  columns: section && section.querySelector('.units')
      ? getComputedStyle(section.querySelector('.units')).gridTemplateColumns.split(' ').length
      : null,
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


def _check_everything_loaded(state: dict, videos: int, audios: int, width: int) -> None:
    assert state["images"], "the page has no images"
    for image in state["images"]:
        assert image["width"] > 0, image
    media = state["media"]
    assert sum(m["width"] > 0 for m in media) == videos, media
    assert len(media) == videos + audios
    for item in media:
        assert item["error"] is None and item["state"] >= 1 and item["duration"] > 0, item
    assert all(t["state"] == 2 for t in state["tracks"]), state["tracks"]  # 2 = LOADED
    assert state["width"] == width  # the screen's width: a phone gets no desktop layout
    assert state["overflow"] <= 0, "the page scrolls sideways"


def _check_visible_sizes(state: dict, width: int) -> None:
    """Every picture and player of the section on show has a height and fits the screen."""
    assert state["sizes"], state
    for element in state["sizes"]:
        assert element["height"] > 0 and element["width"] > 0, element
        assert element["right"] <= width + 0.5, element


def _screenshot(driver, name: str, screen: tuple[int, int, bool]) -> None:
    """A full-page PNG in $PAGE_SHOTS (when set), for people to look at."""
    folder = os.environ.get("PAGE_SHOTS")
    if not folder:
        return
    width, height, mobile = screen
    full = driver.execute_script("return document.documentElement.scrollHeight")
    metrics = {"width": width, "deviceScaleFactor": 1, "mobile": mobile}
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {**metrics, "height": min(full, 8000)}
    )
    Path(folder).mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(Path(folder) / f"{name}.png"))
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {**metrics, "height": height, "deviceScaleFactor": 2 if mobile else 1},
    )


@pytest.mark.browser
@pytest.mark.parametrize("screen", [PHONE, LAPTOP], ids=["phone-390", "laptop-1366"])
def test_small_page_loads_in_chromium(small_run, small_page, served, browser, laptop, screen):
    run, _ = small_run
    driver = browser if screen is PHONE else laptop
    width = screen[0]
    url = served(run.parent.parent, "2022-02-04/12Z/index.html")
    state = _open_and_wait(driver, url)
    # 2 venue videos and the zh overview's; the en overview's audio.
    _check_everything_loaded(state, videos=3, audios=1, width=width)
    assert len(state["images"]) == 6  # 2 charts, the logo; 2 posters, the overview's face
    assert state["shown"] == "zh"
    _check_visible_sizes(state, width)
    _screenshot(driver, f"run-zh-{width}", screen)
    if screen is LAPTOP:
        # The main column uses most of the screen, in two columns of venues.
        assert state["column"] >= 0.9 * width, state["column"]
        assert state["columns"] >= 2
    else:
        assert state["columns"] == 1

    # The language switch: the default section shows first; #en shows English only, with
    # its own players (the overview's audio) visible too.
    zh, en = (driver.find_element("id", lang) for lang in ("zh", "en"))
    assert zh.is_displayed() and not en.is_displayed()
    driver.get(url + "#en")
    assert driver.find_element("id", "en").is_displayed()
    assert not driver.find_element("id", "zh").is_displayed()
    state = driver.execute_script(_MEDIA_STATE)
    assert state["shown"] == "en"
    _check_visible_sizes(state, width)
    audio = [e for e in state["sizes"] if e["tag"] == "audio"]
    assert len(audio) == 1 and audio[0]["height"] >= 30, audio  # a usable player
    _screenshot(driver, f"run-en-{width}", screen)


@pytest.mark.browser
@pytest.mark.parametrize("screen", [PHONE, LAPTOP], ids=["phone-390", "laptop-1366"])
def test_latest_and_index_of_runs_load_in_chromium(site, served, browser, laptop, screen):
    driver = browser if screen is PHONE else laptop
    width = screen[0]
    state = _open_and_wait(driver, served(site, "latest/index.html"))
    _check_everything_loaded(state, videos=3, audios=1, width=width)
    _check_visible_sizes(state, width)
    state = _open_and_wait(driver, served(site, "index.html"))
    assert state["overflow"] <= 0 and state["width"] == width
    _check_visible_sizes(state, width)  # the logo
    _screenshot(driver, f"runs-{width}", screen)
    driver.find_element("css selector", "section.default a.run").click()
    assert driver.current_url.endswith("/2022-02-04/12Z/index.html#zh")


@pytest.fixture(scope="module")
def real_run(browser, tmp_path_factory) -> tuple[Path, dict]:
    """A real daily run: one venue in Chinese (the CJK path) with the procedural presenter on
    the shipped NetCDF sample, its overview, manifest and pages (bulletin.daily.run_daily,
    which builds the unit with bulletin.unit.build_venue_bulletin), issued by an agency with
    a logo. Asks for ``browser`` first so that nothing is built where Chromium is absent."""
    from bulletin.daily.config import parse_config
    from bulletin.daily.run import run_daily
    from tests.dailysite import make_picture

    folder = tmp_path_factory.mktemp("daily")
    make_picture(folder / "logo.png", (200, 80), "#036")
    config = parse_config(
        {
            "forecast": str(Path(__file__).resolve().parents[1] / "samples" / "forecast_cf.nc"),
            "output": str(folder / "out"),
            "venues": ["genting-snow-park"],
            "languages": ["zh"],
            "avatar": "procedural",
            "tts": "pyttsx3",
            "date": "2022-02-05",
            "agency": AGENCY,
            "logo": "logo.png",
        },
        folder / "bulletin.toml",
    )
    result = run_daily(config)
    assert result.exit_code == 0, result.manifest
    return result.run_folder, result.manifest


@pytest.mark.browser
@pytest.mark.media
@pytest.mark.slow
def test_real_daily_page_loads_in_chromium(real_run, served, browser, laptop):
    run, manifest = real_run
    root = run.parent.parent
    assert (run / "index.html").is_file() and (run / "logo.png").is_file()
    assert manifest["page"] == {"agency": AGENCY, "logo": "logo.png", "timezone": "Asia/Shanghai",
                                "site_url": None}  # fmt: skip
    assert (root / "index.html").is_file() and (root / "latest" / "index.html").is_file()
    unit = run / manifest["units"][0]["folder"]
    with Image.open(unit / "thumbnail.jpg") as thumbnail:
        assert thumbnail.size == (640, 360)
    overview_video = (run / manifest["overview"][0]["folder"] / "overview.mp4").is_file()
    html = (run / "index.html").read_text(encoding="utf-8")
    assert "北京时间 (UTC+8)" in html and manifest["run_id"] not in html
    assert 'property="og:image"' in html
    for driver, screen in ((browser, PHONE), (laptop, LAPTOP)):
        state = _open_and_wait(driver, served(root, "latest/index.html"))
        # One unit: its chart and poster, its video; the overview's video or audio; the logo.
        videos = 1 + overview_video
        _check_everything_loaded(state, videos=videos, audios=2 - videos, width=screen[0])
        _check_visible_sizes(state, screen[0])
        _screenshot(driver, f"real-{screen[0]}", screen)
        video = next(m for m in state["media"] if "genting" in m["src"])
        assert video["width"] == 1280
        assert abs(video["duration"] - manifest["units"][0]["speech_seconds"]) <= 0.1
