"""`bulletin daily` end to end: a real run, a rerun, `kill -9` and a rerun, a failing unit,
and the same run on a real dask LocalCluster of 2 workers.

Real parts throughout (espeak-ng, the procedural presenter, ffmpeg, dask); short templates
(tests/daily_templates/short: two sentences per bulletin) keep each unit to a few seconds of
speech, and one venue in two languages keeps the runs small.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bulletin.daily.lock import LOCK_NAME
from bulletin.daily.manifest import file_sha256
from bulletin.daily.run import OVERVIEW_FILES

from .clirun import REPO, run_cli
from .test_daily_config import write_config

pytestmark = [pytest.mark.media, pytest.mark.slow]

TEMPLATES = REPO / "tests" / "daily_templates"
VENUE = "genting-snow-park"
DAY = "2022-02-05"
RUN = Path("2022-02-04") / "12Z"  # the sample's init time: 2022-02-04 12 UTC
UNIT_FILES = (
    "indices.csv",
    "script.txt",
    "speech.wav",
    "timings.json",
    "subtitles.srt",
    "subtitles.vtt",
    "chart.png",
    "poster.png",
    "bulletin.mp4",
)


def make_config(folder: Path, templates: str = "short", **keys) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return write_config(
        folder,
        venues=[VENUE],
        languages=["zh", "en"],
        templates=str(TEMPLATES / templates),
        date=DAY,
        **keys,
    )


def daily(config: Path, *args: str) -> subprocess.CompletedProcess:
    return run_cli("daily", "--config", str(config), *args, timeout=900)


def hidden_entries(root: Path) -> list[Path]:
    """Every hidden file or folder under ``root`` but the lock: leftovers of a write."""
    return [path for path in root.rglob(".*") if path.name != LOCK_NAME]


def unit_hashes(run_folder: Path) -> dict[str, str]:
    """sha256 of every file in the unit and overview folders, by relative path."""
    return {
        str(path.relative_to(run_folder)): file_sha256(path)
        for path in sorted(run_folder.rglob("*"))
        if path.is_file() and path.parent != run_folder
    }


def manifest_of(run_folder: Path) -> dict:
    return json.loads((run_folder / "manifest.json").read_text(encoding="utf-8"))


def check_outputs_listed(run_folder: Path, manifest: dict) -> None:
    """The manifest's outputs are exactly the files there, with their sha256 and size."""
    for entry in manifest["units"] + manifest["overview"]:
        if entry["status"] == "failed":
            assert not (run_folder / entry["folder"]).exists()
            continue
        folder = run_folder / entry["folder"]
        assert sorted(entry["outputs"]) == sorted(p.name for p in folder.iterdir()), entry
        for name, record in entry["outputs"].items():
            assert record["sha256"] == file_sha256(folder / name)
            assert record["bytes"] == (folder / name).stat().st_size


def video_facts(path: Path) -> dict:
    """Streams, size, frame rate and duration of a video, from the ffmpeg imageio-ffmpeg ships."""
    import imageio_ffmpeg

    probe = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    text = probe.stderr
    hours, minutes, seconds = re.search(r"Duration: (\d+):(\d+):([\d.]+)", text).groups()
    video = re.search(r"Stream #\S+.*Video: (\w+).*?, (\d+)x(\d+).*?, ([\d.]+) fps", text)
    audio = re.search(r"Stream #\S+.*Audio: (\w+)", text)
    return {
        "duration": int(hours) * 3600 + int(minutes) * 60 + float(seconds),
        "video": video.group(1) if video else None,
        "size": (int(video.group(2)), int(video.group(3))) if video else None,
        "fps": float(video.group(4)) if video else None,
        "audio": audio.group(1) if audio else None,
    }


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """One real daily run (1 venue x 2 languages + 2 overviews), shared by the tests."""
    folder = tmp_path_factory.mktemp("daily")
    config = make_config(folder)
    result = daily(config)
    assert result.returncode == 0, result.stderr
    run_folder = folder / "out" / RUN
    return {
        "config": config,
        "result": result,
        "run_folder": run_folder,
        "manifest": manifest_of(run_folder),
        "hashes": unit_hashes(run_folder),
    }


