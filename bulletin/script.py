"""Bulletin scripts: a spoken bulletin per venue and a daily overview of all venues.

The words come from the data. :mod:`bulletin.facts` turns the hourly venue table into the facts
of a venue's local day (parts of the day, extremes and when, worst levels, trend, wind); this
module picks out what a presenter would say (the temperature range, wind and sky of each part
of the day, the trend since yesterday, the coldest moment, each index with its level and
advice, the composite level) and hands these facts to a jinja2 template per kind and language
(``templates/venue.zh.j2``, ``templates/overview.en.j2``, ...). The wording table
(``templates/wording.toml``, :mod:`bulletin.wording`) supplies the advice.

Templates run in jinja2's sandbox with :class:`jinja2.StrictUndefined`, bounded in time, output
size and value size and confined to their folder (:mod:`bulletin.sandbox`): a template that names
a missing value, reaches for Python internals or for files outside its folder, or runs past a
limit fails with a one-line :class:`ScriptError` naming the template and line. A user folder of templates overrides the
shipped ones by name.

Template output protocol: every non-empty line holds one or more sentences; a line that starts
with ``[index_key]`` (``[wind_chill]``, ``[goggles]``, ...) is about that index, so the video
can highlight its card while the line is spoken; a line that starts with ``[alert]`` is a
warning (the daily page shows it in a banner, :attr:`Script.alerts`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple

import jinja2
import numpy as np
import pandas as pd
from jinja2.sandbox import SecurityError

from .errors import BulletinError, ScriptError, ScriptUsageError, unknown_name
from .facts import (
    FROSTBITE_LEVEL_MINUTES,
    Alert,
    OverviewFacts,
    PeriodFacts,
    VenueDay,
    alerts,
    control_member,
    overview,
    venue_day,
)
from .indices.clothing import NOT_LIMITING_H
from .sandbox import (
    BoundedSandbox,
    ConfinedLoader,
    LimitExceeded,
    RenderLimits,
    TemplateOutsideFolder,
    render_limits,
)
from .sandbox import render as bounded_render
from .venues import Venue
from .wording import (
    ADVICE_INDICES,
    INDEX_KEYS,
    LANGUAGES,
    NARROW_RANGE_K,
    Phrasebook,
    beaufort_force,
    load_wording,
    round_half_away,
    shipped_templates_dir,
    sky_key,
    venue_name,
    wind_group,
    zone_name,
)

KINDS = ("venue", "overview")

#: The index sentences of a venue bulletin, in the order a presenter reads them.
INDEX_ORDER = ("wind_chill", "frostbite", "clothing", "cold", "sunscreen", "goggles")

#: Spoken-length model of the default voices of :mod:`bulletin.speech` at their default rates
#: (espeak-ng 1.51 ``en-us`` at 165 words a minute, ``cmn-latn-pinyin`` at 220): seconds per
#: unit of each feature of :func:`length_features`. Our fit: least squares on the real durations
#: of the 108 distinct bulletins of the Beijing and Yulong samples (every venue, local day, kind
#: and language; ``python benchmarks/speech.py --lengths`` measures them again and refits).
#: English: seconds per letter, per word and per pause mark (, ; : . ! ?), since espeak-ng speaks
#: letters (phonemes) at a steady pace and pauses at punctuation. Chinese: seconds per syllable
#: (one per character, one per pinyin letter name of SPF/UV), about 4.4 syllables a second
#: (bulletins pause at many commas).
SECONDS_PER_FEATURE = {"en": (0.0676, 0.0266, 0.2307), "zh": (0.228,)}
#: The largest relative error of that model on the samples is 1.5 %, and 2.0 % when it is fitted
#: on one sample and checked on the other (``--lengths``); 3 % is our margin for bulletins unlike
#: the samples. Scripts aim below the upper bound of :data:`SPOKEN_SECONDS` by it, so that the
#: spoken length, not only the estimate, stays inside the bound.
ESTIMATE_TOLERANCE = 0.03
#: Spoken length of a bulletin, seconds (lower and upper bound; our choice per kind).
SPOKEN_SECONDS = {"venue": (45.0, 75.0), "overview": (60.0, 90.0)}
#: The ``concise`` levels templates are rendered with, in turn, until the script is short
#: enough: 0 (everything), 1 (no optional clauses, warnings in one sentence), 2 (parts of the
#: day or areas merged), 3 (the shortest form of each sentence: the last resort of a day with
#: several warnings).
CONCISE_LEVELS = (0, 1, 2, 3)

#: The exposure limit (ISO 11079 DLEmin of the warmest outfit,
#: ``bulletin.indices.clothing``) is spoken when it limits the stay: shorter than
#: ``NOT_LIMITING_H`` (8 h; ISO 11079 reports longer DLEs as "more than 8 h").
EXPOSURE_QUOTE_MAX_H = NOT_LIMITING_H

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
#: A wind of this Beaufort force or more closes the bulletin with the wind line (our choice:
#: force 6, "strong breeze", is where CMA speaks of 大风 in its warning signals).
WINDY_FORCE = 6
#: The indices whose ensemble probability of level 3 or more the overview says (the hazards)
#: and the smallest probability said (our choice: below 10 % it rounds to nothing).
CHANCE_INDICES = ("wind_chill", "frostbite", "spectator")
CHANCE_MIN = 0.05
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
    the two that word timings and subtitles need (:func:`bulletin.pipeline.speak_script`).
    ``venue_id`` is None for the overview, whose venues are in ``venue_ids``.
    """

    venue_id: str | None
    lang: str
    kind: str
    date: dt.date
    sentences: tuple[Sentence, ...]
    text: str
    display_text: str
    venue_ids: tuple[str, ...]
    #: The warnings of the bulletin, for a banner: each a dict with ``venue_id``, ``kind``,
    #: ``colour`` (blue, yellow, orange, red), ``title`` and ``text`` (as shown).
    alerts: tuple[dict[str, str], ...] = ()

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
        data["alerts"] = [dict(alert) for alert in self.alerts]
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


