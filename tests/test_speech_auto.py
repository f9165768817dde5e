"""``auto``, the per-language engine choice: what it resolves to with and without the Mandarin
voice installed, the daily configuration's ``[tts]`` table, and what a unit records.

The voice folder of the "not installed" cases is a real empty folder (the ``voices_prefix`` of
:func:`bulletin.speech.resolve_engine`, as :func:`bulletin.speech.fastspeech2_engine.voices_dir`
reads it); the "installed" cases use the voice's real file names there, or this environment's
own install (``make voices-zh``).
"""

from __future__ import annotations

import json
import sys

import pytest

from bulletin.daily.config import ConfigError, load_config
from bulletin.daily.manifest import speech_voice
from bulletin.errors import SpeechUsageError
from bulletin.speech import check_request, engine_licence, fastspeech2_engine, resolve_engine
from bulletin.speech.synthesis import CONCRETE_ENGINES, ENGINES, piper_installed

from .clirun import REPO, run_cli
from .test_daily_config import write_config

VOICE_FILES = ("acoustic.onnx", "vocoder.onnx", "baker_mapper.json", "voice.json")


def test_auto_takes_piper_for_english_in_this_environment():
    # The dev and CI environment has the piper extra (pip install -e '.[piper]').
    assert piper_installed()
    assert resolve_engine("en", "auto") == "piper"
    assert resolve_engine("en") == "piper"


def test_auto_falls_back_to_espeak_ng_for_mandarin_without_its_voice(tmp_path):
    assert resolve_engine("zh", "auto", voices_prefix=tmp_path) == "pyttsx3"
    # A folder with only some of the voice's files is no voice either.
    folder = fastspeech2_engine.voices_dir(tmp_path) / fastspeech2_engine.VOICE_NAME
    folder.mkdir(parents=True)
    for name in VOICE_FILES[:2]:
        (folder / name).write_bytes(b"")
    assert resolve_engine("zh", "auto", voices_prefix=tmp_path) == "pyttsx3"
    for name in VOICE_FILES[2:]:
        (folder / name).write_bytes(b"")
    assert resolve_engine("zh", "auto", voices_prefix=tmp_path) == "fastspeech2"


def test_auto_follows_the_real_mandarin_install():
    installed = fastspeech2_engine.is_installed()
    assert installed == fastspeech2_engine.is_installed(sys.prefix)
    assert resolve_engine("zh", "auto") == ("fastspeech2" if installed else "pyttsx3")
    if not installed:
        pytest.skip("the Mandarin voice is not installed here (make voices-zh)")
    assert check_request("zh", engine="auto") == (None, None)  # fastspeech2's own defaults


def test_explicit_names_resolve_to_themselves_and_espeak_is_pyttsx3():
    for lang in ("zh", "en"):
        assert resolve_engine(lang, "espeak") == "pyttsx3"
        for engine in CONCRETE_ENGINES:
            assert resolve_engine(lang, engine) == engine
    assert set(ENGINES) == {"auto", "espeak", *CONCRETE_ENGINES}
    # espeak-ng's defaults are filled in, as for pyttsx3.
    assert check_request("zh", engine="espeak") == ("cmn-latn-pinyin", 220)
    assert check_request("en", engine="espeak") == check_request("en", engine="pyttsx3")


@pytest.mark.parametrize(
    ("lang", "engine", "needle"),
    [
        ("zh", "piper", "the piper engine speaks English only"),
        ("en", "fastspeech2", "the fastspeech2 engine speaks Chinese only"),
        ("en", "pipr", "unknown speech engine 'pipr'; did you mean 'piper'?"),
    ],
)
def test_an_engine_that_cannot_speak_the_language_is_a_usage_error(lang, engine, needle):
    with pytest.raises(SpeechUsageError, match=needle) as caught:
        check_request(lang, engine=engine)
    assert caught.value.exit_code == 2


def test_every_engine_has_a_licence():
    assert "CC0" in engine_licence("piper")
    assert "non-commercial" in engine_licence("fastspeech2")
    assert engine_licence("pyttsx3") == engine_licence("pyttsx3-espeak-ng")
    assert "GPL" in engine_licence("pyttsx3")


# -- the daily configuration ---------------------------------------------------------------------
def _config_with_table(tmp_path, table: str, **keys):
    path = write_config(tmp_path, tts=None, languages=["zh", "en"], **keys)
    path.write_text(path.read_text(encoding="utf-8") + table, encoding="utf-8")
    return path


