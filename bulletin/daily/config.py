"""The TOML configuration of ``bulletin daily`` and ``bulletin schedule``.

::

    # bulletin.toml (relative paths are relative to this file's folder)
    forecast = "/data/ecmwf/{date:%Y%m%d}/*.grib2"   # a path, a glob, or a list of them
    output = "/srv/bulletins"                         # the output root
    venues = ["genting-snow-park", "big-air-shougang"]   # absent: every venue
    venues_file = "venues.csv"                        # optional: replaces the catalogue
    languages = ["zh", "en"]                          # default: both
    avatar = "procedural"                             # default | procedural | a twin checkpoint
    tts = "auto"                                      # auto | pyttsx3 | espeak | piper | fastspeech2
    voice = "cmn"                                     # optional voice name
    loudness_lufs = -23                               # speech loudness (default: EBU R128's)
    date = 2022-02-05                                 # optional local day of the bulletins
    templates = "my-templates"                        # optional template folder
    agency = "Beijing Meteorological Service"         # optional: the issuing agency, on the page
    logo = "logo.png"                                 # optional: its logo (PNG, JPEG or WebP)
    site_url = "https://example.org/bulletins/"       # optional: where the output root is served

``tts`` names the speech engine of every language (default ``pyttsx3``, espeak-ng; ``auto``:
per language the natural voice that is installed, else espeak-ng; ``piper`` speaks English
only, ``fastspeech2`` Chinese only), or is a table of engines by language, ``auto`` for a
language it leaves out::

    [tts]
    zh = "fastspeech2"
    en = "piper"

``forecast = "ecmwf-opendata:ifs"`` (or ``ecmwf-opendata:aifs``, ``ecmwf-opendata:ens``)
fetches the latest complete run of ECMWF open data instead (:mod:`bulletin.readers.opendata`),
tuned by an optional ``[opendata]`` table::

    [opendata]
    source = "ecmwf"            # ecmwf | aws | azure | google | a base URL
    cache = "forecast-cache"    # default: <output>/opendata; runs in <model>/<YYYYMMDD>/<HH>z/
    retries = 4                 # retries of a failing request
    retry_wait = 10             # seconds before the first retry, doubling ...
    retry_max_wait = 160        # ... up to this
    incomplete = "wait"         # wait (exit 75) | previous (the newest complete run)
    times = [0, 12]             # run hours (UTC) to use; default: every run of the model
    search_hours = 48           # how far back to look for a run
    resol = "0p25"

Forecast patterns may hold ``{date:FORMAT}`` and ``{yesterday:FORMAT}`` placeholders (Python
``strftime`` formats), filled from the bulletin day (``--date``, else ``date`` here, else
today in the first venue's timezone) and the day before it: a run at 05:30 Beijing time
finds the previous evening's 12 UTC run under ``{yesterday:%Y%m%d}``.

An unknown key, a value of the wrong type or an unknown language is a :class:`ConfigError`
naming the key (exit code 2, like any usage error).
"""

from __future__ import annotations

import datetime as dt
import os
import string
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avatar import DEFAULT_AVATAR

from ..errors import BulletinError, UsageError, unknown_name
from ..readers.opendata import (
    INCOMPLETE_POLICIES,
    MODELS,
    NAMED_SOURCES,
    PREFIX,
    OpenDataSettings,
    model_of,
)

#: Languages a bulletin can be written in (bulletin.wording.LANGUAGES).
LANGUAGES = ("zh", "en")
#: Speech engines (bulletin.speech.synthesis.ENGINES) and the default one
#: (bulletin.speech.synthesis.DEFAULT_ENGINE), spelled here so that reading a configuration
#: does not import the speech stage.
ENGINES = ("auto", "pyttsx3", "espeak", "piper", "fastspeech2")
DEFAULT_ENGINE = "auto"
#: The engine of a language a ``[tts]`` table leaves out.
TABLE_DEFAULT_ENGINE = "auto"
#: The placeholders a forecast pattern may hold: the bulletin day and the day before it.
PLACEHOLDERS = ("date", "yesterday")


class ConfigError(UsageError):
    """The configuration file is unreadable or holds an unknown key or a wrong value (a usage
    error: exit code 2)."""