@functools.lru_cache(maxsize=32)
def _environment(folders: tuple[Path, ...], lang: str) -> jinja2.Environment:
    """The bounded sandbox (:mod:`bulletin.sandbox`) of a template search path; cached so
    templates compile once (jinja2 reloads a template whose file changed). The filters depend
    on the language only."""
    return BoundedSandbox(
        loader=jinja2.ChoiceLoader([ConfinedLoader(f) for f in folders]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
        filters=Phrasebook.filters_for(lang),
    )


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


def _render_text(
    env: jinja2.Environment, name: str, context: dict[str, Any], limits: RenderLimits
) -> str:
    try:
        template = env.get_template(name)
        return bounded_render(template, context, limits)
    except (jinja2.TemplateSyntaxError, jinja2.TemplateNotFound) as exc:
        raise _load_error(exc, name) from None
    except TemplateOutsideFolder as exc:
        if exc.template == name:
            raise
        raise ScriptError(f"{exc} (wanted by {name})") from None
    except LimitExceeded as exc:
        raise ScriptError(
            f"{_template_location(exc, name)}: stopped by the sandbox: {_one_line(exc)}"
        ) from None
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


ALERT_TAG = "alert"


def _sentences(text: str, lang: str, name: str) -> tuple[list[Sentence], list[str]]:
    """Split template output into tagged sentences, check them, and write their speech text;
    also the display text of the warning sentences (lines tagged ``[alert]``, about no index)."""
    # Imported here: cn2an and num2words take a tenth of a second to load.
    from .spoken import normalize_for_speech

    sentences: list[Sentence] = []
    warnings: list[str] = []
    seen: set[str] = set()
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        index = None
        is_alert = False
        tag = _TAG_RE.match(line)
        if tag:
            index = tag.group(1)
            if index == ALERT_TAG:
                index, is_alert = None, True
            elif index not in INDEX_KEYS:
                raise ScriptError(
                    f"template {name}: unknown index tag [{index}]; use one of "
                    + ", ".join((*INDEX_KEYS, ALERT_TAG))
                )
            line = line[tag.end() :]
        parts = []
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
            parts.append(display)
        if is_alert and parts:
            warnings.append(("" if lang == "zh" else " ").join(parts))
    if not sentences:
        raise ScriptError(f"template {name} produced an empty script")
    return sentences, warnings


def _banner(
    warnings: Sequence[str], found: Sequence[tuple[str, Alert]], book: Phrasebook
) -> tuple[dict[str, str], ...]:
    """The banner entries of a script, one per warning of the facts: venue, kind, colour, title
    ("寒潮黄色预警") and text, the template's warning sentence for it when the template words
    each warning on its own line, else all its warning sentences together."""
    together = ("" if book.lang == "zh" else " ").join(warnings)
    one_each = len(warnings) == len(found)
    return tuple(
        {
            "venue_id": venue_id,
            "kind": alert.kind,
            "colour": alert.colour,
            "title": book.alert_title(alert.kind, alert.colour),
            "text": warnings[position] if one_each else together,
        }
        for position, (venue_id, alert) in enumerate(found)
    )


def _render(
    kind: str,
    context_for: Callable[[int], dict[str, Any]],
    folders: Sequence[Path],
    book: Phrasebook,
    day: dt.date,
    venue_ids: Sequence[str],
    limits: RenderLimits,
) -> Script:
    """Render a template into a script (each rendering within ``limits``). Templates first get ``concise=0``; while the script
    would run longer than :data:`SPOKEN_SECONDS` allows (its upper bound, less the estimate's
    :data:`ESTIMATE_TOLERANCE`), they are rendered again with ``concise=1`` (optional clauses
    go) and then ``concise=2`` (the parts of the day, or the areas, are merged, as a bulletin
    otherwise speaks of conditions by part of the day) and ``concise=3`` (shortest forms)."""
    name = f"{kind}.{book.lang}.j2"
    env = _environment(tuple(folders), book.lang)
    longest = SPOKEN_SECONDS[kind][1] / (1.0 + ESTIMATE_TOLERANCE)
    for concise in CONCISE_LEVELS:
        context = context_for(concise)
        text = _render_text(env, name, {**context, "concise": concise}, limits)
        sentences, warnings = _sentences(text, book.lang, name)
        script = _script(kind, book.lang, day, sentences, venue_ids)
        script = dataclasses.replace(
            script, alerts=_banner(warnings, context.get("_alerts", ()), book)
        )
        if script.estimated_seconds <= longest:
            break
    return script


def _folders_and_phrasebook(
    templates_dir: str | Path | None, lang: str
) -> tuple[list[Path], Phrasebook]:
    folders = _template_folders(templates_dir)
    return folders, Phrasebook(load_wording(folders), lang)


def phrasebook(templates_dir: str | Path | None, lang: str) -> Phrasebook:
    """The wording table of ``lang``, from a user folder of templates (its ``wording.toml``
    first) and the shipped one."""
    return _folders_and_phrasebook(templates_dir, lang)[1]


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


# -- template variables from the facts ---------------------------------------------------------
def _check_args(lang: str, kind: str) -> None:
    if lang not in LANGUAGES:
        raise ScriptUsageError(unknown_name("unsupported script language", lang, LANGUAGES))
    if kind not in KINDS:
        raise ScriptUsageError(unknown_name("unknown script kind", kind, KINDS))


def parse_date(date: str | dt.date | None) -> dt.date | None:
    """A local date from ``YYYY-MM-DD`` (or a date/datetime); None stays None."""
    if date is None or (isinstance(date, dt.date) and not isinstance(date, dt.datetime)):
        return date
    if isinstance(date, dt.datetime):
        return date.date()
    try:
        return dt.date.fromisoformat(str(date))
    except ValueError:
        raise ScriptUsageError(f"date {date!r} is not a date (use YYYY-MM-DD)") from None


def _trend(day: VenueDay) -> dict[str, Any]:
    trend = day.trend
    return {"temperature": trend.temperature, "change": trend.change, "wind": trend.wind}


def _sky(period: PeriodFacts) -> str:
    return sky_key(period.cloud_mean or 0.0, period.snow_hours or 0)


def _sector(direction_deg: float | None) -> int | None:
    """The 8-point sector of a direction (which periods may merge on), None without one."""
    if direction_deg is None:
        return None
    return int((direction_deg % 360.0) / 45.0 + 0.5) % 8


def _vector_mean(winds: Sequence[Any]) -> float | None:
    """The direction of several parts' winds together: their directions weighted by their
    strongest speeds (None when none has a direction)."""
    east = north = 0.0
    known = False
    for wind in winds:
        if wind is None or wind.direction_deg is None:
            continue
        known = True
        radians = np.deg2rad(wind.direction_deg)
        east += wind.speed_max_kmh * float(np.sin(radians))
        north += wind.speed_max_kmh * float(np.cos(radians))
    if not known or np.hypot(east, north) < 1e-6:
        return None
    return float(np.degrees(np.arctan2(east, north)) % 360.0)


def _period_groups(
    periods: Sequence[PeriodFacts], book: Phrasebook, *, merge_all: bool = False
) -> list[dict[str, Any]]:
    """Consecutive parts of the day with the same sky, wind group and wind direction (8
    points), merged (all of them with ``merge_all``: the sky then follows the mean cloud cover
    and all hours of snow)."""
    groups: list[dict[str, Any]] = []
    for period in periods:
        sky = _sky(period)
        wind_kmh = period.wind_max.value
        sector = _sector(period.wind.direction_deg if period.wind else None)
        last = groups[-1] if groups else None
        if last and (
            merge_all
            or (
                last["sky"] == sky
                and last["group"] == _wind_group(wind_kmh)
                and last["sector"] == sector
            )
        ):
            last["keys"].append(period.key)
            last["wind_kmh"] = max(last["wind_kmh"], wind_kmh)
            last["periods"].append(period)
            last["group"] = _wind_group(last["wind_kmh"])
            continue
        groups.append(
            {
                "keys": [period.key],
                "sky": sky,
                "group": _wind_group(wind_kmh),
                "sector": sector,
                "wind_kmh": wind_kmh,
                "periods": [period],
            }
        )
    result = []
    for group in groups:
        keys = group["keys"]
        members = group["periods"]
        span = keys[0] if len(keys) == 1 else f"{keys[0]}-{keys[-1]}"
        if merge_all and len(keys) > 1:
            clouds = [0.0 if p.cloud_mean is None else p.cloud_mean for p in members]
            cloud = float(np.mean(np.asarray(clouds, dtype=np.float64)))
            group["sky"] = sky_key(cloud, sum(p.snow_hours or 0 for p in members))
        winds = [p.wind for p in members]
        low = min(
            w.speed_min_kmh if w else p.wind_max.value for w, p in zip(winds, members, strict=False)
        )
        gusts = [w.gust_max_kmh for w in winds if w is not None and w.gust_max_kmh is not None]
        direction = _vector_mean(winds)
        gust = max(gusts) if gusts else None
        result.append(
            {
                "key": span,
                "label": book.period(span),
                "sky": book.sky(group["sky"]),
                "wind": book.wind_words(low, group["wind_kmh"], direction, gust),
                "direction": book.direction(direction),
                "force": beaufort_force(group["wind_kmh"]),
                "gust_force": None if gust is None else beaufort_force(gust),
                "t_min": min(p.t_min.value for p in members),
                "t_max": max(p.t_max.value for p in members),
                "wind_kmh": group["wind_kmh"],
            }
        )
    return result


def _wind_group(speed_kmh: float) -> str:
    return wind_group(beaufort_force(speed_kmh))


def _temperatures(day: VenueDay, book: Phrasebook) -> dict[str, Any]:
    """The day's lowest and highest temperature, each with the part of the day it belongs to
    ("早晨" / "early in the morning"), and the evening's range when neither falls in it."""
    low, high = day.temperature_min, day.temperature_max
    evening = next((p for p in day.periods if p.key == "evening"), None)
    show_evening = evening is not None and "evening" not in (low.period, high.period)
    narrow = round_half_away(high.value) - round_half_away(low.value) <= NARROW_RANGE_K
    return {
        # A day whose extremes round at most NARROW_RANGE_K apart is said as one value.
        "steady": narrow,
        "low": low.value,
        "low_when": book.day_part(low.time),
        "high": high.value,
        "high_when": book.day_part(high.time),
        "evening": (
            {"t_min": evening.t_min.value, "t_max": evening.t_max.value} if show_evening else None
        ),
    }


def _contrast(day: VenueDay) -> dict[str, Any] | None:
    """A change of the wind over the spectator hours worth saying: from the first part of the
    day to the windiest, at least 2 Beaufort forces up and reaching force 4 (the trend's rule,
    :data:`bulletin.facts.day.WIND_TREND_FORCES`), or as much down from the first."""
    if len(day.periods) < 2:
        return None
    forces = [beaufort_force(p.wind_max.value) for p in day.periods]
    first = forces[0]
    top = max(forces)
    if top - first >= 2 and top >= 4:
        return {"wind": "stronger", "from": day.periods[forces.index(top)].key}
    last = forces[-1]
    if first - last >= 2 and first >= 4:
        return {"wind": "weaker", "from": day.periods[-1].key}
    return None


def _closing(day_alerts: Sequence[Alert], level: int, snow: bool, force: int, cloud: float) -> str:
    """The key of the closing line (:data:`bulletin.wording.CLOSINGS`): a warning, the
    composite level 4 or 3, snow, a strong wind, a fair sky (mean cloud below the "cloudy"
    edge of :data:`bulletin.wording.SKY_EDGES_PCT`), or the default."""
    from .wording import SKY_EDGES_PCT

    if day_alerts:
        return "alert"
    if level >= 4:
        return "severe"
    if level == 3:
        return "considerable"
    if snow:
        return "snow"
    if force >= WINDY_FORCE:
        return "windy"
    if cloud < SKY_EDGES_PCT["cloudy"]:
        return "fine"
    return "default"


def _alert_facts(alert: Alert, book: Phrasebook) -> dict[str, Any]:
    return {
        "kind": alert.kind,
        "colour": alert.colour,
        "colour_name": book.alert_colour(alert.colour),
        "title": book.alert_title(alert.kind, alert.colour),
        "short": book.alert_title(alert.kind, alert.colour, short=True),
        "level": alert.level,
        "value": alert.value,
        "drop": alert.drop,
        "force": alert.force,
        "gust_force": alert.gust_force,
        "gust": alert.gust,
        "hours": alert.hours,
    }


def index_facts(day: VenueDay, book: Phrasebook) -> dict[str, dict[str, Any]]:
    """The template variables of each index of a venue-day (``indices`` of the venue
    template): level, title, level name (``name``, as said) and advice, and each index's own
    figures. The video cards show the same words (:func:`bulletin.video.cards.day_facts`)."""
    facts: dict[str, dict[str, Any]] = {}
    for index in ADVICE_INDICES:
        level = day.level(index)
        facts[index] = {
            "key": index,
            "level": level,
            "title": book.title(index),
            "name": book.spoken_level_name(index, level),
            "advice": book.advice(index, level),
        }
    # Wind chill: the coldest moment of the day.
    coldest = day.wind_chill_min
    facts["wind_chill"].update(
        lowest=coldest.value,
        time=coldest.time,
        when=book.clock(coldest.time),
        period=book.period(coldest.period),
    )
    # Frostbite: minutes from the regression where quotable, else the level's ECCC range.
    low_high = FROSTBITE_LEVEL_MINUTES.get(facts["frostbite"]["level"])
    facts["frostbite"].update(
        minutes=day.frostbite_minutes,
        range_low=low_high[0] if low_high else None,
        range_high=low_high[1] if low_high else None,
    )
    # Clothing: the exposure limit of the warmest outfit when it is short.
    exposure = day.exposure_limit_h
    facts["clothing"].update(
        clo=day.clothing_clo,
        exposure_h=exposure if exposure is not None and exposure < EXPOSURE_QUOTE_MAX_H else None,
    )
    # Cold/flu: the reasons behind the day's score, in the index's own order.
    facts["cold"]["reasons"] = [book.reason(r) for r in day.today.cold_reasons]
    # Sunscreen: the day's highest UV index and its WHO category.
    category = _uv_category(day.uv_max)
    facts["sunscreen"].update(
        uv=day.uv_max,
        uv_level=category,
        uv_name=book.level_name("uv_category", category),
    )
    # Goggles: the darkest lens needed, and the lightest when the light changes over the day.
    chosen = list(day.lenses[:1]) + list(day.lenses[1:][-1:])
    facts["goggles"]["lenses"] = [book.lens(code) for code in chosen]
    # Composite: the part of the day where watching is hardest, when the day is not uniform.
    facts["spectator"]["worst_period"] = (
        book.period(day.worst_period) if day.worst_period is not None else None
    )
    return facts


def _uv_category(uv_max: float) -> int:
    from .indices import who_uv_category

    return int(np.asarray(who_uv_category(np.array([uv_max], dtype=np.float64)))[0])


def _date_facts(day: dt.date, book: Phrasebook) -> dict[str, Any]:
    return {"iso": day.isoformat(), "text": book.date(day)}


def _venue_context(day: VenueDay, book: Phrasebook) -> dict[str, Any]:
    venue, lang = day.venue, book.lang
    day_alerts = alerts(day)
    return {
        "lang": lang,
        "kind": "venue",
        "venue": {
            "id": venue.id,
            "name": venue_name(venue, lang),
            "name_in_sentence": book.venue(venue),
            "zone": zone_name(venue, lang),
        },
        "date": _date_facts(day.date, book),
        "trend": _trend(day),
        "periods": _period_groups(day.periods, book),
        "whole_day": _period_groups(day.periods, book, merge_all=True)[0],
        "temperature": _temperatures(day, book),
        "contrast": _contrast(day),
        "indices": index_facts(day, book),
        "order": list(INDEX_ORDER),
        "alerts": [_alert_facts(alert, book) for alert in day_alerts],
        "alert_list": book.alert_list([(a.kind, a.colour) for a in day_alerts]),
        "chances": _venue_chances(day, book),
        "closing": book.closing(
            _closing(
                day_alerts,
                day.level("spectator"),
                day.weather.snow_hours > 0,
                beaufort_force(day.weather.wind_kmh),
                day.weather.cloud,
            )
        ),
        "_alerts": [(venue.id, alert) for alert in day_alerts],
    }


def _venue_chances(day: VenueDay, book: Phrasebook) -> list[dict[str, Any]]:
    """The ensemble probabilities of level 3 or more said for a venue-day (none without an
    ensemble): index, title, the level-3 name and the probability."""
    return [
        {
            "key": index,
            "title": book.title(index),
            "name": book.spoken_level_name(index, 3),
            "chance": day.chances[index],
        }
        for index in CHANCE_INDICES
        if day.chances.get(index, 0.0) >= CHANCE_MIN
    ]


class _Places:
    """Names for groups of venues: a zone when all its venues are in the group, else venues."""

    def __init__(self, days: Sequence[VenueDay], book: Phrasebook) -> None:
        self.book = book
        self.order = [d.venue.id for d in days]
        self.names = {d.venue.id: book.venue(d.venue) for d in days}
        self.zones: dict[str, list[str]] = {}
        for d in days:
            zone = zone_name(d.venue, book.lang)
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
    days: Sequence[VenueDay], book: Phrasebook, concise: int = 0
) -> dict[str, Any]:
    """The overview template's variables. A concise overview names only the worst group of
    each index (the templates say so), so "the same venues" may stand for the venues of the
    previous index sentence whenever that sentence named exactly those venues and no others."""
    places = _Places(days, book)
    by_id = {d.venue.id: d for d in days}
    weather = {vid: d.weather for vid, d in by_id.items()}
    areas = []
    for label, ids in places.areas():
        parts = [weather[vid] for vid in ids]
        wind_kmh = max(p.wind_kmh for p in parts)
        windiest = max((by_id[vid] for vid in ids), key=lambda d: d.wind.speed_max_kmh)
        cloud = float(np.mean([p.cloud for p in parts]))
        snow = sum(p.snow_hours for p in parts)
        areas.append(
            {
                "label": label,
                "t_min": min(p.t_min for p in parts),
                "t_max": max(p.t_max for p in parts),
                "wind_kmh": wind_kmh,
                "force": beaufort_force(wind_kmh),
                "wind": _day_wind(windiest, book),
                "sky": book.sky(sky_key(cloud, snow)),
                "wind_chill": min(p.wind_chill for p in parts),
            }
        )
    # The whole region at once, for a concise overview: the sky when every area shares it.
    skies = {area["sky"] for area in areas}
    strongest = max(weather.values(), key=lambda w: w.wind_kmh).wind_kmh
    everywhere = {
        "label": places.label(places.order),
        "sky": skies.pop() if len(skies) == 1 else None,
        "t_min": min(w.t_min for w in weather.values()),
        "t_max": max(w.t_max for w in weather.values()),
        "wind_kmh": strongest,
        "force": beaufort_force(strongest),
        "wind": _day_wind(max(days, key=lambda d: d.wind.speed_max_kmh), book),
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
        levels = {vid: d.level(index) for vid, d in by_id.items()}
        ordered = sorted(set(levels.values()), reverse=True)
        groups = []
        named: frozenset[str] = frozenset()
        for position, level in enumerate(ordered):
            ids = [vid for vid in places.order if levels[vid] == level]
            last = position == len(ordered) - 1 and position > 0
            groups.append(
                {
                    "level": level,
                    "name": _group_name(index, level, [by_id[vid] for vid in ids], book),
                    "advice": book.advice(index, level),
                    "places": places.label(ids, rest=last, named=named),
                }
            )
            named |= frozenset(ids)
        groups_ids = [frozenset(vid for vid in places.order if levels[vid] == lv) for lv in ordered]
        # Not in the shortest form, where the wind chill sentence before frostbite is left out.
        if (
            concise < 3
            and named_before == groups_ids[:1]
            and 1 < len(groups_ids[0]) < len(places.order)
        ):
            groups[0]["places"] = book.places("same")
        named_before = groups_ids[:1] if concise or len(groups) == 1 else groups_ids
        indices[index] = {
            "key": index,
            "title": book.title(index),
            "groups": groups,
            "worst": groups[0],
            # What the venues not in the worst group have, for a concise overview.
            "rest": (
                {"name": groups[1]["name"], "lower": len(groups) > 2} if len(groups) > 1 else None
            ),
        }
    all_alerts = [(d.venue.id, alert) for d in days for alert in alerts(d)]
    alert_groups: list[dict[str, Any]] = []
    for vid, alert in all_alerts:
        same = next(
            (g for g in alert_groups if (g["kind"], g["colour"]) == (alert.kind, alert.colour)),
            None,
        )
        if same is None:
            same = {**_alert_facts(alert, book), "ids": [], "alerts": []}
            alert_groups.append(same)
        same["ids"].append(vid)
        same["alerts"].append(alert)
    for group in alert_groups:
        group["places"] = places.label(group.pop("ids"))
        members = group.pop("alerts")
        values = [a.value for a in members if a.value is not None]
        group["value"] = (max if group["kind"] == "gale" else min)(values) if values else None
        drops = [a.drop for a in members if a.drop is not None]
        group["drop_min"] = min(drops) if drops else None
        group["drop_max"] = max(drops) if drops else None
        spans = [a.hours for a in members if a.hours is not None]
        group["hours"] = max(spans) if spans else None
        forces = [a.force for a in members if a.force is not None]
        group["force"] = max(forces) if forces else None
        gusts = [a.gust_force for a in members if a.gust_force is not None]
        group["gust_force"] = max(gusts) if gusts else None
    worst_level = max(d.level("spectator") for d in days)
    # The warnings of the same venues together, for a concise overview.
    alert_places: list[dict[str, Any]] = []
    for group in alert_groups:
        same = next((a for a in alert_places if a["places"] == group["places"]), None)
        if same is None:
            same = {"places": group["places"], "shorts": [], "pairs": []}
            alert_places.append(same)
        same["shorts"].append(group["short"])
        same["pairs"].append((group["kind"], group["colour"]))
    for same in alert_places:
        same["list"] = book.alert_list(same.pop("pairs"))
    uniform = [index for index in (*INDEX_ORDER, "spectator") if len(indices[index]["groups"]) == 1]
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
        "hazards": _hazards(days, places, book),
        "best": _best(days, places),
        "chances": _overview_chances(days, places, book),
        "alerts": alert_groups,
        "alert_places": alert_places,
        "uniform": uniform,
        "closing": book.closing(
            _closing(
                [alert for _, alert in all_alerts],
                worst_level,
                any(w.snow_hours > 0 for w in weather.values()),
                beaufort_force(strongest),
                max(w.cloud for w in weather.values()),
            )
        ),
        "_alerts": all_alerts,
    }


