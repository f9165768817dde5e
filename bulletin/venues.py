"""The venue catalogue: where spectators stand, and how to load a user's own list.

The shipped catalogue holds the eight outdoor venues of the Beijing 2022 Winter Olympics. Sources
of the coordinates and elevations (spectator areas: finish or stadium level where known):
en/it/zh Wikipedia venue infoboxes, OpenStreetMap, olympedia.org and venue press releases.
The National Biathlon Centre position is an estimate (±1-2 km) next to the cross-country
centre, and the Alpine centre uses the base elevation because the finish-area height is
unpublished.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import re
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import VenueError, VenueUsageError, unknown_name

logger = logging.getLogger(__name__)

#: Venue ids become folder names in later stages, so they are restricted to a safe alphabet.
VENUE_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
DEFAULT_TIMEZONE = "Asia/Shanghai"
REQUIRED_COLUMNS = ("id", "name", "lat", "lon", "elevation_m")
OPTIONAL_COLUMNS = ("name_zh", "timezone", "zone", "zone_zh")


@dataclass(frozen=True)
class Venue:
    """A spectator location: a point with an elevation and a local timezone."""

    id: str
    name: str
    lat: float
    lon: float
    elevation_m: float
    name_zh: str = ""
    timezone: str = DEFAULT_TIMEZONE
    zone: str = ""
    zone_zh: str = ""

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def check_venue_id(venue_id: str, *, where: str = "", asked: bool = False) -> str:
    """Return ``venue_id`` if it is a safe id (``a-z0-9-_``, starting alphanumeric), else raise
    :class:`VenueError`: a usage error (:class:`VenueUsageError`, exit 2) for an id the user
    ``asked`` for (``--venue``, the daily configuration), bad input (exit 1) in a venues file."""
    if not isinstance(venue_id, str) or not VENUE_ID_PATTERN.match(venue_id):
        suffix = f" in {where}" if where else ""
        raise (VenueUsageError if asked else VenueError)(
            f"invalid venue id {venue_id!r}{suffix}: use 1-64 characters of a-z, 0-9, '-' or '_', "
            "starting with a letter or digit"
        )
    return venue_id


def _parse_rows(rows: list[dict[str, str]], source: str) -> list[Venue]:
    venues: list[Venue] = []
    seen: set[str] = set()
    finder = None  # built on the first venue without a timezone (loading it takes a while)
    for line, row in enumerate(rows, start=2):
        where = f"{source} line {line}"
        vid = check_venue_id((row.get("id") or "").strip(), where=where)
        if vid in seen:
            raise VenueError(f"duplicate venue id {vid!r} in {where}")
        seen.add(vid)
        numbers = {}
        for key in ("lat", "lon", "elevation_m"):
            text = (row.get(key) or "").strip()
            try:
                value = float(text)
            except ValueError:
                raise VenueError(f"{where}: {key} {text!r} is not a number") from None
            if not math.isfinite(value):
                raise VenueError(f"{where}: {key} {text!r} is not a finite number")
            numbers[key] = value
        if not -90 <= numbers["lat"] <= 90:
            raise VenueError(f"{where}: lat {numbers['lat']} is outside -90..90")
        if not -180 <= numbers["lon"] <= 360:
            raise VenueError(f"{where}: lon {numbers['lon']} is outside -180..360")
        if not -500 <= numbers["elevation_m"] <= 9000:
            raise VenueError(f"{where}: elevation_m {numbers['elevation_m']} is not plausible")
        lon = numbers["lon"] - 360.0 if numbers["lon"] > 180 else numbers["lon"]
        tz = (row.get("timezone") or "").strip()
        if tz:
            try:
                ZoneInfo(tz)
            except (ZoneInfoNotFoundError, ValueError):
                raise VenueError(f"{where}: unknown timezone {tz!r}") from None
        else:
            if finder is None:
                finder = _timezone_finder()
            tz = _timezone_at(finder, numbers["lat"], lon, where)
            logger.info(
                "%s: venue %r has no timezone; %s found from its coordinates (%g, %g)",
                where,
                vid,
                tz,
                numbers["lat"],
                lon,
            )
        name = (row.get("name") or "").strip() or vid
        venues.append(
            Venue(
                id=vid,
                name=name,
                lat=numbers["lat"],
                lon=lon,
                elevation_m=numbers["elevation_m"],
                name_zh=(row.get("name_zh") or "").strip() or name,
                timezone=tz,
                zone=(row.get("zone") or "").strip(),
                zone_zh=(row.get("zone_zh") or "").strip(),
            )
        )
    if not venues:
        raise VenueError(f"{source} lists no venues")
    return venues


def _timezone_finder():
    """A ``timezonefinder.TimezoneFinder`` (time zone polygons of timezone-boundary-builder,
    built from OpenStreetMap data)."""
    from timezonefinder import TimezoneFinder

    return TimezoneFinder()


def _timezone_at(finder, lat: float, lon: float, where: str) -> str:
    """The IANA time zone at a point; over the open sea timezonefinder answers the nautical
    ``Etc/GMT±h`` zone of the longitude."""
    name = finder.timezone_at(lng=lon, lat=lat)
    if not name:
        raise VenueError(
            f"{where}: no time zone found at ({lat:g}, {lon:g}); add a timezone column"
        )
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise VenueError(
            f"{where}: the time zone {name!r} found at ({lat:g}, {lon:g}) is not in this "
            "system's time zone database; add a timezone column"
        ) from None
    return name


def _read_csv_text(text: str, source: str) -> list[Venue]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise VenueError(
            f"{source}: missing column(s) {', '.join(missing)}; expected a CSV header "
            f"{','.join(REQUIRED_COLUMNS)} (optional: {','.join(OPTIONAL_COLUMNS)})"
        )
    reader.fieldnames = header
    return _parse_rows(list(reader), source)


def load_catalogue() -> list[Venue]:
    """The shipped Beijing 2022 outdoor venues."""
    text = resources.files("bulletin").joinpath("data/venues.csv").read_text(encoding="utf-8")
    return _read_csv_text(text, "the shipped venue catalogue")


#: The most venues one venues file may hold (our choice). The venue table is built in memory,
#: one row per venue and time step, at about 50 ms of CPU per venue: 2000 venues of a 240-step
#: forecast are 480,000 rows; ``benchmarks/memory.py --venue-rows`` measures it. Indices on a
#: whole grid are ``bulletin indices --grid``.
MAX_VENUES = 2000
#: Larger files are refused before they are read (our choice: 2000 rows of long names fit in a
#: small fraction of it).
MAX_VENUES_FILE_BYTES = 4 * 1024 * 1024


def _too_many(path: Path, count: str) -> VenueError:
    return VenueError(
        f"venues file {path} has {count}; at most {MAX_VENUES} venues are computed in one run "
        "(split the file, or use bulletin indices --grid for the whole grid)"
    )


def load_venues_file(path: str | Path) -> list[Venue]:
    """Read a user's venue CSV (``id,name,lat,lon,elevation_m`` + optional columns) of at
    most :data:`MAX_VENUES` venues (a larger file is refused before it is parsed, and one of
    more than :data:`MAX_VENUES_FILE_BYTES` before it is read)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_VENUES_FILE_BYTES:
            raise _too_many(path, f"{size / 2**20:.0f} MiB of venues")
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise VenueError(f"venues file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise VenueError(f"cannot read venues file {path}: {exc}") from None
    rows = sum(1 for row in csv.reader(io.StringIO(text)) if row) - 1  # less the header
    if rows > MAX_VENUES:
        raise _too_many(path, f"{rows} rows")
    return _read_csv_text(text, f"venues file {path}")


def select_venues(venues: list[Venue], ids: list[str] | tuple[str, ...] | None) -> list[Venue]:
    """Pick venues by id (all when ``ids`` is empty), keeping the order the user asked for."""
    if not ids:
        return list(venues)
    by_id = {v.id: v for v in venues}
    chosen = []
    for vid in ids:
        if vid not in by_id:
            check_venue_id(vid, asked=True)
            raise VenueUsageError(unknown_name("unknown venue id", vid, by_id, "known ids"))
        if by_id[vid] not in chosen:
            chosen.append(by_id[vid])
    return chosen


def venues_to_csv(venues: list[Venue]) -> str:
    buf = io.StringIO()
    fields = list(Venue.__dataclass_fields__)
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for venue in venues:
        writer.writerow(asdict(venue))
    return buf.getvalue()


def venues_to_json(venues: list[Venue]) -> str:
    return json.dumps([asdict(v) for v in venues], ensure_ascii=False, indent=2) + "\n"