def test_first_run_publishes_units_overviews_manifest_and_page(first_run):
    run_folder, manifest = first_run["run_folder"], first_run["manifest"]
    assert first_run["result"].stdout.strip() == str(run_folder / "index.html")
    assert (run_folder / "index.html").is_file()
    for lang in ("zh", "en"):
        for name in UNIT_FILES:
            assert (run_folder / VENUE / lang / name).is_file(), (lang, name)
        for name in OVERVIEW_FILES:
            assert (run_folder / "_overview" / lang / name).is_file(), (lang, name)
    assert manifest["tool"] == "spectator-bulletin"
    assert manifest["date"] == DAY
    assert manifest["forecast_init_utc"] == "2022-02-04T12:00:00Z"
    assert manifest["languages"] == ["zh", "en"]
    (source,) = manifest["inputs"]
    assert source["sha256"] == file_sha256(REPO / "samples" / "forecast_cf.nc")
    assert [(u["venue_id"], u["lang"], u["status"]) for u in manifest["units"]] == [
        (VENUE, "zh", "ok"),
        (VENUE, "en", "ok"),
    ]
    assert [(o["lang"], o["status"]) for o in manifest["overview"]] == [("zh", "ok"), ("en", "ok")]
    assert manifest["units"][0]["venue_name"] == {"en": "Genting Snow Park", "zh": "云顶滑雪公园"}
    for unit in manifest["units"]:
        assert unit["error"] is None
        assert unit["speech_seconds"] > 1.0
        assert set(unit["stage_seconds"]) >= {"script", "speech", "avatar", "compose"}
    # The engine that spoke each unit (the config names tts = "pyttsx3"), its voice and licence.
    assert [u["speech"]["voice"] for u in manifest["units"]] == ["cmn-latn-pinyin", "en-us"]
    for record in manifest["units"] + manifest["overview"]:
        assert record["speech"]["engine"] == "pyttsx3-espeak-ng"
        assert record["speech"]["licence"].startswith("GPL-3.0")
    assert manifest["stage_seconds"]["indices"] > 0
    check_outputs_listed(run_folder, manifest)
    assert hidden_entries(run_folder.parents[1]) == []
    # Every log line carries the run id.
    stderr = first_run["result"].stderr
    lines = [line for line in stderr.splitlines() if line.startswith("bulletin:")]
    assert lines and all(f"[{manifest['run_id']}]" in line for line in lines), lines[:5]


def test_off_a_terminal_the_log_is_plain_lines_without_bars(first_run):
    stderr = first_run["result"].stderr  # a pipe: no bars (bulletin.progress)
    assert "\x1b" not in stderr and "\r" not in stderr and "━" not in stderr
    lines = stderr.splitlines()
    assert lines and all(line.startswith("bulletin: ") for line in lines), lines[:5]
    assert any(" built (" in line for line in lines)


def test_video_of_the_run_is_valid(first_run):
    import soundfile

    folder = first_run["run_folder"] / VENUE / "en"
    facts = video_facts(folder / "bulletin.mp4")
    assert facts["video"] == "h264" and facts["audio"] == "aac"
    assert facts["size"] == (1280, 720) and facts["fps"] == 25
    speech = soundfile.info(str(folder / "speech.wav")).duration
    assert abs(facts["duration"] - speech) <= 0.1


def test_rerun_skips_everything_and_changes_nothing(first_run):
    result = daily(first_run["config"])
    assert result.returncode == 0, result.stderr
    run_folder = first_run["run_folder"]
    manifest = manifest_of(run_folder)
    assert {u["status"] for u in manifest["units"] + manifest["overview"]} == {"skipped"}
    assert manifest["previous_run_id"] == first_run["manifest"]["run_id"]
    assert unit_hashes(run_folder) == first_run["hashes"]
    # Skipped units still list their outputs, as the first run recorded them.
    assert [u["outputs"] for u in manifest["units"]] == [
        u["outputs"] for u in first_run["manifest"]["units"]
    ]
    check_outputs_listed(run_folder, manifest)


