"""Bulletin scripts: a spoken bulletin per venue and a daily overview of all venues.

The words come from the data. :func:`bulletin.summarize` turns the hourly venue table into
parts of the local day; this module picks out what a presenter would say (the temperature
range, wind and sky of each part of the day, the trend since yesterday, the coldest moment,
each index with its level and advice, the composite level) and hands these facts to a jinja2
template per kind and language (``templates/venue.zh.j2``, ``templates/overview.en.j2``, ...).
The wording table (``templates/wording.toml``, :mod:`bulletin.wording`) supplies the advice.

Templates run in jinja2's sandbox with :class:`jinja2.StrictUndefined`: a template that names
a missing value, reaches for Python internals or for files fails with a one-line
:class:`ScriptError` naming the template and line. A user folder of templates overrides the
shipped ones by name.

Template output protocol: every non-empty line holds one or more sentences; a line that starts
with ``[index_key]`` (``[wind_chill]``, ``[goggles]``, ...) is about that index, so the video
can highlight its card while the line is spoken.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple

import jinja2
import numpy as np
import pandas as pd
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from .errors import BulletinError, ScriptError
from .summary import PERIODS, summarize
from .venues import Venue
from .wording import (
    ADVICE_INDICES,
    INDEX_KEYS,
    LANGUAGES,
    Phrasebook,
    beaufort_force,
    load_wording,
    shipped_templates_dir,
    sky_key,
    wind_group,
)

KINDS = ("venue", "overview")

#: Parts of the local day the bulletin speaks about (the night, 00-06, is left out: nobody
#: watches then, and its minimum would colour the whole day).
SPECTATOR_PERIODS = tuple(name for name in PERIODS if name != "night")
#: The index sentences of a venue bulletin, in the order a presenter reads them.
INDEX_ORDER = ("wind_chill", "frostbite", "clothing", "cold", "sunscreen", "goggles")

#: Spoken-length model of the default voices of :mod:`bulletin.speech` at their default rates
#: (espeak-ng 1.51 ``en-us`` at 165 words a minute, ``cmn-latn-pinyin`` at 220): seconds per
#: unit of each feature of :func:`length_features`. Our fit: least squares on the real durations
#: of the 108 distinct bulletins of the Beijing and Yulong samples (every venue, local day, kind
#: and language; ``python benchmarks/speech.py --lengths`` measures them again and refits). English: seconds
#: per letter, per word and per pause mark (, ; : . ! ?), since espeak-ng speaks letters
#: (phonemes) at a steady pace and pauses at punctuation. Chinese: seconds per syllable (one per
#: character, one per pinyin letter name of SPF/UV), about 4.4 syllables a second, slower than
#: the 4.8 of the research notes (speech_video.md §1.2) because bulletins pause at many commas.
SECONDS_PER_FEATURE = {"en": (0.0676, 0.0266, 0.2307), "zh": (0.228,)}
#: The largest relative error of that model on the samples is 1.5 %, and 2.0 % when it is fitted
#: on one sample and checked on the other (``--lengths``); 3 % is our margin for bulletins unlike
#: the samples. Scripts aim below the issue's upper bound by it, so that the spoken length, not
#: only the estimate, stays inside the bound.
ESTIMATE_TOLERANCE = 0.03
#: Spoken length the issue asks for, seconds.
SPOKEN_SECONDS = {"venue": (45.0, 75.0), "overview": (60.0, 90.0)}
#: The ``concise`` levels templates are rendered with, in turn, until the script is short
#: enough: 0 (everything), 1 (no optional clauses), 2 (parts of the day or areas merged).
CONCISE_LEVELS = (0, 1, 2)

#: Minutes to frostbite are quoted only inside the fit range of the regression: 10 m wind
#: 25-80 km/h and at most 30 minutes (NWS AWIPS-II practice, indices.md §2); otherwise the
#: bulletin gives the ECCC range of the level (ECCC wind chill hazard table).
FROSTBITE_QUOTE_WIND_KMH = (25.0, 80.0)
FROSTBITE_QUOTE_MAX_MIN = 30.0
FROSTBITE_LEVEL_MINUTES = {2: (10, 30), 3: (5, 10), 4: (2, 5), 5: (0, 2)}
#: The exposure limit (ISO 11079 DLE for a 3 clo outfit) is spoken when shorter than 2 hours
#: (indices.md §3: "append ... when DLE < 2 h").
EXPOSURE_QUOTE_MAX_H = 2.0

#: Day-to-day trends, from full local days only. Cooling is judged on the daily minimum, as
#: GB/T 20484-2017 grades cold air; warming on the daily maximum. 3 K is our threshold for a
#: change worth saying, 6 K (the GB/T 20484 "moderate cold air" fall) for a marked one; a
#: 寒潮 (cold wave) is the GB/T 20484 24 h criterion: Tmin falls >= 8 K and ends <= 4 °C.
TREND_K = 3.0
MARKED_TREND_K = 6.0
COLD_WAVE_DROP_K = 8.0
COLD_WAVE_MAX_TMIN = 4.0
#: Wind strengthens/weakens when its daily maximum changes by 2 Beaufort forces or more and the
#: stronger day reaches force 4 (our choice: force 4 is where the cold/flu index counts wind).
WIND_TREND_FORCES = 2
WIND_TREND_MIN_FORCE = 4

REQUIRED_COLUMNS = (
    "venue_id",
    "time_utc",
    "time_local",
    "temperature_degC",
    "relative_humidity_pct",
    "wind_speed_10m_kmh",
    "cloud_cover_pct",
    "uv_index",
    "wind_chill_degC",
    "frostbite_minutes",
    "clothing_clo",
    "exposure_limit_h",
    "goggles_lens",
    *(f"{index}_level" for index in ADVICE_INDICES),
)

_TAG_RE = re.compile(r"^\[([A-Za-z_]+)\]\s*")
_ZH_SENTENCE_RE = re.compile(r"[^。！？]+[。！？]*")
_EN_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+")
#: What a script must never contain: template syntax (any brace or bracket), Python and pandas
#: missing values, identifiers such as ``wind_chill`` and raw lens codes.
_LEAK_RE = re.compile(
    r"[{}\[\]]|<NA>|\bNone\b|\bnan\b|\bNaN\b|\bNaT\b|\binf\b|\bundefined\b|"
    r"\b[A-Za-z]+_[A-Za-z_]+\b|\bS[0-4]\b"
)
_ZH_ALLOWED_LATIN = re.compile(r"°C|km/h|SPF|UV")
_LATIN_RE = re.compile(r"[A-Za-z]+")
_HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_PINYIN_SYLLABLE_RE = re.compile(r"[a-z]+[1-5]")
_EN_WORD_RE = re.compile(r"[A-Za-z0-9']+")
_EN_LETTER_RE = re.compile(r"[A-Za-z]")
_EN_PAUSE_RE = re.compile(r"[,;:.!?]")


def length_features(speech_text: str, lang: str) -> tuple[int, ...]:
    """What the spoken length of a speech text (``Script.text``) is estimated from: English
    (letters, words, pause marks); Chinese (syllables: characters and pinyin syllables)."""
    if lang == "zh":
        syllables = len(_HAN_RE.findall(speech_text)) + len(
            _PINYIN_SYLLABLE_RE.findall(speech_text)
        )
        return (syllables,)
    return (
        len(_EN_LETTER_RE.findall(speech_text)),
        len(_EN_WORD_RE.findall(speech_text)),
        len(_EN_PAUSE_RE.findall(speech_text)),
    )


class Sentence(NamedTuple):
    """One sentence: as shown in captions, as spoken, and the index it is about (or None)."""

    display: str
    tts: str
    index: str | None


@dataclass(frozen=True)
class Script:
    """A rendered bulletin script.

    ``text`` is what the voice says (numbers and units in words), ``display_text`` what
    captions show (``-12°C``, ``25 km/h``); both are the ``sentences`` joined. Give the speech
    stage ``display_text``: it normalises it into ``text`` again and keeps the mapping between
    the two that word timings and subtitles need (:func:`bulletin.pipeline.speak_script`). ``venue_id`` is None
    for the overview, whose venues are in ``venue_ids``.
    """

    venue_id: str | None
    lang: str
    kind: str
    date: dt.date
    sentences: tuple[Sentence, ...]
    text: str
    display_text: str
    venue_ids: tuple[str, ...]

    @property
    def estimated_seconds(self) -> float:
        """Spoken length with the default voice and rate of :func:`bulletin.speech.synthesize`
        (model and its accuracy: :data:`SECONDS_PER_FEATURE`, :data:`ESTIMATE_TOLERANCE`)."""
        features = length_features(self.text, self.lang)
        return sum(n * s for n, s in zip(features, SECONDS_PER_FEATURE[self.lang], strict=True))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (sentences as objects with display, tts and index)."""
        data = asdict(self)
        data["date"] = self.date.isoformat()
        data["sentences"] = [s._asdict() for s in self.sentences]
        data["venue_ids"] = list(self.venue_ids)
        data["estimated_seconds"] = round(self.estimated_seconds, 1)
        return data