def test_a_tts_table_names_an_engine_per_language(tmp_path):
    config = load_config(_config_with_table(tmp_path, '[tts]\nzh = "fastspeech2"\nen = "piper"\n'))
    assert config.tts == {"zh": "fastspeech2", "en": "piper"}
    assert (config.engine_for("zh"), config.engine_for("en")) == ("fastspeech2", "piper")
    assert config.to_manifest()["tts"] == {"zh": "fastspeech2", "en": "piper"}
    # A language the table leaves out is auto.
    config = load_config(_config_with_table(tmp_path, '[tts]\nzh = "espeak"\n'))
    assert (config.engine_for("zh"), config.engine_for("en")) == ("espeak", "auto")


def test_tts_is_one_engine_for_every_language(tmp_path):
    assert load_config(write_config(tmp_path, tts=None)).engine_for("en") == "auto"
    config = load_config(write_config(tmp_path, tts="pyttsx3"))
    assert (config.engine_for("zh"), config.engine_for("en")) == ("pyttsx3", "pyttsx3")


@pytest.mark.parametrize(
    ("table", "needle"),
    [
        (
            '[tts]\nzh = "fastspeech2"\neng = "piper"\n',
            "unknown config key 'tts.eng'; did you mean 'tts.en'? (languages: tts.en, tts.zh)",
        ),
        (
            '[tts]\nzh = "fastspeach2"\n',
            "config key 'tts.zh': unknown engine 'fastspeach2'; did you mean 'fastspeech2'?",
        ),
        ("[tts]\nen = 3\n", "config key 'tts.en' must be an engine name"),
        ("[tts]\n", "config table [tts] is empty"),
    ],
)
def test_bad_tts_tables_are_config_errors(tmp_path, table, needle):
    with pytest.raises(ConfigError) as caught:
        load_config(_config_with_table(tmp_path, table))
    assert needle in str(caught.value)
    assert caught.value.exit_code == 2


def test_one_engine_that_cannot_speak_a_configured_language_exits_2(tmp_path):
    # Checked before the forecast is read; the message says how to give each language its own.
    config = write_config(tmp_path, tts="piper", languages=["zh", "en"])
    result = run_cli("daily", "--config", str(config))
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("bulletin: error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "the piper engine speaks English only" in errors[0]
    assert "[tts] table" in errors[0]


# -- end to end: the engine a unit records --------------------------------------------------------
@pytest.mark.media
def test_speak_by_default_records_the_engine_voice_and_licence_of_each_language(tmp_path):
    # No --tts: the default engine is auto.
    out = tmp_path / "out"
    result = run_cli(
        "speak", str(REPO / "samples" / "forecast_yulong_spring.nc"),
        "--venues-file", str(REPO / "samples" / "venues_yulong.csv"),
        "--venue", "yulong-ganhaizi", "--lang", "all",
        "--templates", str(REPO / "tests" / "daily_templates" / "short"),
        "-o", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    expected = {"en": "piper", "zh": resolve_engine("zh", "auto")}
    for lang, engine in expected.items():
        folder = out / "yulong-ganhaizi" / lang
        label = "pyttsx3-espeak-ng" if engine == "pyttsx3" else engine
        timings = json.loads((folder / "timings.json").read_text(encoding="utf-8"))
        recorded = speech_voice(folder)  # what a daily run's manifest records of the unit
        assert recorded == {
            "engine": label,
            "voice": timings["voice"],
            "licence": engine_licence(label),
        }
        assert timings["engine"] == label
        assert f"{lang} speech: engine {engine} (auto), voice " in result.stderr


def test_every_entry_point_spells_the_same_engines_and_default():
    import inspect

    from bulletin import cli_options
    from bulletin.daily import config
    from bulletin.pipeline import speak_script
    from bulletin.speech import synthesis
    from bulletin.unit import build_venue_bulletin

    assert cli_options.SPEECH_ENGINES == config.ENGINES == synthesis.ENGINES
    defaults = {
        cli_options.DEFAULT_SPEECH_ENGINE,
        config.DEFAULT_ENGINE,
        config.DailyConfig.tts,
        inspect.signature(speak_script).parameters["engine"].default,
        inspect.signature(build_venue_bulletin).parameters["tts"].default,
    }
    assert defaults == {synthesis.DEFAULT_ENGINE} == {"auto"}
    # The speech call itself defaults to espeak-ng (every install has it).
    speech_defaults = {
        synthesis.SpeechRequest.engine,
        inspect.signature(synthesis.synthesize).parameters["engine"].default,
        inspect.signature(synthesis.check_request).parameters["engine"].default,
    }
    assert speech_defaults == {synthesis.SYNTHESIZE_DEFAULT_ENGINE} == {"pyttsx3"}