@dataclass(frozen=True)
class DailyConfig:
    """A parsed configuration; paths are absolute (resolved against the file's folder), the
    forecast patterns still hold their placeholders (:meth:`forecast_patterns` fills them)."""

    source: Path
    forecast: tuple[str, ...]
    output: Path
    venues: tuple[str, ...] = ()
    venues_file: Path | None = None
    languages: tuple[str, ...] = LANGUAGES
    avatar: str = DEFAULT_AVATAR
    tts: str | dict[str, str] = DEFAULT_ENGINE  # one engine, or engines by language
    voice: str | None = None
    loudness_lufs: float = -23.0
    date: dt.date | None = None
    templates: Path | None = None
    opendata: OpenDataSettings | None = None
    agency: str | None = None
    logo: Path | None = None
    site_url: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    def forecast_patterns(self, day: dt.date) -> list[str]:
        """The forecast paths or globs with ``{date:...}``/``{yesterday:...}`` filled in for
        the bulletin ``day``."""
        values = {"date": day, "yesterday": day - dt.timedelta(days=1)}
        return [pattern.format_map(values) for pattern in self.forecast]

    def engine_for(self, lang: str) -> str:
        """The speech engine of ``lang``: ``tts``, or its entry in the ``[tts]`` table
        (:data:`TABLE_DEFAULT_ENGINE` when the table leaves it out)."""
        if isinstance(self.tts, str):
            return self.tts
        return self.tts.get(lang, TABLE_DEFAULT_ENGINE)

    def to_manifest(self) -> dict[str, Any]:
        """The configuration as given (JSON-ready), with the file it came from."""
        data = {key: _jsonable(value) for key, value in self.raw.items()}
        return {"file": str(self.source), **data}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    return value


def _string(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"config key {key!r} must be a non-empty string, not {value!r}")
    return value


def _strings(key: str, value: Any, *, allow_single: bool) -> tuple[str, ...]:
    if allow_single and isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        kind = "a string or a list of strings" if allow_single else "a list of strings"
        raise ConfigError(f"config key {key!r} must be {kind}, not {value!r}")
    return tuple(value)


def _check_placeholders(pattern: str) -> None:
    """Only ``{date:...}`` and ``{yesterday:...}`` placeholders (with a strftime format)."""
    try:
        fields = list(string.Formatter().parse(pattern))
    except ValueError as exc:
        raise ConfigError(f"config key 'forecast': bad placeholder in {pattern!r}: {exc}") from None
    for _, name, spec, conversion in fields:
        if name is None:
            continue
        if name not in PLACEHOLDERS or conversion:
            raise ConfigError(
                f"config key 'forecast': unknown placeholder {{{name}}} in {pattern!r}; "
                "use {date:%Y%m%d} or {yesterday:%Y%m%d} ('{{' for a literal brace)"
            )
        if not spec:
            raise ConfigError(
                f"config key 'forecast': placeholder {{{name}}} in {pattern!r} needs a "
                f"strftime format, e.g. {{{name}:%Y%m%d}}"
            )


def _resolve(folder: Path, value: str) -> Path:
    """``value`` (``~`` expanded) relative to ``folder``, with ``..`` folded away."""
    path = Path(value).expanduser()
    return Path(os.path.normpath(path if path.is_absolute() else folder / path))