def _group_name(index: str, level: int, days: Sequence[VenueDay], book: Phrasebook) -> str:
    """The level name of a group of venues in the overview; in English the full level name
    (a group may follow "elsewhere"), and the sun protection of a group named by the WHO UV
    category of its highest UV index ("moderate UV"), as the venue bulletin says it."""
    if index == "sunscreen" and book.lang == "en":
        category = _uv_category(max(d.uv_max for d in days))
        return f"{book.level_name('uv_category', category)} UV"
    if book.lang == "en":  # "frostbite possible at ..., high risk elsewhere": the full name
        return book.level_name(index, level).replace(" / ", " or ").replace("/", " or ")
    return book.spoken_level_name(index, level)


def _day_wind(day: VenueDay, book: Phrasebook) -> str:
    """The wind words of a venue's whole spectator day: the forces of its parts' winds, the
    direction at the strongest wind and the strongest gust."""
    winds = [p.wind for p in day.periods if p.wind is not None]
    low = min((w.speed_min_kmh for w in winds), default=day.wind.speed_max_kmh)
    high = max(day.wind.speed_max_kmh, *(w.speed_max_kmh for w in winds))
    return book.wind_words(low, high, day.wind.direction_deg, day.wind.gust_max_kmh)


def _hazards(days: Sequence[VenueDay], places: _Places, book: Phrasebook) -> dict[str, Any]:
    """The worst venue of each hazard (the first in venue order among equals): the lowest wind
    chill and when, the strongest wind, the lowest temperature, the highest frostbite level
    (from level 2) and its minutes."""
    coldest_feel = min(days, key=lambda d: d.wind_chill_min.value)
    windiest = max(days, key=lambda d: d.wind.speed_max_kmh)
    coldest = min(days, key=lambda d: d.temperature_min.value)
    frost = max(days, key=lambda d: d.level("frostbite"))
    return {
        "wind_chill": {
            "place": places.names[coldest_feel.venue.id],
            "value": coldest_feel.wind_chill_min.value,
            "when": book.clock(coldest_feel.wind_chill_min.time),
            "level": coldest_feel.level("wind_chill"),
        },
        "wind": {
            "place": places.names[windiest.venue.id],
            "wind": _day_wind(windiest, book),
            "force": beaufort_force(windiest.wind.speed_max_kmh),
        },
        "cold": {
            "place": places.names[coldest.venue.id],
            "value": coldest.temperature_min.value,
            "when": book.day_part(coldest.temperature_min.time),
        },
        "frostbite": (
            {
                "place": places.names[frost.venue.id],
                "level": frost.level("frostbite"),
                "name": book.spoken_level_name("frostbite", frost.level("frostbite")),
                "minutes": frost.frostbite_minutes,
            }
            if frost.level("frostbite") >= 2
            else None
        ),
    }


