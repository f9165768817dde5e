"""The words of the bulletin scripts: the wording table and how numbers are written.

The table (``templates/wording.toml``) maps index x level x language to advice, and holds the
small words every template shares: titles of the indices, parts of the day, sky, wind, goggle
lenses and the reasons for a cold/flu risk. Level *names* are not repeated there: they come
from :data:`bulletin.indices.LEVEL_NAMES`, so the scripts, the CSV and the video cards agree.

A :class:`Phrasebook` is the table seen in one language, plus the number formats of that
language. Numbers are rounded here, once, for every template (each rule says why):

* temperatures to whole degrees, half away from zero (CMA forecasts and the ECCC wind chill
  charts quote whole degrees), in Chinese with the sign ℃ as CMA bulletins write it; a range
  whose ends round at most :data:`NARROW_RANGE_K` apart is said as one value "左右" / "around"
  (its rounded middle; our choice, as a presenter says "-24℃左右" rather than "-24～-23℃");
* wind to the nearest 5 km/h, at least 5 (our choice: a 10 m forecast wind is uncertain by
  several km/h) and, in Chinese, as a Beaufort force (GB/T 28591-2012, the WMO scale) given as
  one force or two adjacent ones ("3～4级", as CMA bulletins do), with its direction from the
  16 points ("偏北风" for the points beside a cardinal one, 北风/东北风 for the others: our
  reading of CMA usage) or, in English, the 8 points the US National Weather Service names;
  gusts are said when the table has them and they reach a higher force than the mean wind;
* exposure limits rounded *down* (our choice: advice errs on the safe side), to 10 minutes
  below an hour and half hours above; minutes to frostbite to the nearest minute below 10 and
  the nearest 5 from 10 on, said as "about" (the regression's value, not a bound);
* probabilities to the nearest 10 %;
* the UV index to a whole number (WHO 2002: "report rounded integers").

Display text keeps symbols (``-12°C``, ``25 km/h``); :func:`bulletin.spoken.normalize_for_speech`
later turns them into words for the voice (零下12摄氏度, minus twelve degrees Celsius).
"""

from __future__ import annotations

import copy
import datetime as dt
import importlib.metadata
import math
import re
import site
import sys
import sysconfig
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ScriptError, ScriptUsageError, unknown_name
from .facts.alerts import COLOURS as ALERT_COLOURS
from .facts.alerts import KINDS as ALERT_KINDS
from .facts.beaufort import BEAUFORT_EDGES_MS, beaufort_force

if TYPE_CHECKING:
    from .venues import Venue

LANGUAGES = ("zh", "en")
WORDING_FILE = "wording.toml"
PROJECT = "spectator-bulletin"
#: Where a wheel installs the shipped templates, relative to the installation prefix
#: (``[tool.setuptools.data-files]`` in pyproject.toml).
INSTALLED_TEMPLATES = Path("share") / PROJECT / "templates"

#: Indices with advice per level; ``uv_category`` is spoken by its level name only.
ADVICE_INDICES = (
    "wind_chill",
    "frostbite",
    "clothing",
    "cold",
    "sunscreen",
    "goggles",
    "spectator",
)
#: Every index a sentence can be about (the video highlights its card while it is spoken).
INDEX_KEYS = (*ADVICE_INDICES, "uv_category")
LENSES = ("S0", "S1", "S2", "S3", "S4")
PERIOD_SPANS = (
    "morning",
    "afternoon",
    "evening",
    "morning-afternoon",
    "afternoon-evening",
    "morning-evening",
)
SKY_KEYS = ("clear", "few", "cloudy", "overcast", "cloudy_snow", "overcast_snow")
WIND_GROUPS = ("light", "moderate", "fresh", "strong", "gale")