def parse_config(data: dict[str, Any], source: Path) -> DailyConfig:
    """Check the keys and values of a loaded TOML document (see the module docstring)."""
    known = {
        "forecast",
        "output",
        "venues",
        "venues_file",
        "languages",
        "avatar",
        "tts",
        "voice",
        "loudness_lufs",
        "date",
        "templates",
        "opendata",
        "agency",
        "logo",
        "site_url",
    }
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            unknown_name("unknown config key", unknown[0], known, "known keys", where=str(source))
        )
    for key in ("forecast", "output"):
        if key not in data:
            raise ConfigError(f"config file {source} lacks the required key {key!r}")
    folder = source.parent
    forecast = _strings("forecast", data["forecast"], allow_single=True)
    if not forecast:
        raise ConfigError("config key 'forecast' is an empty list")
    output_text = _string("output", data["output"])
    if output_text == "-":  # "-" is stdout on the command line; a daily run writes a tree
        raise ConfigError(
            f"config key 'output' in {source} is '-', but the daily run writes a folder "
            "(<init date>/<init hour>Z/<venue>/<lang>/ ...): give a folder path"
        )
    output = _resolve(folder, output_text)
    opendata = _opendata(forecast, data.get("opendata"), folder, output)
    if opendata is None:
        for pattern in forecast:
            _check_placeholders(pattern)
        # A pattern is resolved as text so that glob characters and placeholders survive.
        forecast = tuple(str(_resolve(folder, pattern)) for pattern in forecast)
    venues = _strings("venues", data.get("venues", []), allow_single=False)
    venues_file = data.get("venues_file")
    if venues_file is not None:
        venues_file = _resolve(folder, _string("venues_file", venues_file))
    languages = _strings("languages", data.get("languages", list(LANGUAGES)), allow_single=False)
    if not languages:
        raise ConfigError("config key 'languages' is an empty list")
    for lang in languages:
        if lang not in LANGUAGES:
            raise ConfigError(
                "config key 'languages': " + unknown_name("unknown language", lang, LANGUAGES)
            )
    languages = tuple(dict.fromkeys(languages))
    avatar = _string("avatar", data.get("avatar", DEFAULT_AVATAR))
    if avatar not in ("default", "procedural"):
        avatar = str(_resolve(folder, avatar))
    tts = _tts(data.get("tts", DEFAULT_ENGINE))
    voice = data.get("voice")
    if voice is not None:
        voice = _string("voice", voice)
    loudness_lufs = data.get("loudness_lufs", -23.0)
    if "loudness_lufs" in data:
        from ..errors import SpeechError
        from ..speech.loudness import check_loudness_target

        if isinstance(loudness_lufs, bool) or not isinstance(loudness_lufs, (int, float)):
            raise ConfigError(f"config key 'loudness_lufs' must be a number, not {loudness_lufs!r}")
        try:
            loudness_lufs = check_loudness_target(loudness_lufs)
        except SpeechError as error:
            raise ConfigError(f"config key 'loudness_lufs': {error}") from None
    date = data.get("date")
    if date is not None:
        date = parse_day(date, "config key 'date'")
    templates = data.get("templates")
    if templates is not None:
        templates = _resolve(folder, _string("templates", templates))
    agency = data.get("agency")
    if agency is not None:
        agency = _string("agency", agency).strip()
    logo = data.get("logo")
    if logo is not None:
        logo = _resolve(folder, _string("logo", logo))
        if logo.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp") or not logo.is_file():
            raise ConfigError(f"config key 'logo': {logo} is not a PNG, JPEG or WebP file")
    site_url = data.get("site_url")
    if site_url is not None and not _string("site_url", site_url).startswith(
        ("http://", "https://")
    ):
        raise ConfigError(f"config key 'site_url' must be an http(s) URL, not {site_url!r}")
    return DailyConfig(
        source=source,
        forecast=forecast,
        output=output,
        venues=venues,
        venues_file=venues_file,
        languages=languages,
        avatar=avatar,
        tts=tts,
        voice=voice,
        loudness_lufs=float(loudness_lufs),
        date=date,
        templates=templates,
        opendata=opendata,
        agency=agency,
        logo=logo,
        site_url=site_url,
        raw=dict(data),
    )


def _tts(value: Any) -> str | dict[str, str]:
    """``tts``: an engine name, or a table of engine names by language."""
    if not isinstance(value, dict):
        return _engine("tts", value)
    if not value:
        raise ConfigError("config table [tts] is empty: name an engine per language, or drop it")
    engines = {}
    for lang, name in value.items():
        if lang not in LANGUAGES:
            known = [f"tts.{code}" for code in LANGUAGES]
            raise ConfigError(unknown_name("unknown config key", f"tts.{lang}", known, "languages"))
        engines[lang] = _engine(f"tts.{lang}", name)
    return engines


def _engine(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            f"config key {key!r} must be an engine name ({', '.join(ENGINES)}) or, for 'tts', a "
            f"table of them by language, not {value!r}"
        )
    if value not in ENGINES:
        raise ConfigError(f"config key {key!r}: " + unknown_name("unknown engine", value, ENGINES))
    return value


#: The keys of the ``[opendata]`` table and their TOML types.
OPENDATA_KEYS: dict[str, tuple[type, ...]] = {
    "source": (str,),
    "cache": (str,),
    "retries": (int,),
    "retry_wait": (int, float),
    "retry_max_wait": (int, float),
    "incomplete": (str,),
    "times": (list,),
    "search_hours": (int,),
    "resol": (str,),
}


