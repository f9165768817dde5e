"""A small daily output root made of real files, and headless Chromium, for the page tests.

The files are real: PNG and JPEG pictures drawn with Pillow, H.264/AAC MP4s and WAVs encoded by
the ffmpeg binary imageio-ffmpeg ships, WebVTT text; the manifests are written by
bulletin.daily.manifest and the logo copied by bulletin.daily.page.page_record, as a daily run
does. Chromium is Debian's, driven through chromedriver by selenium.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from bulletin.daily.manifest import file_sha256, write_manifest
from bulletin.daily.page import page_record

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
HOSTILE = '<script>alert("x")</script> & "quotes" \'single\''
VTT = "WEBVTT\n\n00:00:00.000 --> 00:00:00.900\nHello, spectators\n"
AGENCY = "北京市气象局 Beijing Meteorological Service"


def ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def make_mp4(path: Path, seconds: float = 1.0) -> None:
    """A real H.264 + AAC MP4 (test pattern and a tone), moov atom first."""
    subprocess.run(
        [
            ffmpeg(), "-v", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc=size=320x180:rate=25:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "25", "-c:a", "aac", "-shortest",
            "-movflags", "+faststart", str(path),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip


def make_wav(path: Path, seconds: float = 1.0) -> None:
    subprocess.run(
        [
            ffmpeg(), "-v", "error", "-y",
            "-f", "lavfi", "-i", f"sine=frequency=330:duration={seconds}",
            "-ar", "22050", "-ac", "1", str(path),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip


def make_picture(path: Path, size: tuple[int, int], colour: str) -> None:
    Image.new("RGB", size, colour).save(path)


def outputs(folder: Path) -> dict:
    return {
        p.name: {"sha256": file_sha256(p), "bytes": p.stat().st_size}
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


def make_unit_files(folder: Path, lang: str, video_seconds: float = 1.0) -> None:
    folder.mkdir(parents=True)
    make_picture(folder / "poster.png", (640, 360), "#234")
    make_picture(folder / "chart.png", (800, 400), "#eee")
    make_picture(folder / "thumbnail.jpg", (640, 360), "#345")
    make_mp4(folder / "bulletin.mp4", video_seconds)
    make_wav(folder / "speech.wav")
    (folder / "subtitles.vtt").write_text(VTT, encoding="utf-8")
    (folder / "subtitles.srt").write_text("1\n00:00:00,000 --> 00:00:00,900\nHello\n", "utf-8")
    (folder / "indices.csv").write_text("venue_id,time_utc\nv,2022-02-07T00:00Z\n", "utf-8")
    (folder / "script.txt").write_text(f"Bulletin in {lang}.\n", encoding="utf-8")
    (folder / "timings.json").write_text("{}\n", encoding="utf-8")


def unit_entry(run: Path, venue_id: str, lang: str, names: dict, **extra) -> dict:
    folder = run / venue_id / lang
    entry = {
        "venue_id": venue_id,
        "venue_name": names,
        "lang": lang,
        "status": "ok",
        "error": None,
        "folder": f"{venue_id}/{lang}",
        "outputs": outputs(folder) if folder.is_dir() else {},
        "speech_seconds": 61.4,
        "stage_seconds": {"script": 0.1, "speech": 2.0, "avatar": 5.0, "compose": 30.0},
    }
    entry.update(extra)
    return entry


def manifest_of(units: list, overview: list, languages=("zh", "en"), **extra) -> dict:
    manifest = {
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
    manifest.update(extra)
    return manifest


def make_small_run(run: Path, logo_folder: Path, video_seconds: float = 1.0) -> dict:
    """A run folder with one complete venue in zh and en, a failed venue whose error text and
    name are hostile HTML, an overview per language (a video in zh, audio only in en), the
    agency and a logo; returns its manifest (also written)."""
    names = {"en": "Genting Snow Park", "zh": "云顶滑雪公园"}
    units, overview = [], []
    for lang in ("zh", "en"):
        make_unit_files(run / "genting-snow-park" / lang, lang, video_seconds)
        units.append(unit_entry(run, "genting-snow-park", lang, names))
        folder = run / "_overview" / lang
        folder.mkdir(parents=True)
        make_wav(folder / "speech.wav")
        if lang == "zh":
            make_mp4(folder / "overview.mp4", video_seconds)
            make_picture(folder / "thumbnail.jpg", (640, 360), "#456")
        (folder / "script.txt").write_text(f"Overview {lang}: {HOSTILE}\n", encoding="utf-8")
        (folder / "subtitles.vtt").write_text(VTT, encoding="utf-8")
        overview.append(
            {"lang": lang, "status": "ok", "error": None, "folder": f"_overview/{lang}",
             "outputs": outputs(folder)}
        )  # fmt: skip
    units.append(
        unit_entry(
            run, "big-air-shougang", "en", {"en": f"Big Air {HOSTILE}", "zh": "首钢滑雪大跳台"},
            status="failed", error=f"speech: espeak-ng failed {HOSTILE}", speech_seconds=None,
        )
    )  # fmt: skip
    logo = logo_folder / "agency-logo.png"
    if not logo.exists():
        logo_folder.mkdir(parents=True, exist_ok=True)
        make_picture(logo, (240, 96), "#c00")
    run.mkdir(parents=True, exist_ok=True)
    page = page_record(run, timezone="Asia/Shanghai", agency=AGENCY, logo=logo)
    manifest = manifest_of(units, overview, page=page)
    write_manifest(run, manifest)
    return manifest


def copy_run(source: Path, target: Path, manifest: dict, **changes) -> dict:
    """A copy of a run folder under another init time, its manifest changed by ``changes``."""
    shutil.copytree(source, target)
    changed = {**manifest, **changes}
    write_manifest(target, changed)
    return changed


def chromium(profile: Path, width: int, height: int, mobile: bool):
    """Headless Debian Chromium with a ``width`` x ``height`` CSS px viewport (a phone's, with
    <meta name=viewport> honoured, when ``mobile``); skips where it is not installed."""
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
        "--hide-scrollbars",
        "--autoplay-policy=no-user-gesture-required",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    metrics = {"width": width, "height": height, "pixelRatio": 2 if mobile else 1, "mobile": mobile}
    options.add_experimental_option("mobileEmulation", {"deviceMetrics": metrics})
    # An explicit driver path: selenium then does not try to download one.
    return webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