#: Beaufort force from which each wind group starts (WMO descriptions: 3 gentle breeze,
#: 5 fresh breeze, 6 strong breeze, 8 gale).
WIND_GROUP_FROM = {"light": 0, "moderate": 3, "fresh": 5, "strong": 6, "gale": 8}
#: Mean total cloud cover (%) from which a period is "few clouds", "cloudy", "overcast" (our
#: choice, after the tenths of sky used in CMA forecast wording: 晴 below 2 tenths, 阴 from 8).
SKY_EDGES_PCT = {"few": 20.0, "cloudy": 40.0, "overcast": 80.0}
#: A period "has snow" when snow falls (>= 0.1 mm/h) in at least one of its hours.
SNOW_HOURS_MIN = 1
#: A temperature range whose rounded ends are at most this far apart (K) is said as one value
#: "左右" / "around" (our choice).
NARROW_RANGE_K = 2
#: Parts of the local day a clock time is read with, [start hour, end hour) (our choice, after
#: the usage of CMA television bulletins: 早晨 before 08:00, 傍晚 around sunset).
DAY_PARTS = {
    "night": (0, 5),
    "early_morning": (5, 8),
    "morning": (8, 11),
    "midday": (11, 13),
    "afternoon": (13, 17),
    "dusk": (17, 19),
    "evening": (19, 24),
}
CLOSINGS = ("alert", "severe", "considerable", "snow", "windy", "fine", "default")


def shipped_templates_dir() -> Path:
    """The folder of the shipped templates: ``templates/`` of a checkout, else the copy a wheel
    installs under ``<prefix>/share/spectator-bulletin/templates``."""
    package_parent = Path(__file__).resolve().parent.parent
    checkout = package_parent / "templates"
    if (package_parent / "pyproject.toml").is_file() and (checkout / WORDING_FILE).is_file():
        return checkout
    candidates: list[Path] = []
    try:
        files = importlib.metadata.distribution(PROJECT).files or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    suffix = (INSTALLED_TEMPLATES / WORDING_FILE).as_posix()
    candidates += [Path(str(f.locate())).parent for f in files if f.as_posix().endswith(suffix)]
    # `pip install --target` records wrong relative paths; the data then sits beside the package.
    prefixes = [package_parent, Path(sys.prefix), Path(sysconfig.get_path("data"))]
    if site.USER_BASE:
        prefixes.append(Path(site.USER_BASE))
    candidates += [prefix / INSTALLED_TEMPLATES for prefix in prefixes]
    for folder in candidates:
        if (folder / WORDING_FILE).is_file():
            return folder.resolve()
    raise ScriptError(
        "the shipped templates are missing (no templates/wording.toml in the checkout or "
        f"{INSTALLED_TEMPLATES} under the installation); reinstall {PROJECT}"
    )


def round_half_away(value: float) -> int:
    """Round to a whole number, halves away from zero (how the ECCC/NWS charts round)."""
    rounded = math.floor(abs(value) + 0.5)
    return int(math.copysign(rounded, value)) if rounded else 0


def wind_group(force: int) -> str:
    """The wind group (light ... gale) of a Beaufort force, see :data:`WIND_GROUP_FROM`."""
    return [group for group, start in WIND_GROUP_FROM.items() if force >= start][-1]


def sky_key(cloud_pct: float, snow_hours: int) -> str:
    """Sky of a period from its mean cloud cover (%) and its hours with snowfall.

    A period with snow is at least cloudy. Missing cloud cover counts as clear sky, the
    assumption the UV index also makes (bulletin.compute).
    """
    cloud = 0.0 if cloud_pct is None or math.isnan(cloud_pct) else float(cloud_pct)
    overcast = cloud >= SKY_EDGES_PCT["overcast"]
    if snow_hours >= SNOW_HOURS_MIN:
        return "overcast_snow" if overcast else "cloudy_snow"
    if overcast:
        return "overcast"
    if cloud >= SKY_EDGES_PCT["cloudy"]:
        return "cloudy"
    return "few" if cloud >= SKY_EDGES_PCT["few"] else "clear"


_LATIN_WORD_RE = re.compile(r"[A-Za-z]+")


def venue_name(venue: Venue, lang: str) -> str:
    """The venue's name in ``lang``; a Chinese script needs a Chinese name (``name_zh``)."""
    if lang == "en":
        return venue.name
    name = venue.name_zh or venue.name
    if _LATIN_WORD_RE.search(name):
        raise ScriptError(f"venue {venue.id} has no Chinese name (name_zh) for a zh script")
    return name