def test_kill_9_mid_run_then_rerun_completes(tmp_path):
    config = make_config(tmp_path)
    run_folder = tmp_path / "out" / RUN
    process = subprocess.Popen(
        [sys.executable, "-m", "bulletin", "daily", "--config", str(config)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 600
        while not (run_folder / VENUE / "zh").is_dir():
            assert process.poll() is None, "the run ended before its first unit appeared"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert process.poll() is None  # killed mid-run: three more bulletins to go
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == -signal.SIGKILL
    # Nothing half-written is visible: the units present are complete, no manifest or page.
    for lang in ("zh", "en"):
        unit = run_folder / VENUE / lang
        assert not unit.exists() or all((unit / name).is_file() for name in UNIT_FILES)
    assert not (run_folder / "manifest.json").exists()

    result = daily(config)
    assert result.returncode == 0, result.stderr
    manifest = manifest_of(run_folder)
    statuses = {(u["venue_id"], u["lang"]): u["status"] for u in manifest["units"]}
    assert statuses[(VENUE, "zh")] == "skipped"
    assert all(o["status"] == "ok" for o in manifest["overview"])
    check_outputs_listed(run_folder, manifest)
    assert hidden_entries(tmp_path / "out") == []


def test_failing_unit_exits_3_and_the_rest_is_published(tmp_path):
    config = make_config(tmp_path, templates="broken_zh")
    result = daily(config)
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    run_folder = tmp_path / "out" / RUN
    manifest = manifest_of(run_folder)
    units = {u["lang"]: u for u in manifest["units"]}
    assert units["zh"]["status"] == "failed"
    assert "no_such_value" in units["zh"]["error"] and "venue.zh.j2" in units["zh"]["error"]
    assert units["zh"]["outputs"] == {} and not (run_folder / VENUE / "zh").exists()
    assert units["en"]["status"] == "ok"
    assert all((run_folder / VENUE / "en" / name).is_file() for name in UNIT_FILES)
    assert (run_folder / "index.html").is_file()
    assert re.search(rf"{VENUE}/zh failed: .*no_such_value", result.stderr)
    check_outputs_listed(run_folder, manifest)
    assert hidden_entries(tmp_path / "out") == []


def test_local_cluster_of_2_workers_gives_the_same_bulletins(first_run, tmp_path):
    # English only (a unit and the overview, one on each worker): the test's cost stays low.
    config = make_config(tmp_path)
    config.write_text(
        config.read_text(encoding="utf-8").replace('["zh", "en"]', '["en"]'), encoding="utf-8"
    )
    result = daily(config, "--workers", "2")
    assert result.returncode == 0, result.stderr
    assert "local dask cluster of 2 worker" in result.stderr
    run_folder = tmp_path / "out" / RUN
    manifest = manifest_of(run_folder)
    assert {u["status"] for u in manifest["units"] + manifest["overview"]} == {"ok"}
    local = first_run["run_folder"]
    assert [(u["lang"], u["status"]) for u in manifest["units"]] == [("en", "ok")]
    for lang in ("en",):
        for name in ("indices.csv", "script.txt"):
            assert (run_folder / VENUE / lang / name).read_bytes() == (
                local / VENUE / lang / name
            ).read_bytes(), (lang, name)
        assert (run_folder / "_overview" / lang / "script.txt").read_bytes() == (
            local / "_overview" / lang / "script.txt"
        ).read_bytes()
        facts = video_facts(run_folder / VENUE / lang / "bulletin.mp4")
        assert (facts["video"], facts["audio"], facts["size"], facts["fps"]) == (
            "h264",
            "aac",
            (1280, 720),
            25,
        )
    check_outputs_listed(run_folder, manifest)


def test_local_workers_get_one_thread_and_glibcs_own_mmap_threshold():
    # dask's MALLOC_TRIM_THRESHOLD_ turns off glibc's dynamic mmap threshold, which made every
    # frame-sized array a fresh zeroed mmap (a venue bulletin 94 s instead of 60 s).
    from bulletin.daily.scale import _worker_environ

    environ = _worker_environ()
    assert "MALLOC_TRIM_THRESHOLD_" not in environ
    assert environ["OMP_NUM_THREADS"] == 1
    assert environ["NUMBA_NUM_THREADS"] == 1