def _best(days: Sequence[VenueDay], places: _Places) -> dict[str, Any] | None:
    """Where watching is easiest: the venues of the lowest composite level, and of those the
    mildest wind chill (None when every venue is alike on both)."""
    lowest = min(d.level("spectator") for d in days)
    easiest = [d for d in days if d.level("spectator") == lowest]
    mildest = max(easiest, key=lambda d: d.wind_chill_min.value)
    if len(days) < 2:
        return None
    return {
        "place": places.names[mildest.venue.id],
        "level": lowest,
        "wind_chill": mildest.wind_chill_min.value,
        "uniform": len(easiest) == len(days),
    }


def _overview_chances(
    days: Sequence[VenueDay], places: _Places, book: Phrasebook
) -> list[dict[str, Any]]:
    """For each hazard index of :data:`CHANCE_INDICES`, the venue with the highest ensemble
    probability of level 3 or more, when it is at least :data:`CHANCE_MIN` (none without an
    ensemble)."""
    found = []
    for index in CHANCE_INDICES:
        known = [d for d in days if index in d.chances]
        if not known:
            continue
        top = max(known, key=lambda d: d.chances[index])
        if top.chances[index] < CHANCE_MIN:
            continue
        found.append(
            {
                "key": index,
                "title": book.title(index),
                "name": book.spoken_level_name(index, 3),
                "chance": top.chances[index],
                "place": places.names[top.venue.id],
            }
        )
    return found


