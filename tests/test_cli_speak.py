"""``bulletin speak`` through the real command line, and the spoken length of real bulletins.

A spoken bulletin folder must agree with itself: ``script.txt`` is the text the speech stage
was given, ``script.tts.txt`` the words it said, the word timings and subtitles are the display
words of ``script.txt`` in order, and ``script.json`` gives every sentence (with the index it
is about) its time in ``speech.wav``. Each bad input ends in one line.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import wave
from pathlib import Path

import pytest
import srt
import webvtt

from bulletin import load_catalogue
from bulletin.pipeline import forecast_table
from bulletin.script import (
    ESTIMATE_TOLERANCE,
    SPOKEN_SECONDS,
    render_overview,
    render_script,
)
from bulletin.speech import SpeechRequest, read_timings, synthesize_many
from bulletin.speech.subtitles import LINE_LIMIT, join_words
from bulletin.spoken import normalize

from .clirun import REPO, run_cli

pytestmark = pytest.mark.media

SAMPLES = REPO / "samples"
YULONG_ARGS = (
    str(SAMPLES / "forecast_yulong_spring.nc"),
    "--venues-file",
    str(SAMPLES / "venues_yulong.csv"),
)
VENUE = "yulong-ganhaizi"
FILES = [
    "script.json",
    "script.tts.txt",
    "script.txt",
    "speech.wav",
    "subtitles.srt",
    "subtitles.vtt",
    "timings.json",
]


def _one_line_error(result, *fragments: str, code: int = 1) -> str:
    assert result.returncode == code, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("bulletin: error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


def _wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as reader:
        return reader.getnframes() / reader.getframerate()


@pytest.mark.parametrize(
    ("lang", "kind"),
    [("zh", "venue"), ("en", "overview")],
)
def test_spoken_bulletin_folder_agrees_with_itself(tmp_path, lang, kind):
    out = tmp_path / f"{kind}-{lang}"
    choice = ("--venue", VENUE) if kind == "venue" else ("--kind", "overview")
    result = run_cli(
        "speak", *YULONG_ARGS, *choice, "--lang", lang, "--tts", "pyttsx3", "-o", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == FILES  # no temporary file left behind

    display = (out / "script.txt").read_text(encoding="utf-8").removesuffix("\n")
    document = json.loads((out / "script.json").read_text(encoding="utf-8"))
    assert document["display_text"] == display and document["kind"] == kind
    spoken = normalize(display, lang)
    # The words said are the script's speech text.
    assert (out / "script.tts.txt").read_text(encoding="utf-8") == spoken.spoken + "\n"
    assert document["text"] == spoken.spoken

    timings = read_timings(out / "timings.json")  # checks order and bounds itself
    assert timings.lang == lang and timings.engine == "pyttsx3-espeak-ng"
    assert abs(_wav_seconds(out / "speech.wav") - timings.duration) < 1e-3
    # Word timings are the display words of script.txt, every one, in order.
    assert [w.text for w in timings.words] == [t.text for t in spoken.tokens]
    assert join_words([w.text for w in timings.words], lang) == display

    # Subtitles show exactly script.txt, within the line limits, in time order.
    cues = list(srt.parse((out / "subtitles.srt").read_text(encoding="utf-8")))
    vtt = webvtt.read(str(out / "subtitles.vtt"))
    assert [c.content for c in cues] == [c.text for c in vtt]
    lines = [line for cue in cues for line in cue.content.split("\n")]
    assert all(len(line) <= LINE_LIMIT[lang] for line in lines)
    assert join_words(lines, lang) == display
    assert all(a.end <= b.start for a, b in itertools.pairwise(cues))
    assert cues[-1].end.total_seconds() <= timings.duration + 1

    # Sentences: the script's, with the index each is about and its time in the audio.
    sentences = document["sentences"]
    assert [s["display"] for s in sentences] == [s.text for s in timings.sentences]
    assert [(s["start"], s["end"]) for s in sentences] == [
        (s.start, s.end) for s in timings.sentences
    ]
    assert {s["index"] for s in sentences} >= {"wind_chill", "goggles", "spectator"}
    assert document["speech"]["duration_s"] == timings.duration

    low, high = SPOKEN_SECONDS[kind]
    assert low <= timings.duration <= high, timings.duration
    assert f"spoke {timings.duration:.1f} s" in result.stderr


# -- spoken length of real bulletins -------------------------------------------------------------
@pytest.fixture(scope="module")
def beijing_scripts():
    """Every venue bulletin and overview of the full local days of the Beijing GRIB sample."""
    venues = load_catalogue()
    table = forecast_table([SAMPLES / "forecast_ecmwf.grib2"], venues)
    hours = table.groupby(table["time_local"].str.slice(0, 10))["time_local"].agg(
        lambda s: s.str.slice(11, 13).nunique()
    )
    full_days = [day for day, count in hours.items() if count == 24]
    assert full_days, "the Beijing sample has no full local day"
    scripts = []
    for day in full_days:
        for lang in ("zh", "en"):
            scripts += [render_script(table, v, lang=lang, date=day) for v in venues]
            scripts.append(render_overview(table, venues, lang=lang, date=day))
    return scripts


def test_real_speech_of_the_longest_and_shortest_bulletins_fits_the_issue(
    beijing_scripts, tmp_path
):
    """The estimate picks the extremes; espeak-ng must speak them inside the issue's range
    (venue 45-75 s, overview 60-90 s), and the estimate must be as good as it claims."""
    chosen = []
    for lang in ("zh", "en"):
        for kind in ("venue", "overview"):
            group = sorted(
                (s for s in beijing_scripts if s.lang == lang and s.kind == kind),
                key=lambda s: s.estimated_seconds,
            )
            chosen += [group[0], group[-1]]
    requests = [
        SpeechRequest(s.display_text, s.lang, tmp_path / f"{number}")
        for number, s in enumerate(chosen)
    ]
    results = synthesize_many(requests, jobs=2)
    for script, result in zip(chosen, results, strict=True):
        where = f"{script.kind} {script.venue_id} {script.date} {script.lang}"
        low, high = SPOKEN_SECONDS[script.kind]
        assert low <= result.duration_s <= high, f"{where}: spoken {result.duration_s:.1f} s"
        error = abs(script.estimated_seconds - result.duration_s) / result.duration_s
        assert error <= ESTIMATE_TOLERANCE, (
            f"{where}: estimated {script.estimated_seconds:.1f} s, spoken {result.duration_s:.1f}"
        )


# -- bad input -----------------------------------------------------------------------------------
def _speak(*extra: str, out: Path) -> subprocess.CompletedProcess:
    return run_cli("speak", *YULONG_ARGS, "--venue", VENUE, *extra, "-o", str(out))


def test_piper_cannot_speak_chinese(tmp_path):
    result = _speak("--lang", "zh", "--tts", "piper", out=tmp_path / "out")
    _one_line_error(result, "piper engine speaks English only", "pyttsx3", code=2)
    assert "reading" not in result.stderr


@pytest.mark.parametrize(
    ("extra", "fragments"),
    [
        (("--lang", "zh", "--voice", "cmn"), ("only cmn-latn-pinyin reads",)),
        (("--lang", "en", "--rate", "20"), ("rate 20 is outside 80-450",)),
    ],
)
def test_bad_voice_or_rate_fail_before_reading(tmp_path, extra, fragments):
    result = _speak("--tts", "pyttsx3", *extra, out=tmp_path / "out")  # espeak-ng's checks
    _one_line_error(result, *fragments, code=2)
    assert "reading" not in result.stderr


def test_unknown_voice_leaves_no_speech(tmp_path):
    out = tmp_path / "out"
    result = _speak("--lang", "en", "--tts", "pyttsx3", "--voice", "en-xx-nowhere", out=out)
    _one_line_error(result, "unknown espeak-ng voice 'en-xx-nowhere'", code=2)
    assert not out.exists()  # the failed command removes the folder it made


def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    result = _speak("--lang", "en", out=blocker / "speech")
    _one_line_error(result, "cannot write in output folder", str(blocker))


def test_missing_espeak_names_the_debian_packages(tmp_path):
    """The real command line in a process whose espeak-ng library name points nowhere (as on a
    machine without the Debian packages)."""
    code = (
        "import sys; import bulletin.speech.espeak as e; "
        "e.ESPEAK_LIBRARY = 'libespeak-ng-not-here.so.1'; "
        "from bulletin.cli import main; main(sys.argv[1:])"
    )
    args = ["speak", *YULONG_ARGS, "--venue", VENUE, "--lang", "en", "-o", str(tmp_path / "o")]
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        check=False,
    )
    _one_line_error(result, "espeak-ng is not installed", "espeak-ng libespeak-ng1")


def test_output_folder_is_required():
    result = run_cli("speak", *YULONG_ARGS, "--venue", VENUE, "--lang", "en")
    assert result.returncode == 2 and "Missing option '-o'" in result.stderr