def _opendata(
    forecast: tuple[str, ...], table: Any, folder: Path, output: Path
) -> OpenDataSettings | None:
    """The ``[opendata]`` settings when ``forecast`` names ECMWF open data, else None."""
    try:
        models = [model_of(value) for value in forecast]
    except BulletinError as exc:
        raise ConfigError(f"config key 'forecast': {exc}") from None
    if not any(models):
        if table is not None:
            raise ConfigError(
                "config table [opendata] is only used with forecast = "
                f'"ecmwf-opendata:<model>" ({", ".join(MODELS)})'
            )
        return None
    if len(forecast) != 1:
        raise ConfigError(
            f"config key 'forecast': {PREFIX}... is fetched on its own; give it as the only "
            f"forecast, not with {len(forecast) - 1} other(s)"
        )
    model = models[0]
    table = {} if table is None else table
    if not isinstance(table, dict):
        raise ConfigError(f"config key 'opendata' must be a table ([opendata]), not {table!r}")
    for key, value in table.items():
        if key not in OPENDATA_KEYS:
            known = [f"opendata.{name}" for name in OPENDATA_KEYS]
            raise ConfigError(
                unknown_name("unknown config key", f"opendata.{key}", known, "known keys")
            )
        types = OPENDATA_KEYS[key]
        if not isinstance(value, types) or isinstance(value, bool):
            kind = " or ".join(t.__name__ for t in types)
            raise ConfigError(f"config key 'opendata.{key}' must be a {kind}, not {value!r}")
    settings: dict[str, Any] = {}
    source = table.get("source", "ecmwf")
    if source not in NAMED_SOURCES and not source.startswith(("http://", "https://")):
        raise ConfigError(
            f"config key 'opendata.source': {source!r} is neither one of "
            f"{', '.join(NAMED_SOURCES)} nor an http(s) URL"
        )
    settings["source"] = source.rstrip("/")
    cache = table.get("cache")
    settings["cache"] = (
        output / "opendata" if cache is None else _resolve(folder, _string("opendata.cache", cache))
    )
    if "retries" in table:
        if table["retries"] < 0:
            raise ConfigError(f"config key 'opendata.retries' must be >= 0, not {table['retries']}")
        settings["retries"] = table["retries"]
    wait = float(table.get("retry_wait", OpenDataSettings.retry_wait_s))
    longest = float(table.get("retry_max_wait", max(wait, OpenDataSettings.retry_max_wait_s)))
    if wait < 0 or longest < wait:
        raise ConfigError(
            f"config keys 'opendata.retry_wait' ({wait:g}) and 'opendata.retry_max_wait' "
            f"({longest:g}) must satisfy 0 <= retry_wait <= retry_max_wait"
        )
    settings["retry_wait_s"] = wait
    settings["retry_max_wait_s"] = longest
    incomplete = table.get("incomplete", "wait")
    if incomplete not in INCOMPLETE_POLICIES:
        raise ConfigError(
            f"config key 'opendata.incomplete': unknown policy {incomplete!r}; use "
            f"{', '.join(INCOMPLETE_POLICIES)}"
        )
    settings["incomplete"] = incomplete
    run_hours = MODELS[model].run_hours
    if "times" in table:
        times = table["times"]
        if not times or not all(
            isinstance(t, int) and not isinstance(t, bool) and t in run_hours for t in times
        ):
            raise ConfigError(
                f"config key 'opendata.times' must list run hours of {model} "
                f"({', '.join(map(str, run_hours))}), not {times!r}"
            )
        settings["run_hours"] = tuple(sorted(set(times)))
    if "search_hours" in table:
        if table["search_hours"] < 1:
            raise ConfigError(
                f"config key 'opendata.search_hours' must be >= 1, not {table['search_hours']}"
            )
        settings["search_hours"] = table["search_hours"]
    if "resol" in table:
        settings["resol"] = _string("opendata.resol", table["resol"])
    return OpenDataSettings(model=model, **settings)


def parse_day(value: Any, where: str) -> dt.date:
    """A local day from ``YYYY-MM-DD`` text or a TOML date."""
    if isinstance(value, dt.datetime):
        raise ConfigError(f"{where} must be a day (YYYY-MM-DD), not a date and time {value}")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ConfigError(f"{where} must be a day (YYYY-MM-DD), not {value!r}")


def load_config(path: str | Path) -> DailyConfig:
    """Read and check a configuration file (see the module docstring)."""
    source = Path(path).expanduser().absolute()
    try:
        text = source.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {source}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"config file {source} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {source} is not valid TOML: {exc}") from None
    return parse_config(data, source)


__all__ = ["LANGUAGES", "ConfigError", "DailyConfig", "load_config", "parse_config", "parse_day"]