# -- public API --------------------------------------------------------------------------------
def render_script(
    table: pd.DataFrame | VenueDay,
    venue: Venue,
    *,
    lang: str,
    date: str | dt.date | None = None,
    kind: str = "venue",
    templates_dir: str | Path | None = None,
    venues: Sequence[Venue] | None = None,
    time_limit_s: float | None = None,
    output_limit: int | None = None,
) -> Script:
    """The bulletin script of one venue for one local day.

    ``table`` is a :func:`bulletin.venue_table`, or the venue-day's facts
    (:func:`bulletin.facts.venue_day`, ``date`` is then theirs). An ensemble table (``member``)
    is spoken from its first member, the control (:func:`bulletin.facts.control_member`), with
    its ``p_<index>_level_ge3`` probabilities in words; ``date``
    (``YYYY-MM-DD``) defaults to the first full local day of the venue in the table.
    ``kind="overview"`` renders the daily overview instead (of ``venues``, or of ``venue``
    alone). Templates in ``templates_dir`` override the shipped ones by name.

    A template renders within ``time_limit_s`` seconds and writes at most ``output_limit``
    characters (defaults: :func:`bulletin.sandbox.render_limits`, 10 s and 64 KiB, or the
    environment's ``BULLETIN_TEMPLATE_TIME_LIMIT`` and ``BULLETIN_TEMPLATE_OUTPUT_LIMIT``);
    past either it fails with a one-line :class:`ScriptError` naming the template.
    """
    limits = render_limits(time_limit_s, output_limit)
    _check_args(lang, kind)
    if kind == "overview":
        if isinstance(table, VenueDay):
            if venues:
                raise ScriptError("an overview of several venues needs their table or facts")
            table = OverviewFacts(table.date, (table,))
        return render_overview(
            table,
            list(venues or [venue]),
            lang=lang,
            date=date,
            templates_dir=templates_dir,
            time_limit_s=limits.time_limit_s,
            output_limit=limits.output_limit,
        )
    if isinstance(table, VenueDay):
        day = table
    else:
        day = venue_day(control_member(table), venue, parse_date(date))
    folders, book = _folders_and_phrasebook(templates_dir, lang)
    context = _venue_context(day, book)
    return _render(kind, lambda _: context, folders, book, day.date, [venue.id], limits)