# -- templates ---------------------------------------------------------------------------------
def _template_folders(templates_dir: str | Path | None) -> list[Path]:
    folders = []
    if templates_dir is not None:
        user = Path(templates_dir)
        if not user.is_dir():
            raise ScriptError(f"templates folder {user} does not exist")
        folders.append(user.resolve())
    folders.append(shipped_templates_dir())
    return folders


class _Sandbox(ImmutableSandboxedEnvironment):
    """The jinja2 sandbox (no attributes starting with ``_``, no mutation of the context),
    which also refuses huge powers and string/list repetitions that would exhaust memory."""

    intercepted_binops = frozenset({"*", "**"})
    MAX_REPEAT = 10_000
    MAX_EXPONENT = 100

    def call_binop(self, context, operator, left, right):  # type: ignore[override]
        if operator == "**" and isinstance(right, int | float) and abs(right) > self.MAX_EXPONENT:
            raise SecurityError(f"exponent {right} is too large for a template")
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(count, int):
                    if len(seq) * count > self.MAX_REPEAT:
                        raise SecurityError("repetition too long for a template")
        return super().call_binop(context, operator, left, right)


@functools.lru_cache(maxsize=32)
def _environment(folders: tuple[Path, ...], lang: str) -> jinja2.Environment:
    """The sandboxed environment of a template search path; cached so templates compile once
    (jinja2 reloads a template whose file changed). The filters depend on the language only."""
    env = _Sandbox(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(f)) for f in folders]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
    )
    env.filters.update(Phrasebook.filters_for(lang))
    return env


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _template_location(exc: BaseException, fallback: str) -> str:
    """Where a template failed, as "template PATH line N", from the innermost template frame
    of a jinja2 traceback."""
    where = f"template {fallback}"
    tb = exc.__traceback__
    while tb is not None:
        if "__jinja_exception__" in tb.tb_frame.f_globals:
            where = f"template {tb.tb_frame.f_code.co_filename} line {tb.tb_lineno}"
        tb = tb.tb_next
    return where


