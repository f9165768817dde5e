"""Warnings of a venue-day: cold wave, gale, wind chill and frostbite at their top levels.

The bulletin words them on the pattern of the China Meteorological Administration warning
signals (《气象灾害预警信号发布与传播办法》, CMA Order No. 16, 2007, and its annex of signals:
a hazard, a colour of the blue-yellow-orange-red order, what is expected, what to do). They are
the venue's own advice, not official warnings, and the bulletin does not say who issues them.

* **Cold wave** (寒潮): the grades of GB/T 20484-2017 冷空气等级 on the fall of the daily minimum
  temperature within 24, 48 or 72 h: 寒潮 a fall of >= 8, 10 or 12 K with a minimum <= 4 °C,
  强寒潮 >= 10, 12 or 14 K with <= 2 °C, 超强寒潮 >= 12, 14 or 16 K with <= 0 °C (the 48 and
  72 h falls where the table covers the days before whole). Their colours blue, yellow,
  orange are our choice, in the order of the CMA signals.
* **Gale** (大风): the CMA 大风预警信号 thresholds on the Beaufort force (GB/T 28591-2012) of the
  mean wind or of the gusts: blue mean force >= 6 or gusts >= 7, yellow >= 8 or >= 9, orange
  >= 10 or >= 11, red >= 12 or >= 13.
* **Wind chill** (体感寒凉): ECCC wind chill hazard levels 5 (severe, "the warning level in many
  regions") and 6 (extreme): orange and red (our choice of colours).
* **Frostbite** (冻伤): frostbite levels 4 (exposed skin freezes in 2-5 minutes) and 5 (under 2
  minutes, ECCC): orange and red (our choice of colours).
"""

from __future__ import annotations

from dataclasses import dataclass

from .beaufort import beaufort_force
from .day import VenueDay

#: Alert colours, mildest first (the order of the CMA warning signals).
COLOURS = ("blue", "yellow", "orange", "red")

#: GB/T 20484-2017 cold-wave grades: (24 h fall of the daily minimum, K; highest minimum, °C).
COLD_WAVE_GRADES = {
    "blue": (8.0, 4.0),  # 寒潮
    "yellow": (10.0, 2.0),  # 强寒潮
    "orange": (12.0, 0.0),  # 超强寒潮
}
#: GB/T 20484-2017: the fall over 48 h (72 h) must be 2 K (4 K) more than over 24 h.
COLD_WAVE_LONGER_FALL_K = (0.0, 2.0, 4.0)
#: CMA 大风预警信号: (mean Beaufort force, gust Beaufort force) from which each colour starts.
GALE_FORCES = {"blue": (6, 7), "yellow": (8, 9), "orange": (10, 11), "red": (12, 13)}
#: Wind chill and frostbite levels that warn, and their colours (our choice).
WIND_CHILL_LEVEL_COLOURS = {5: "orange", 6: "red"}
FROSTBITE_LEVEL_COLOURS = {4: "orange", 5: "red"}

#: The order warnings are said in (our choice: the most widespread hazards first, as CMA
#: bulletins open with cold waves and gales).
KINDS = ("cold_wave", "gale", "wind_chill", "frostbite")


@dataclass(frozen=True)
class Alert:
    """A warning of one venue-day: its ``kind`` (:data:`KINDS`), its ``colour``
    (:data:`COLOURS`) and the figures it is worded from: ``drop`` (K) and ``value`` (the day's
    minimum, °C) over ``hours`` (24, 48 or 72) for a cold wave; ``force`` and ``gust_force`` (Beaufort) for a gale, with
    ``value`` the strongest mean wind (km/h) and ``gust`` the strongest gust (km/h, None
    without gusts); ``value`` the lowest wind chill (°C) or the shortest quotable minutes to
    frostbite (None outside the regression's range), and ``level``, for the other two."""

    kind: str
    colour: str
    level: int = 0
    value: float | None = None
    drop: float | None = None
    force: int | None = None
    gust_force: int | None = None
    gust: float | None = None
    hours: int | None = None


def _colour(grades: dict[str, bool]) -> str | None:
    reached = [colour for colour in COLOURS if grades.get(colour)]
    return reached[-1] if reached else None


def cold_wave_colour(drop: float, t_min: float, hours: int = 24) -> str | None:
    """The cold-wave warning colour of a fall ``drop`` (K) of the daily minimum within
    ``hours`` (24, 48 or 72) to ``t_min`` (°C), by the GB/T 20484-2017 grades
    (:data:`COLD_WAVE_GRADES`, :data:`COLD_WAVE_LONGER_FALL_K`); None below them."""
    extra = COLD_WAVE_LONGER_FALL_K[(24, 48, 72).index(hours)]
    return _colour(
        {c: drop >= d + extra and t_min <= highest for c, (d, highest) in COLD_WAVE_GRADES.items()}
    )


def _cold_wave(day: VenueDay) -> Alert | None:
    """The strongest cold-wave grade reached over 24, 48 or 72 h (the largest such fall)."""
    best: Alert | None = None
    for hours, before in zip((24, 48, 72), day.earlier_t_min, strict=True):
        if before is None:
            continue
        drop = before - day.today.t_min
        colour = cold_wave_colour(drop, day.today.t_min, hours)
        if colour and (best is None or COLOURS.index(colour) > COLOURS.index(best.colour)):
            best = Alert("cold_wave", colour, value=day.today.t_min, drop=drop, hours=hours)
    return best


def gale_colour(force: int, gust_force: int | None) -> str | None:
    """The gale warning colour of a mean Beaufort ``force`` and a gust force (None: no gusts
    in the forecast), by the CMA 大风预警信号 thresholds (:data:`GALE_FORCES`)."""
    gust = -1 if gust_force is None else gust_force
    return _colour({c: force >= m or gust >= g for c, (m, g) in GALE_FORCES.items()})


def alerts(day: VenueDay) -> tuple[Alert, ...]:
    """The warnings of a venue-day, in the order of :data:`KINDS`."""
    found: list[Alert] = []
    cold_wave = _cold_wave(day)
    if cold_wave is not None:
        found.append(cold_wave)
    force = beaufort_force(day.wind.speed_max_kmh)
    gust = day.wind.gust_max_kmh
    gust_force = None if gust is None else beaufort_force(gust)
    colour = gale_colour(force, gust_force)
    if colour:
        found.append(
            Alert(
                "gale",
                colour,
                value=day.wind.speed_max_kmh,
                force=force,
                gust_force=gust_force,
                gust=gust,
            )
        )
    level = day.level("wind_chill")
    if level in WIND_CHILL_LEVEL_COLOURS:
        found.append(
            Alert(
                "wind_chill",
                WIND_CHILL_LEVEL_COLOURS[level],
                level=level,
                value=day.wind_chill_min.value,
            )
        )
    level = day.level("frostbite")
    if level in FROSTBITE_LEVEL_COLOURS:
        found.append(
            Alert(
                "frostbite",
                FROSTBITE_LEVEL_COLOURS[level],
                level=level,
                value=day.frostbite_minutes,
            )
        )
    return tuple(found)