#: Names of time zones as a broadcast says them, by IANA zone (our choice; China's standard
#: time, UTC+8, is called 北京时间 by the National Time Service Center, NTSC, which keeps it).
#: Other zones are named by their abbreviation in the tz database (``tzname``).
ZONE_NAMES_ZH = {"Asia/Shanghai": "北京时间", "Asia/Chongqing": "北京时间", "PRC": "北京时间"}
ZONE_NAMES_EN = {"Asia/Shanghai": "Beijing time", "Asia/Chongqing": "Beijing time",
                 "PRC": "Beijing time"}  # fmt: skip
_ZONE_NAMES = {"zh": ZONE_NAMES_ZH, "en": ZONE_NAMES_EN}


def zone_label(moment: dt.datetime, zone: dt.tzinfo, lang: str) -> str:
    """The name of ``zone`` at ``moment`` as a broadcast says it, with its offset:
    ``北京时间 (UTC+8)``, ``Beijing time (UTC+8)``, ``CET (UTC+1)``, ``UTC``. The name is a
    broadcast's (:data:`ZONE_NAMES_ZH`, :data:`ZONE_NAMES_EN`) or else the tz database's
    abbreviation, the offset that of the tz database for that moment; a naive ``moment`` is
    taken as UTC (as forecast times are)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    local = moment.astimezone(zone)
    offset = local.utcoffset() or dt.timedelta(0)
    key = getattr(zone, "key", None)
    if not offset and key in (None, "UTC", "Etc/UTC"):
        return "UTC"
    minutes = round(offset.total_seconds() / 60)
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    offset_text = f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")
    # A language without its own zone names gets the English ones, as the page's labels.
    name = _ZONE_NAMES.get(lang, ZONE_NAMES_EN).get(key or "") or local.tzname() or offset_text
    return f"{name} ({offset_text})" if name != offset_text else name


def local_time_text(moment: dt.datetime, zone: dt.tzinfo, lang: str) -> str:
    """``moment`` in ``zone`` as ``YYYY-MM-DD HH:MM <zone label>`` (:func:`zone_label`), e.g.
    ``2022-02-04 20:00 北京时间 (UTC+8)``; ``... UTC`` in UTC. A naive ``moment`` is taken as
    UTC. The daily page and the video's title bar show times so."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M} {zone_label(moment, zone, lang)}"


def zone_name(venue: Venue, lang: str) -> str:
    """The venue's zone in ``lang``, "" when it has none in that language."""
    zone = venue.zone if lang == "en" else venue.zone_zh
    if lang == "zh" and zone and _LATIN_WORD_RE.search(zone):
        return ""
    return zone