def _load_error(exc: jinja2.TemplateError, name: str) -> ScriptError:
    """The one-line error of a template that cannot be found or compiled."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        where = exc.filename or exc.name or name
        return ScriptError(f"template {where} line {exc.lineno}: {_one_line(exc.message)}")
    if isinstance(exc, jinja2.TemplateNotFound):
        return ScriptError(f"template {exc.name!r} not found (wanted by {name})")
    return ScriptError(f"template {name}: {type(exc).__name__}: {_one_line(exc)}")


def _render_text(env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    try:
        template = env.get_template(name)
        return template.render(context)
    except (jinja2.TemplateSyntaxError, jinja2.TemplateNotFound) as exc:
        raise _load_error(exc, name) from None
    except SecurityError as exc:
        raise ScriptError(
            f"{_template_location(exc, name)}: blocked by the sandbox: {_one_line(exc)}"
        ) from None
    except jinja2.UndefinedError as exc:
        raise ScriptError(
            f"{_template_location(exc, name)}: {_one_line(exc.message)} (see the variables in "
            "the shipped templates)"
        ) from None
    except BulletinError:
        raise
    except Exception as exc:
        # Arithmetic on the wrong type, a bad filter argument, ...: the template's fault.
        raise ScriptError(
            f"{_template_location(exc, name)}: {type(exc).__name__}: {_one_line(exc)}"
        ) from None


def _check_sentence(sentence: str, lang: str, name: str) -> None:
    leak = _LEAK_RE.search(sentence)
    if leak:
        raise ScriptError(
            f"template {name} wrote {leak.group(0)!r} into the script: {_one_line(sentence)}"
        )
    if lang == "zh":
        latin = _LATIN_RE.search(_ZH_ALLOWED_LATIN.sub("", sentence))
        if latin:
            raise ScriptError(
                f"template {name} wrote the Latin word {latin.group(0)!r} into Chinese text "
                "(only SPF, UV, °C and km/h may stay): " + _one_line(sentence)
            )
    elif _HAN_RE.search(sentence):
        raise ScriptError(f"template {name} wrote Chinese into English text: {sentence}")


def _split_sentences(text: str, lang: str) -> list[str]:
    if lang == "zh":
        return [s.strip() for s in _ZH_SENTENCE_RE.findall(text) if s.strip()]
    return [s.strip() for s in _EN_SENTENCE_RE.split(text) if s.strip()]


def _sentences(text: str, lang: str, name: str) -> list[Sentence]:
    """Split template output into tagged sentences, check them, and write their speech text."""
    # Imported here: the speech package loads pypinyin (about half a second).
    from .speech.normalize import normalize_for_speech

    sentences: list[Sentence] = []
    seen: set[str] = set()
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        index = None
        tag = _TAG_RE.match(line)
        if tag:
            index = tag.group(1)
            if index not in INDEX_KEYS:
                raise ScriptError(
                    f"template {name}: unknown index tag [{index}]; use one of "
                    + ", ".join(INDEX_KEYS)
                )
            line = line[tag.end() :]
        for display in _split_sentences(line, lang):
            display = " ".join(display.split()) if lang == "en" else display.replace(" ", "")
            if display in seen:
                continue  # a repeated sentence is said once
            _check_sentence(display, lang, name)
            try:
                tts = normalize_for_speech(display, lang)
            except BulletinError as exc:
                raise ScriptError(f"template {name}: {exc}") from None
            seen.add(display)
            sentences.append(Sentence(display, tts, index))
    if not sentences:
        raise ScriptError(f"template {name} produced an empty script")
    return sentences


def _render(
    kind: str,
    context_for: Callable[[int], dict[str, Any]],
    folders: Sequence[Path],
    book: Phrasebook,
    day: dt.date,
    venue_ids: Sequence[str],
) -> Script:
    """Render a template into a script. Templates first get ``concise=0``; while the script
    would run longer than the issue asks (:data:`SPOKEN_SECONDS`, less the estimate's
    :data:`ESTIMATE_TOLERANCE`), they are rendered again with ``concise=1`` (optional clauses
    go) and then ``concise=2`` (the parts of the day, or the areas, are merged: the last
    resort, as the issue asks for conditions by part of the day)."""
    name = f"{kind}.{book.lang}.j2"
    env = _environment(tuple(folders), book.lang)
    longest = SPOKEN_SECONDS[kind][1] / (1.0 + ESTIMATE_TOLERANCE)
    for concise in CONCISE_LEVELS:
        text = _render_text(env, name, {**context_for(concise), "concise": concise})
        script = _script(kind, book.lang, day, _sentences(text, book.lang, name), venue_ids)
        if script.estimated_seconds <= longest:
            break
    return script


def _phrasebook(templates_dir: str | Path | None, lang: str) -> tuple[list[Path], Phrasebook]:
    folders = _template_folders(templates_dir)
    return folders, Phrasebook(load_wording(folders), lang)


def _script(
    kind: str, lang: str, day: dt.date, sentences: list[Sentence], venue_ids: Sequence[str]
) -> Script:
    glue = "" if lang == "zh" else " "
    return Script(
        venue_id=venue_ids[0] if kind == "venue" else None,
        lang=lang,
        kind=kind,
        date=day,
        sentences=tuple(sentences),
        text=glue.join(s.tts for s in sentences),
        display_text=glue.join(s.display for s in sentences),
        venue_ids=tuple(venue_ids),
    )


# -- facts from the venue table ----------------------------------------------------------------
def _check_args(lang: str, kind: str) -> None:
    if lang not in LANGUAGES:
        raise ScriptError(
            f"unsupported script language {lang!r}: use one of {', '.join(LANGUAGES)}"
        )
    if kind not in KINDS:
        raise ScriptError(f"unknown script kind {kind!r}: use one of {', '.join(KINDS)}")


def _venue_rows(table: pd.DataFrame, venue: Venue) -> pd.DataFrame:
    if not isinstance(table, pd.DataFrame):
        raise ScriptError(f"expected a venue table (pandas DataFrame), not {type(table).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise ScriptError(
            f"venue table lacks column(s) {', '.join(missing)} (make it with bulletin.venue_table)"
        )
    if "member" in table.columns:
        raise ScriptError(
            f"the venue table holds {table['member'].nunique()} ensemble members; a script is "
            "written from one forecast: select one member first"
        )
    rows = table[table["venue_id"] == venue.id]
    if rows.empty:
        known = ", ".join(dict.fromkeys(table["venue_id"].astype(str)))
        raise ScriptError(f"venue {venue.id!r} is not in the venue table (it has: {known})")
    return rows.reset_index(drop=True)


def _local_days(rows: pd.DataFrame) -> pd.DataFrame:
    """Per local date of a venue's rows: whether the rows cover the whole day (the first time
    step starts it and the last one ends it, within one time step)."""
    # The wall-clock part of the ISO string is the local time (as in bulletin.summary).
    local = pd.to_datetime(rows["time_local"].str.slice(0, 19))
    times = pd.to_datetime(rows["time_utc"], utc=True).drop_duplicates().sort_values()
    steps = np.diff(times.to_numpy()).astype("timedelta64[s]").astype(float) / 60.0
    step_minutes = float(np.median(steps)) if steps.size else 60.0
    minutes = local.dt.hour * 60 + local.dt.minute
    days = (
        pd.DataFrame({"local_date": local.dt.strftime("%Y-%m-%d"), "minutes": minutes})
        .groupby("local_date", sort=True)["minutes"]
        .agg(["min", "max"])
    )
    days["full"] = (days["min"] < step_minutes) & (days["max"] + step_minutes >= 24 * 60)
    return days


def parse_date(date: str | dt.date | None) -> dt.date | None:
    """A local date from ``YYYY-MM-DD`` (or a date/datetime); None stays None."""
    if date is None or (isinstance(date, dt.date) and not isinstance(date, dt.datetime)):
        return date
    if isinstance(date, dt.datetime):
        return date.date()
    try:
        return dt.date.fromisoformat(str(date))
    except ValueError:
        raise ScriptError(f"date {date!r} is not a date (use YYYY-MM-DD)") from None


@dataclass
class _VenueDay:
    """The summaries of one venue and one local day."""

    venue: Venue
    date: dt.date
    periods: pd.DataFrame  # the spectator periods of the day, in order
    today: pd.Series  # the whole local day
    yesterday: pd.Series | None  # the previous local day, when the table covers all of it


def _venue_day(table: pd.DataFrame, venue: Venue, date: dt.date | None) -> _VenueDay:
    rows = _venue_rows(table, venue)
    days = _local_days(rows)
    dates = list(days.index)
    if date is None:
        full = list(days.index[days["full"]])
        if not full:
            raise ScriptError(
                f"venue {venue.id}: the table covers no full local day "
                f"({dates[0]} to {dates[-1]}); pass a date"
            )
        date = dt.date.fromisoformat(full[0])
    iso = date.isoformat()
    if iso not in days.index:
        raise ScriptError(
            f"date {iso} is not in the venue table (local dates {dates[0]} to {dates[-1]})"
        )
    before = (date - dt.timedelta(days=1)).isoformat()
    has_yesterday = before in days.index and bool(days.loc[before, "full"])
    # Summarise only the day and the day before (the trend), not the whole table.
    rows = rows[rows["time_local"].str.slice(0, 10).isin([iso, before])]
    # Minutes to frostbite are quotable only inside the regression's fit range; hide the others
    # before summarising so the summary's minimum is the one the bulletin may speak.
    wind = rows["wind_speed_10m_kmh"].astype("float64")
    minutes = rows["frostbite_minutes"].astype("float64")
    quotable = (
        (wind > FROSTBITE_QUOTE_WIND_KMH[0])
        & (wind <= FROSTBITE_QUOTE_WIND_KMH[1])
        & (minutes <= FROSTBITE_QUOTE_MAX_MIN)
    )
    rows = rows.assign(frostbite_minutes=minutes.where(quotable))
    today_rows = rows[rows["time_local"].str.slice(0, 10) == iso]
    periods = summarize(today_rows, by="period")
    spectator = periods[periods["period"].isin(SPECTATOR_PERIODS)].reset_index(drop=True)
    if spectator.empty:
        raise ScriptError(
            f"venue {venue.id}: the table has no hours between 06:00 and 24:00 on {iso}"
        )
    for index in ADVICE_INDICES:
        if spectator[f"{index}_level_max"].isna().all():
            raise ScriptError(f"venue {venue.id}: {index}_level is empty on {iso}")
    summaries = summarize(rows if has_yesterday else today_rows, by="day")
    today = summaries[summaries["local_date"] == iso].iloc[0]
    yesterday = summaries[summaries["local_date"] == before].iloc[0] if has_yesterday else None
    return _VenueDay(venue, date, spectator, today, yesterday)


def _venue_name(venue: Venue, lang: str) -> str:
    if lang == "en":
        return venue.name
    name = venue.name_zh or venue.name
    if _LATIN_RE.search(name):
        raise ScriptError(f"venue {venue.id} has no Chinese name (name_zh) for a zh script")
    return name


def _zone_name(venue: Venue, lang: str) -> str:
    zone = venue.zone if lang == "en" else venue.zone_zh
    if lang == "zh" and zone and _LATIN_RE.search(zone):
        return ""
    return zone


def _level(periods: pd.DataFrame, index: str) -> int:
    return int(periods[f"{index}_level_max"].max())


def _num(value: Any) -> float | None:
    """A float, or None for missing values (templates test ``is none``, never see NaN)."""
    if value is None or value is pd.NA:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _trend(day: _VenueDay) -> dict[str, Any]:
    trend: dict[str, Any] = {"temperature": None, "change": 0.0, "wind": None}
    if day.yesterday is None:
        return trend
    today, before = day.today, day.yesterday
    drop = float(before["temperature_min"]) - float(today["temperature_min"])
    rise = float(today["temperature_max"]) - float(before["temperature_max"])
    if drop >= COLD_WAVE_DROP_K and float(today["temperature_min"]) <= COLD_WAVE_MAX_TMIN:
        trend.update(temperature="cold_wave", change=drop)
    elif drop >= TREND_K and drop >= rise:
        trend.update(temperature="much_colder" if drop >= MARKED_TREND_K else "colder", change=drop)
    elif rise >= TREND_K:
        trend.update(temperature="much_warmer" if rise >= MARKED_TREND_K else "warmer", change=rise)
    force_now = beaufort_force(float(today["wind_speed_max"]))
    force_before = beaufort_force(float(before["wind_speed_max"]))
    if force_now - force_before >= WIND_TREND_FORCES and force_now >= WIND_TREND_MIN_FORCE:
        trend["wind"] = "stronger"
    elif force_before - force_now >= WIND_TREND_FORCES and force_before >= WIND_TREND_MIN_FORCE:
        trend["wind"] = "weaker"
    return trend


def _sky(row: pd.Series) -> str:
    snow_hours = int(row["snowfall_hours"]) if "snowfall_hours" in row.index else 0
    return sky_key(_num(row["cloud_cover_mean"]) or 0.0, snow_hours)


def _period_groups(
    periods: pd.DataFrame, book: Phrasebook, *, merge_all: bool = False
) -> list[dict[str, Any]]:
    """Consecutive parts of the day with the same sky and wind group, merged (all of them with
    ``merge_all``: the sky then follows the mean cloud cover and all hours of snow)."""
    groups: list[dict[str, Any]] = []
    for _, row in periods.iterrows():
        sky = _sky(row)
        wind_kmh = float(row["wind_speed_max"])
        last = groups[-1] if groups else None
        if last and (merge_all or (last["sky"] == sky and last["group"] == _wind_group(wind_kmh))):
            last["keys"].append(row["period"])
            last["t_min"] = min(last["t_min"], float(row["temperature_min"]))
            last["t_max"] = max(last["t_max"], float(row["temperature_max"]))
            last["wind_kmh"] = max(last["wind_kmh"], wind_kmh)
            last["rows"].append(row)
            last["group"] = _wind_group(last["wind_kmh"])
            continue
        groups.append(
            {
                "keys": [row["period"]],
                "sky": sky,
                "group": _wind_group(wind_kmh),
                "t_min": float(row["temperature_min"]),
                "t_max": float(row["temperature_max"]),
                "wind_kmh": wind_kmh,
                "rows": [row],
            }
        )
    result = []
    for group in groups:
        keys = group["keys"]
        span = keys[0] if len(keys) == 1 else f"{keys[0]}-{keys[-1]}"
        if merge_all and len(keys) > 1:
            rows = pd.DataFrame(group["rows"])
            cloud = float(rows["cloud_cover_mean"].astype("float64").fillna(0.0).mean())
            snow = int(rows["snowfall_hours"].sum()) if "snowfall_hours" in rows else 0
            group["sky"] = sky_key(cloud, snow)
        result.append(
            {
                "key": span,
                "label": book.period(span),
                "sky": book.sky(group["sky"]),
                "wind": book.wind(group["wind_kmh"]),
                "force": beaufort_force(group["wind_kmh"]),
                "t_min": group["t_min"],
                "t_max": group["t_max"],
                "wind_kmh": group["wind_kmh"],
            }
        )
    return result


def _wind_group(speed_kmh: float) -> str:
    return wind_group(beaufort_force(speed_kmh))


def _index_facts(day: _VenueDay, book: Phrasebook) -> dict[str, dict[str, Any]]:
    periods = day.periods
    facts: dict[str, dict[str, Any]] = {}
    for index in ADVICE_INDICES:
        level = _level(periods, index)
        facts[index] = {
            "key": index,
            "level": level,
            "title": book.title(index),
            "name": book.level_name(index, level),
            "advice": book.advice(index, level),
        }
    # Wind chill: the coldest moment of the day.
    coldest = periods.loc[periods["wind_chill_min"].astype("float64").idxmin()]
    facts["wind_chill"].update(
        lowest=float(coldest["wind_chill_min"]),
        time=str(coldest["wind_chill_min_time"]),
        period=book.period(str(coldest["period"])),
    )
    # Frostbite: minutes from the regression where quotable, else the level's ECCC range.
    level = facts["frostbite"]["level"]
    minutes = _num(periods["frostbite_minutes_min"].astype("float64").min())
    low_high = FROSTBITE_LEVEL_MINUTES.get(level)
    facts["frostbite"].update(
        minutes=minutes if level >= 2 else None,
        range_low=low_high[0] if low_high else None,
        range_high=low_high[1] if low_high else None,
    )
    # Clothing: the exposure limit of a 3 clo outfit when it is short.
    exposure = _num(periods["exposure_limit_h_min"].astype("float64").min())
    facts["clothing"].update(
        clo=_num(periods["clothing_clo_max"].astype("float64").max()),
        exposure_h=exposure if exposure is not None and exposure < EXPOSURE_QUOTE_MAX_H else None,
    )
    # Cold/flu: the reasons behind the day's score, in the index's own order.
    reasons = str(day.today.get("cold_reasons", "") or "")
    facts["cold"]["reasons"] = [book.reason(r) for r in reasons.split(";") if r]
    # Sunscreen: the day's highest UV index and its WHO category.
    uv_max = _num(periods["uv_index_max"].astype("float64").max()) or 0.0
    category = _uv_category(uv_max)
    facts["sunscreen"].update(
        uv=uv_max,
        uv_level=category,
        uv_name=book.level_name("uv_category", category),
    )
    # Goggles: the darkest lens needed, and the lightest when the light changes over the day.
    wanted = periods[periods["goggles_level_max"].astype("float64") >= 2]
    darkest_first = sorted(
        {s for s in wanted["goggles_lens_max"] if isinstance(s, str) and s}, reverse=True
    )
    chosen = darkest_first[:1] + darkest_first[1:][-1:]  # the darkest and the lightest
    facts["goggles"]["lenses"] = [book.lens(code) for code in chosen]
    # Composite: the part of the day where watching is hardest, when the day is not uniform.
    spectator = periods["spectator_level_max"].astype("float64")
    worst = periods.loc[spectator.idxmax()]
    facts["spectator"]["worst_period"] = (
        book.period(str(worst["period"])) if spectator.nunique() > 1 else None
    )
    return facts


def _uv_category(uv_max: float) -> int:
    from .indices import who_uv_category

    return int(np.asarray(who_uv_category(np.array([uv_max], dtype=np.float64)))[0])


def _date_facts(day: dt.date, book: Phrasebook) -> dict[str, Any]:
    return {"iso": day.isoformat(), "text": book.date(day)}


def _venue_context(day: _VenueDay, book: Phrasebook) -> dict[str, Any]:
    venue, lang = day.venue, book.lang
    return {
        "lang": lang,
        "kind": "venue",
        "venue": {
            "id": venue.id,
            "name": _venue_name(venue, lang),
            "zone": _zone_name(venue, lang),
        },
        "date": _date_facts(day.date, book),
        "trend": _trend(day),
        "periods": _period_groups(day.periods, book),
        "whole_day": _period_groups(day.periods, book, merge_all=True)[0],
        "indices": _index_facts(day, book),
        "order": list(INDEX_ORDER),
    }


def _day_weather(day: _VenueDay) -> dict[str, float]:
    """Spectator-hours weather of one venue-day from its part-of-day summaries."""
    periods = day.periods
    snow = periods["snowfall_hours"].sum() if "snowfall_hours" in periods else 0
    return {
        "t_min": float(periods["temperature_min"].astype("float64").min()),
        "t_max": float(periods["temperature_max"].astype("float64").max()),
        "wind_kmh": float(periods["wind_speed_max"].astype("float64").max()),
        "cloud": float(periods["cloud_cover_mean"].astype("float64").fillna(0.0).mean()),
        "snow_hours": int(snow),
        "wind_chill": float(periods["wind_chill_min"].astype("float64").min()),
    }


class _Places:
    """Names for groups of venues: a zone when all its venues are in the group, else venues."""

    def __init__(self, days: Sequence[_VenueDay], book: Phrasebook) -> None:
        self.book = book
        self.order = [d.venue.id for d in days]
        self.names = {d.venue.id: _venue_name(d.venue, book.lang) for d in days}
        self.zones: dict[str, list[str]] = {}
        for d in days:
            zone = _zone_name(d.venue, book.lang)
            if zone:
                self.zones.setdefault(zone, []).append(d.venue.id)

    def areas(self) -> list[tuple[str, list[str]]]:
        """(label, venue ids) of each zone, and of each venue that has no zone, in order."""
        zoned = {vid for ids in self.zones.values() for vid in ids}
        areas: list[tuple[str, list[str]]] = []
        for vid in self.order:
            if vid in zoned:
                zone = next(z for z, ids in self.zones.items() if vid in ids)
                if all(label != zone for label, _ in areas):
                    areas.append((zone, self.zones[zone]))
            else:
                areas.append((self.names[vid], [vid]))
        return areas

    def label(
        self, ids: Sequence[str], *, rest: bool = False, named: frozenset[str] = frozenset()
    ) -> str:
        """The words for the venues ``ids``: every venue, the other venues (``rest``), whole
        zones, the rest of a zone whose other venues were ``named`` before, single venues."""
        chosen = set(ids)
        if chosen == set(self.order) and len(self.order) > 1:
            return self.book.places("all")
        if rest and len(chosen) > 1:
            return self.book.places("rest")
        labels: list[str] = []
        covered: set[str] = set()
        for zone, members in self.zones.items():
            unnamed = set(members) - named
            if len(unnamed) > 1 and unnamed <= chosen:
                whole = unnamed == set(members)
                labels.append(zone if whole else self.book.zone_rest(zone))
                covered |= unnamed
        labels += [self.names[vid] for vid in self.order if vid in chosen - covered]
        return self.book.join(labels)


def _overview_context(
    days: Sequence[_VenueDay], book: Phrasebook, concise: int = 0
) -> dict[str, Any]:
    """The overview template's variables. A concise overview names only the worst group of
    each index (the templates say so), so "the same venues" may stand for the venues of the
    previous index sentence whenever that sentence named exactly those venues and no others."""
    places = _Places(days, book)
    by_id = {d.venue.id: d for d in days}
    weather = {vid: _day_weather(d) for vid, d in by_id.items()}
    areas = []
    for label, ids in places.areas():
        parts = [weather[vid] for vid in ids]
        wind_kmh = max(p["wind_kmh"] for p in parts)
        cloud = float(np.mean([p["cloud"] for p in parts]))
        snow = sum(p["snow_hours"] for p in parts)
        areas.append(
            {
                "label": label,
                "t_min": min(p["t_min"] for p in parts),
                "t_max": max(p["t_max"] for p in parts),
                "wind_kmh": wind_kmh,
                "force": beaufort_force(wind_kmh),
                "wind": book.wind(wind_kmh),
                "sky": book.sky(sky_key(cloud, snow)),
                "wind_chill": min(p["wind_chill"] for p in parts),
            }
        )
    # The whole region at once, for a concise overview: the sky when every area shares it.
    skies = {area["sky"] for area in areas}
    strongest = max(weather.values(), key=lambda w: w["wind_kmh"])["wind_kmh"]
    everywhere = {
        "label": places.label(places.order),
        "sky": skies.pop() if len(skies) == 1 else None,
        "t_min": min(w["t_min"] for w in weather.values()),
        "t_max": max(w["t_max"] for w in weather.values()),
        "wind_kmh": strongest,
        "force": beaufort_force(strongest),
        "wind": book.wind(strongest),
    }
    # Venues whose temperature changed the same way since yesterday, grouped.
    # "colder" and "much colder" venues form one group, which is "much colder" when all are.
    trends: dict[str, list[tuple[str, str, float]]] = {}
    winds: dict[str, list[str]] = {}
    for vid, d in by_id.items():
        trend = _trend(d)
        kind = trend["temperature"]
        if kind:
            direction = kind.removeprefix("much_")
            trends.setdefault(direction, []).append((vid, kind, trend["change"]))
        if trend["wind"]:
            winds.setdefault(trend["wind"], []).append(vid)
    trend_groups = []
    for direction, members in trends.items():
        kinds = {kind for _, kind, _ in members}
        trend_groups.append(
            {
                "temperature": kinds.pop() if len(kinds) == 1 else direction,
                "places": places.label([vid for vid, _, _ in members]),
                "change_min": min(change for _, _, change in members),
                "change_max": max(change for _, _, change in members),
            }
        )
    wind_groups = [{"wind": kind, "places": places.label(ids)} for kind, ids in winds.items()]
    indices: dict[str, dict[str, Any]] = {}
    named_before: list[frozenset[str]] = []  # the venue lists of the previous index sentence
    for index in (*INDEX_ORDER, "spectator"):
        levels = {vid: _level(d.periods, index) for vid, d in by_id.items()}
        ordered = sorted(set(levels.values()), reverse=True)
        groups = []
        named: frozenset[str] = frozenset()
        for position, level in enumerate(ordered):
            ids = [vid for vid in places.order if levels[vid] == level]
            last = position == len(ordered) - 1 and position > 0
            groups.append(
                {
                    "level": level,
                    "name": book.level_name(index, level),
                    "advice": book.advice(index, level),
                    "places": places.label(ids, rest=last, named=named),
                }
            )
            named |= frozenset(ids)
        groups_ids = [frozenset(vid for vid in places.order if levels[vid] == lv) for lv in ordered]
        if named_before == groups_ids[:1] and 1 < len(groups_ids[0]) < len(places.order):
            groups[0]["places"] = book.places("same")
        named_before = groups_ids[:1] if concise or len(groups) == 1 else groups_ids
        indices[index] = {
            "key": index,
            "title": book.title(index),
            "groups": groups,
            "worst": groups[0],
        }
    return {
        "lang": book.lang,
        "kind": "overview",
        "date": _date_facts(days[0].date, book),
        "venue_count": len(days),
        "areas": areas,
        "everywhere": everywhere,
        "trends": trend_groups,
        "wind_trends": wind_groups,
        "indices": indices,
        "order": list(INDEX_ORDER),
    }


# -- public API --------------------------------------------------------------------------------
def render_script(
    table: pd.DataFrame,
    venue: Venue,
    *,
    lang: str,
    date: str | dt.date | None = None,
    kind: str = "venue",
    templates_dir: str | Path | None = None,
    venues: Sequence[Venue] | None = None,
) -> Script:
    """The bulletin script of one venue for one local day.

    ``table`` is a :func:`bulletin.venue_table` (one forecast, not an ensemble); ``date``
    (``YYYY-MM-DD``) defaults to the first full local day of the venue in the table.
    ``kind="overview"`` renders the daily overview instead (of ``venues``, or of ``venue``
    alone). Templates in ``templates_dir`` override the shipped ones by name.
    """
    _check_args(lang, kind)
    if kind == "overview":
        return render_overview(
            table, list(venues or [venue]), lang=lang, date=date, templates_dir=templates_dir
        )
    day = _venue_day(table, venue, parse_date(date))
    folders, book = _phrasebook(templates_dir, lang)
    context = _venue_context(day, book)
    return _render(kind, lambda _: context, folders, book, day.date, [venue.id])


def render_overview(
    table: pd.DataFrame,
    venues: Sequence[Venue],
    *,
    lang: str,
    date: str | dt.date | None = None,
    templates_dir: str | Path | None = None,
) -> Script:
    """The daily overview of all ``venues``: conditions by zone, trends, and each index with
    the venues grouped by level (worst first). ``date`` defaults to the first full local day
    of the first venue."""
    _check_args(lang, "overview")
    if not venues:
        raise ScriptError("an overview needs at least one venue")
    first = _venue_day(table, venues[0], parse_date(date))
    days = [first] + [_venue_day(table, v, first.date) for v in venues[1:]]
    folders, book = _phrasebook(templates_dir, lang)
    return _render(
        "overview",
        functools.partial(_overview_context, days, book),
        folders,
        book,
        first.date,
        [v.id for v in venues],
    )


def check_templates(templates_dir: str | Path | None, *, lang: str, kind: str = "venue") -> None:
    """Load the wording table and compile the ``kind`` template of ``lang`` (a user folder's
    first), so that a bad template or wording table fails before any forecast is read.
    Mistakes that depend on the data (a missing variable, the sandbox) show when rendering."""
    _check_args(lang, kind)
    folders, _ = _phrasebook(templates_dir, lang)
    name = f"{kind}.{lang}.j2"
    try:
        _environment(tuple(folders), lang).get_template(name)
    except (jinja2.TemplateSyntaxError, jinja2.TemplateNotFound) as exc:
        raise _load_error(exc, name) from None


def write_script(
    script: Script,
    folder: str | Path,
    *,
    stem: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Path]:
    """Write ``<stem>.txt`` (display text), ``<stem>.tts.txt`` (speech text) and
    ``<stem>.json`` (everything, updated with ``extra``) atomically; ``stem`` defaults to
    ``<venue or overview>_<date>_<lang>``."""
    from .output import atomic_path

    folder = Path(folder)
    if stem is None:
        stem = f"{script.venue_id or 'overview'}_{script.date.isoformat()}_{script.lang}"
    document = {**script.to_dict(), **(extra or {})}
    contents = {
        "display": (folder / f"{stem}.txt", script.display_text + "\n"),
        "tts": (folder / f"{stem}.tts.txt", script.text + "\n"),
        "json": (
            folder / f"{stem}.json",
            json.dumps(document, ensure_ascii=False, indent=1) + "\n",
        ),
    }
    written = {}
    for key, (path, text) in contents.items():
        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
        written[key] = path
    return written


__all__ = [
    "ESTIMATE_TOLERANCE",
    "INDEX_ORDER",
    "SECONDS_PER_FEATURE",
    "SPOKEN_SECONDS",
    "Script",
    "Sentence",
    "check_templates",
    "length_features",
    "parse_date",
    "render_overview",
    "render_script",
    "shipped_templates_dir",
    "write_script",
]