def render_overview(
    table: pd.DataFrame | OverviewFacts,
    venues: Sequence[Venue],
    *,
    lang: str,
    date: str | dt.date | None = None,
    templates_dir: str | Path | None = None,
    time_limit_s: float | None = None,
    output_limit: int | None = None,
) -> Script:
    """The daily overview of all ``venues``: conditions by zone, trends, and each index with
    the venues grouped by level (worst first). ``date`` defaults to the first full local day
    of the first venue. ``table`` may be the overview's facts (:func:`bulletin.facts.overview`)
    instead of the venue table; their venues and date are then the overview's. The template
    renders within ``time_limit_s`` and ``output_limit`` (as in :func:`render_script`)."""
    _check_args(lang, "overview")
    limits = render_limits(time_limit_s, output_limit)
    if isinstance(table, OverviewFacts):
        facts = table
    else:
        facts = overview(control_member(table), venues, parse_date(date))
    folders, book = _folders_and_phrasebook(templates_dir, lang)
    return _render(
        "overview",
        functools.partial(_overview_context, facts.days, book),
        folders,
        book,
        facts.date,
        list(facts.venue_ids),
        limits,
    )


def check_templates(templates_dir: str | Path | None, *, lang: str, kind: str = "venue") -> None:
    """Load the wording table and compile the ``kind`` template of ``lang`` (a user folder's
    first), so that a bad template or wording table fails before any forecast is read.
    Mistakes that depend on the data (a missing variable, the sandbox) show when rendering."""
    _check_args(lang, kind)
    folders, _ = _folders_and_phrasebook(templates_dir, lang)
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
    "index_facts",
    "length_features",
    "parse_date",
    "phrasebook",
    "render_overview",
    "render_script",
    "shipped_templates_dir",
    "write_script",
]