def _merge(base: dict[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ScriptError(f"wording table {path}: {exc}") from None
    except OSError as exc:
        raise ScriptError(f"cannot read wording table {path}: {exc.strerror or exc}") from None


def load_wording(folders: Sequence[Path]) -> dict[str, Any]:
    """The wording table: the last folder's ``wording.toml`` (the shipped one) overlaid by those
    of the earlier folders (user folders), key by key. Checked with :func:`check_wording`."""
    table: dict[str, Any] = {}
    sources = [Path(folder) / WORDING_FILE for folder in folders]
    found = [path for path in sources if path.is_file()]
    if not found:
        raise ScriptError(f"no {WORDING_FILE} in {', '.join(str(f) for f in folders)}")
    for path in reversed(found):
        _check_inside(path)
        _merge(table, _read_toml(path))
    check_wording(table, " + ".join(str(p) for p in found))
    return table


def _check_inside(path: Path) -> None:
    """Refuse a wording file that is a symbolic link or resolves outside its folder: like the
    templates (:class:`bulletin.sandbox.ConfinedLoader`), it must be a file of that folder."""
    import os

    folder = os.path.realpath(path.parent)
    if path.is_symlink() or os.path.commonpath([folder, os.path.realpath(path)]) != folder:
        raise ScriptError(
            f"{path}: refused, a symbolic link or a file outside its templates folder "
            "(wording files must be plain files inside the folder)"
        )


def _level_names() -> Mapping[str, Mapping[int, tuple[str, str]]]:
    from .indices import LEVEL_NAMES

    return LEVEL_NAMES


def _cold_components() -> tuple[str, ...]:
    from .indices import COLD_RISK_COMPONENTS

    return tuple(COLD_RISK_COMPONENTS)


def check_wording(table: Mapping[str, Any], source: str) -> None:
    """Raise :class:`ScriptError` naming the first missing or empty entry of the table.

    Every level of every index in :data:`ADVICE_INDICES` needs advice in both languages, and the
    advice of two levels of one index must differ (each level says something of its own).
    """

    def need(path: tuple[str, ...]) -> Any:
        node: Any = table
        for part in path:
            if not isinstance(node, Mapping) or part not in node:
                raise ScriptError(f"wording table {source} lacks [{'.'.join(path)}]")
            node = node[part]
        return node

    def need_text(path: tuple[str, ...]) -> None:
        for lang in LANGUAGES:
            text = need((*path, lang))
            if not isinstance(text, str) or not text.strip():
                raise ScriptError(f"wording table {source}: {'.'.join(path)}.{lang} is empty")

    level_names = _level_names()
    for index in ADVICE_INDICES:
        need_text(("titles", index))
        for level in sorted(level_names[index]):
            need_text(("advice", index, str(level)))
        for lang in LANGUAGES:
            texts = [need(("advice", index, str(level), lang)) for level in level_names[index]]
            if len(set(texts)) != len(texts):
                raise ScriptError(
                    f"wording table {source}: two levels of {index} share the same {lang} advice"
                )
    need_text(("titles", "uv_category"))
    for component in _cold_components():
        need_text(("cold_reasons", component))
    for lens in LENSES:
        need_text(("lenses", lens))
    for span in PERIOD_SPANS:
        need_text(("periods", span))
    for sky in SKY_KEYS:
        need_text(("sky", sky))
    for group in WIND_GROUPS:
        need_text(("wind", group))
    for place in ("all", "rest", "same", "zone_rest"):
        need_text(("places", place))
    for part in (*DAY_PARTS, "evening_clock"):
        need_text(("day_parts", part))
    for closing in CLOSINGS:
        need_text(("closings", closing))
    for kind in ALERT_KINDS:
        need_text(("alert_kinds", kind))
    for colour in ALERT_COLOURS:
        need_text(("alert_colours", colour))
    for lang, points in (("zh", 16), ("en", 8)):
        names = need(("directions", lang))
        if not isinstance(names, list) or len(names) != points or not all(names):
            raise ScriptError(f"wording table {source}: directions.{lang} needs {points} names")
    for lang in LANGUAGES:
        if len(need(("weekdays", lang))) != 7:
            raise ScriptError(f"wording table {source}: weekdays.{lang} needs 7 names")
    if len(need(("months", "en"))) != 12:
        raise ScriptError(f"wording table {source}: months.en needs 12 names")


class Phrasebook:
    """The wording table in one language, with that language's number formats.

    Its format methods are also the templates' filters (``{{ t | temp }}``).
    """

    def __init__(self, table: Mapping[str, Any], lang: str) -> None:
        if lang not in LANGUAGES:
            raise ScriptUsageError(unknown_name("unsupported script language", lang, LANGUAGES))
        self.table = table
        self.lang = lang
        self._slot = LANGUAGES.index(lang)
        self._names = _level_names()

    def _text(self, *path: str) -> str:
        node: Any = self.table
        for part in path:
            node = node[part]
        return str(node[self.lang]).strip()

    # -- words --------------------------------------------------------------------------------
    def title(self, index: str) -> str:
        return self._text("titles", index)

    def level_name(self, index: str, level: int) -> str:
        """The name of ``level`` of ``index``: the wording table's ``[level_names.<index>]``
        when it has one for the level, else :data:`bulletin.indices.LEVEL_NAMES`."""
        override = self.table.get("level_names", {}).get(index, {}).get(str(int(level)))
        if isinstance(override, Mapping) and str(override.get(self.lang, "")).strip():
            return str(override[self.lang]).strip()
        return self._names[index][int(level)][self._slot]

    def spoken_level_name(self, index: str, level: int) -> str:
        """The level name as said after "X指数：" / "X: ": alternatives joined by "或" / "or"
        instead of a slash, and a Chinese name that repeats the index's title at its start
        without it ("冻伤风险高" -> "风险高")."""
        name = self.level_name(index, level)
        if self.lang == "zh":
            name = name.replace("/", "或")
            title = self.title(index)
            if name.startswith(title) and len(name) > len(title):
                name = name[len(title) :]
            return name
        name = re.sub(r"\s*/\s*", " or ", name)
        title = self.title(index).lower()
        if name.lower().startswith(title + " ") and len(name) > len(title) + 1:
            name = name[len(title) + 1 :]
        return name

    def venue(self, venue: Venue) -> str:
        """The venue's name as said inside a sentence: in English with "the" before names
        that begin with a word of ``[articles] definite_before`` ("the National Stadium")."""
        name = venue_name(venue, self.lang)
        if self.lang == "en":
            words = self.table.get("articles", {}).get("definite_before", [])
            if any(name.split(" ", 1)[0] == word for word in words):
                return f"the {name}"
        return name

    def advice(self, index: str, level: int) -> str:
        return self._text("advice", index, str(int(level)))

    def period(self, span: str) -> str:
        return self._text("periods", span)

    def sky(self, key: str) -> str:
        return self._text("sky", key)

    def lens(self, code: str) -> str:
        return self._text("lenses", code)

    def places(self, which: str) -> str:
        """ "All venues", "the other venues" or "the same venues" in the overview."""
        return self._text("places", which)

    def zone_rest(self, zone: str) -> str:
        """ "张家口赛区其他场馆" / "the rest of Zhangjiakou"."""
        return self._text("places", "zone_rest").replace("{zone}", zone)

    def reason(self, component: str) -> str:
        return self._text("cold_reasons", component)

    def wind(self, speed_kmh: float) -> str:
        """The wind words for a (maximum) speed: "风力4级", "moderate winds up to 25 km/h"."""
        force = beaufort_force(speed_kmh)
        text = self._text("wind", wind_group(force))
        return text.replace("{force}", str(force)).replace("{speed}", self.speed(speed_kmh))

    def date(self, day: dt.date) -> str:
        """ "2月5日，星期六" / "Saturday, February 5th"."""
        weekday = self.table["weekdays"][self.lang][day.weekday()]
        if self.lang == "zh":
            return f"{day.month}月{day.day}日，{weekday}"
        month = self.table["months"]["en"][day.month - 1]
        return f"{weekday}, {month} {_ordinal(day.day)}"

    # -- numbers ------------------------------------------------------------------------------
    @property
    def _degree_sign(self) -> str:
        return "℃" if self.lang == "zh" else "°C"

    def temp(self, value: float) -> str:
        """A temperature in whole degrees: "-12℃" / "-12°C"."""
        return f"{round_half_away(value)}{self._degree_sign}"

    def temp_range(self, low: float, high: float) -> str:
        """ "-12～-5℃" (Chinese bulletin style) or "-12 to -5°C"; a narrow range (ends at most
        :data:`NARROW_RANGE_K` apart, or alike) as its middle, "-24℃左右" / "around -24°C"."""
        lo, hi = sorted((round_half_away(low), round_half_away(high)))
        if hi - lo <= NARROW_RANGE_K:
            middle = round_half_away((low + high) / 2.0)
            if self.lang == "zh":
                return f"{middle}℃左右"
            return f"around {middle}°C"
        return f"{lo}～{hi}℃" if self.lang == "zh" else f"{lo} to {hi}°C"

    def degrees(self, value: float) -> str:
        """A temperature difference in whole degrees: "7℃" / "7°C"."""
        return f"{abs(round_half_away(value))}{self._degree_sign}"

    def degrees_range(self, low: float, high: float) -> str:
        """A range of temperature differences: "6～9℃" / "6 to 9°C" (one value when alike)."""
        lo, hi = sorted((abs(round_half_away(low)), abs(round_half_away(high))))
        if lo == hi:
            return f"{lo}{self._degree_sign}"
        return f"{lo}～{hi}℃" if self.lang == "zh" else f"{lo} to {hi}°C"

    def percent(self, fraction: float) -> str:
        """A probability (0-1) to the nearest 10 %: "70%"."""
        return f"{10 * round_half_away(10.0 * max(0.0, min(1.0, fraction)))}%"

    # -- wind and time of day -----------------------------------------------------------------
    def direction(self, degrees: float | None) -> str:
        """The name of the direction a wind blows from: "偏北风" / "north" ("" for None)."""
        if degrees is None or math.isnan(degrees):
            return ""
        names = self.table["directions"][self.lang]
        sector = 360.0 / len(names)
        return str(names[math.floor((degrees % 360.0) / sector + 0.5) % len(names)])

    def forces(self, low_kmh: float, high_kmh: float) -> tuple[int, int]:
        """The Beaufort forces a wind is said with: one force, or two adjacent ones."""
        high = beaufort_force(high_kmh)
        low = min(high, max(beaufort_force(low_kmh), high - 1))
        return low, high

    def wind_words(
        self,
        low_kmh: float,
        high_kmh: float,
        direction_deg: float | None = None,
        gust_kmh: float | None = None,
    ) -> str:
        """A wind as a bulletin says it: "偏北风3～4级，阵风6级" / "north winds 15 to 25 km/h,
        gusting to 45 km/h". Without a direction: "风力3～4级" / "winds ...", and "微风" /
        "light winds" below force 3; gusts only when given and stronger in force."""
        low, high = self.forces(low_kmh, high_kmh)
        name = self.direction(direction_deg)
        gust_force = None if gust_kmh is None else beaufort_force(gust_kmh)
        gusty = gust_force is not None and gust_force > high
        if self.lang == "zh":
            force = f"{low}～{high}级" if low < high else f"{high}级"
            if name:
                text = f"{name}{force}"
            elif high < WIND_GROUP_FROM["moderate"]:
                text = self._text("wind", "light")
            else:
                text = f"风力{force}"
            return text + (f"，阵风{gust_force}级" if gusty else "")
        # The speeds of the same forces as the Chinese words: from the lower of the two.
        low_edge = BEAUFORT_EDGES_MS[low - 1] * 3.6 if low >= 1 else 0.0
        slow, fast = self.speed(max(low_kmh, low_edge)), self.speed(high_kmh)
        speeds = f"around {fast}" if slow == fast else f"{slow.removesuffix(' km/h')} to {fast}"
        group = wind_group(high)
        adjective = {"light": "light ", "gale": "gale-force "}.get(group, "")
        if name:
            text = f"{adjective}{name} winds {speeds}"
        else:
            text = f"{adjective}winds {speeds}"
        if gusty and gust_kmh is not None:
            text += f", gusting to {self.speed(gust_kmh)}"
        return text

    def day_part(self, time: str) -> str:
        """The part of the day of a local clock time ``HH:MM``: "早晨" / "early morning"."""
        hour = int(time.split(":")[0]) % 24
        key = next(k for k, (start, end) in DAY_PARTS.items() if start <= hour < end)
        return self._text("day_parts", key)

    def clock(self, time: str) -> str:
        """A local clock time ``HH:MM`` as a presenter says it: in Chinese with the part of
        the day, on a 12-hour dial ("早晨7点", "下午3点"); in English as ``HH:MM``, which the
        voice reads "seven a.m." (:mod:`bulletin.spoken`)."""
        hour, minute = (int(part) for part in time.split(":"))
        if self.lang == "zh":
            shown = hour - 12 if hour > 12 else hour
            part = self.day_part(time)
            if DAY_PARTS["evening"][0] <= hour:
                part = self._text("day_parts", "evening_clock")
            return f"{part}{shown}点" + (f"{minute}分" if minute else "")
        return f"{hour:02d}:{minute:02d}"

    def closing(self, key: str) -> str:
        """The closing line of a bulletin (:data:`CLOSINGS`)."""
        return self._text("closings", key)

    def alert_colour(self, colour: str) -> str:
        """ "蓝色" / "blue"."""
        return self._text("alert_colours", colour)

    def alert_list(self, warnings: Sequence[tuple[str, str]]) -> str:
        """Several warnings ((kind, colour) pairs) in one phrase, those of one colour together:
        "寒潮黄色、风寒和冻伤橙色" / "yellow cold wave, orange wind chill and frostbite"."""
        if not warnings:
            return ""
        by_colour: dict[str, list[str]] = {}
        for kind, colour in warnings:
            by_colour.setdefault(colour, []).append(self._text("alert_kinds", kind))
        if self.lang == "zh":
            parts = [f"{'和'.join(kinds)}{self.alert_colour(c)}" for c, kinds in by_colour.items()]
            return "、".join(parts)
        parts = [f"{self.alert_colour(c)} {self.join(kinds)}" for c, kinds in by_colour.items()]
        return ", ".join(parts)

    def alert_title(self, kind: str, colour: str, *, short: bool = False) -> str:
        """ "寒潮黄色预警" / "Yellow cold wave alert"; ``short``: "寒潮黄色" / "yellow cold
        wave" (for a list of warnings)."""
        name, shade = self._text("alert_kinds", kind), self.alert_colour(colour)
        if self.lang == "zh":
            return f"{name}{shade}" if short else f"{name}{shade}预警"
        return f"{shade} {name}" if short else _capitalize_first(f"{shade} {name} alert")

    def speed(self, speed_kmh: float) -> str:
        """A wind speed to the nearest 5 km/h (at least 5): "25 km/h"."""
        return f"{max(5, 5 * round_half_away(speed_kmh / 5.0))} km/h"

    def duration(self, hours: float) -> str:
        """A time limit rounded down: "a few minutes" below 10 minutes, 10-minute steps below
        an hour, half hours above."""
        minutes = max(0.0, hours) * 60.0
        if minutes < 10:
            return "几分钟" if self.lang == "zh" else "a few minutes"
        if minutes < 60:
            tens = int(minutes // 10) * 10
            return f"{tens}分钟" if self.lang == "zh" else f"{tens} minutes"
        halves = int(minutes // 30)
        whole, half = divmod(halves, 2)
        if self.lang == "zh":
            return f"{whole}个半小时" if half else f"{whole}小时"
        if whole == 1:
            return "an hour and a half" if half else "an hour"
        return f"{whole} and a half hours" if half else f"{whole} hours"

    def minutes(self, minutes: float) -> str:
        """Minutes to frostbite as the regression gives them, to the nearest minute below 10
        and the nearest 5 from 10 on, at least 1: "5分钟" / "5 minutes". Templates say "about"
        ("约5分钟" / "in about 5 minutes"): the number is the regression's, not a bound."""
        value = self.minutes_value(minutes)
        if self.lang == "zh":
            return f"{value}分钟"
        return f"{value} minute" if value == 1 else f"{value} minutes"

    @staticmethod
    def minutes_value(minutes: float) -> int:
        """The whole number :meth:`minutes` says."""
        if minutes < 9.5:
            return max(1, round_half_away(minutes))
        return 5 * round_half_away(minutes / 5.0)

    def uv(self, value: float) -> str:
        """The UV index as a whole number (WHO 2002)."""
        return str(max(0, round_half_away(value)))

    def join(self, items: Iterable[str]) -> str:
        """ "A、B和C" / "A, B and C"."""
        words = [str(item) for item in items if str(item)]
        if len(words) <= 1:
            return "".join(words)
        if self.lang == "zh":
            return "、".join(words[:-1]) + "和" + words[-1]
        return ", ".join(words[:-1]) + " and " + words[-1]

    @classmethod
    def filters_for(cls, lang: str) -> dict[str, Any]:
        """The number formats of ``lang`` under the names the templates use as filters; they
        need no wording table."""
        return cls({}, lang).filters()

    def filters(self) -> dict[str, Any]:
        """The format methods under the names the templates use."""
        return {
            "temp": self.temp,
            "temp_range": self.temp_range,
            "percent": self.percent,
            "cap": _capitalize_first,
            "degrees": self.degrees,
            "degrees_range": self.degrees_range,
            "speed": self.speed,
            "duration": self.duration,
            "minutes": self.minutes,
            "uv": self.uv,
            "join_words": self.join,
        }


def _capitalize_first(text: str) -> str:
    """The text with its first letter in upper case and the rest unchanged."""
    text = str(text)
    return text[:1].upper() + text[1:]


def _ordinal(day: int) -> str:
    if 10 <= day % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


__all__ = [
    "ADVICE_INDICES",
    "INDEX_KEYS",
    "LANGUAGES",
    "Phrasebook",
    "beaufort_force",
    "check_wording",
    "load_wording",
    "local_time_text",
    "round_half_away",
    "sky_key",
    "zone_label",
]
