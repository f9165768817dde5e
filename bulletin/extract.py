"""From grids to venues: bilinear extraction, elevation correction, the venue index table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from .compute import KMH_PER_MS, LEVEL_VARIABLES, PROBABILITY_LEVEL, compute_indices, local_times
from .errors import VenueError
from .indices import COLD_RISK_COMPONENTS
from .schema import FIELDS
from .venues import Venue

#: Standard-atmosphere lapse rate (ICAO 1993; WMO): temperature falls 6.5 K per km of height.
LAPSE_RATE_K_PER_M = 0.0065

#: Columns the CSV always has, in this order (the issue's contract); extras follow.
CORE_COLUMNS = (
    "venue_id",
    "time_utc",
    "time_local",
    "temperature_degC",
    "relative_humidity_pct",
    "wind_speed_10m_kmh",
    "cloud_cover_pct",
    "uv_index",
    "wind_chill_degC",
    "wind_chill_level",
    "frostbite_minutes",
    "frostbite_level",
    "clothing_clo",
    "clothing_level",
    "cold_level",
    "sunscreen_level",
    "goggles_level",
    "goggles_lens",
    "spectator_level",
)
EXTRA_COLUMNS = (
    "exposure_limit_h",
    "cold_score",
    "cold_reasons",
    "uv_category",
    "sun_elevation_deg",
    "snow_depth_m",
    "snowfall_mmh",
    "visibility_m",
    "precip_mmh",
)
LENS_NAMES = np.array(["S0", "S1", "S2", "S3", "S4"])


def _check_inside(forecast: xr.Dataset, venues: list[Venue]) -> None:
    lat = forecast["latitude"].values
    lon = forecast["longitude"].values
    lat_lo, lat_hi = float(np.min(lat)), float(np.max(lat))
    lon_lo, lon_hi = float(np.min(lon)), float(np.max(lon))
    for v in venues:
        if not (lat_lo <= v.lat <= lat_hi and lon_lo <= v.lon <= lon_hi):
            raise VenueError(
                f"venue {v.id!r} ({v.lat:.4f}N, {v.lon:.4f}E) lies outside the forecast grid "
                f"({lat_lo:.2f}..{lat_hi:.2f}N, {lon_lo:.2f}..{lon_hi:.2f}E)"
            )


def extract_venues(
    forecast: xr.Dataset, venues: list[Venue], *, lapse_rate_correction: bool = True
) -> xr.Dataset:
    """Forecast fields at each venue: bilinear in latitude/longitude, dims ``(venue, time[, member])``.

    When the forecast carries ``orography``, temperature is moved from the model surface height
    to the venue elevation at the standard lapse rate (6.5 K/km); without orography values are
    used as they are. Relative humidity is kept (our simplification: the correction is small
    next to the forecast's own humidity error). The result's ``orography`` holds the venue
    elevation, which the UV altitude factor then uses. Index variables in ``forecast`` are
    dropped: :func:`venue_table` recomputes them from the corrected point values.
    """
    if not venues:
        raise VenueError("no venues to extract")
    if "latitude" not in forecast.dims or "longitude" not in forecast.dims:
        raise VenueError("forecast is not on a latitude/longitude grid")
    _check_inside(forecast, venues)
    names = [f.name for f in FIELDS if f.name in forecast]
    fields = forecast[names]
    points = fields.interp(
        latitude=xr.DataArray([v.lat for v in venues], dims="venue"),
        longitude=xr.DataArray([v.lon for v in venues], dims="venue"),
        method="linear",
    )
    venue_elev = xr.DataArray(
        np.array([v.elevation_m for v in venues], dtype=np.float32), dims="venue"
    )
    if "orography" in points and lapse_rate_correction:
        shift = (points["orography"] - venue_elev) * np.float32(LAPSE_RATE_K_PER_M)
        attrs = dict(points["t2m"].attrs)
        points["t2m"] = (points["t2m"] + shift).astype(np.float32)
        attrs["comment"] = "corrected from model surface height to venue elevation at 6.5 K/km"
        points["t2m"].attrs = attrs
        points = points.assign(model_height=points["orography"].astype(np.float32))
    points["orography"] = venue_elev.assign_attrs(
        standard_name="surface_altitude", units="m", long_name="venue elevation"
    )
    points = points.assign_coords(
        venue=[v.id for v in venues],
        latitude=("venue", np.array([v.lat for v in venues])),
        longitude=("venue", np.array([v.lon for v in venues])),
    )
    for name in names:
        if name in forecast and name != "orography":
            points[name].attrs = {**forecast[name].attrs, **points[name].attrs}
    points.attrs = dict(forecast.attrs)
    return points


def _round(values: pd.Series, digits: int) -> pd.Series:
    return values.astype("float64").round(digits)


def _format_times(times: np.ndarray, venue: Venue) -> tuple[list[str], list[str]]:
    utc = pd.DatetimeIndex(times).tz_localize("UTC")
    local = utc.tz_convert(venue.timezone)
    return (
        [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in utc],
        [t.isoformat() for t in local],
    )


def venue_table(
    indices: xr.Dataset, venues: list[Venue], *, lapse_rate_correction: bool = True
) -> pd.DataFrame:
    """One row per venue x valid time (x member) with the six indices and their levels.

    ``indices`` is the output of :func:`bulletin.compute_indices` (or a forecast in the internal
    schema). Indices are recomputed at each venue from the extracted, elevation-corrected values,
    with the venue's own timezone for local days. Column names and order: :data:`CORE_COLUMNS`,
    then ``member`` (ensembles), then :data:`EXTRA_COLUMNS` and the ensemble probabilities.
    Levels are nullable integers; ``frostbite_minutes`` is empty where frostbite is not expected.
    """
    points = extract_venues(indices, venues, lapse_rate_correction=lapse_rate_correction)
    frames = []
    by_tz: dict[str, list[Venue]] = {}
    for v in venues:
        by_tz.setdefault(v.timezone, []).append(v)
    for tz, group in by_tz.items():
        sub = points.sel(venue=[v.id for v in group])
        result = compute_indices(sub, timezone=tz).compute()
        for venue in group:
            frames.append(_venue_frame(result.sel(venue=venue.id), venue))
    table = pd.concat(frames, ignore_index=True)
    return table


def _venue_frame(ds: xr.Dataset, venue: Venue) -> pd.DataFrame:
    member = "member" in ds.dims
    order = ("time", "member") if member else ("time",)
    ds = ds.transpose(*order)
    n_time = ds.sizes["time"]
    n_member = ds.sizes["member"] if member else 1

    def col(name: str) -> np.ndarray:
        arr = ds[name]
        if member and "member" not in arr.dims:
            arr = arr.expand_dims(member=ds["member"]).transpose("time", "member")
        return np.asarray(arr.values).reshape(-1)

    def optional(name: str) -> np.ndarray:
        return col(name) if name in ds else np.full(n_time * n_member, np.nan)

    utc, local = _format_times(ds["time"].values, venue)
    data: dict[str, object] = {
        "venue_id": venue.id,
        "time_utc": np.repeat(utc, n_member),
        "time_local": np.repeat(local, n_member),
        "temperature_degC": _round(pd.Series(col("t2m")), 1),
        "relative_humidity_pct": _round(pd.Series(col("rh2m")), 0),
        "wind_speed_10m_kmh": _round(pd.Series(col("wind10")) * KMH_PER_MS, 1),
        "cloud_cover_pct": _round(pd.Series(optional("tcc")) * 100.0, 0),
        "uv_index": _round(pd.Series(col("uv_index")), 1),
        "wind_chill_degC": _round(pd.Series(col("wind_chill")), 1),
        "frostbite_minutes": _round(pd.Series(col("frostbite_minutes")), 1),
        "clothing_clo": _round(pd.Series(col("clothing_clo")), 2),
    }
    for name in LEVEL_VARIABLES:
        data[name] = pd.array(np.where(col(name) < 0, None, col(name)), dtype="Int8")
    lens = col("goggles_lens")
    data["goggles_lens"] = np.where(lens >= 0, LENS_NAMES[np.clip(lens, 0, 4)], "")
    frame = pd.DataFrame(data)
    frame = frame[list(CORE_COLUMNS)]
    if member:
        frame.insert(3, "member", np.tile(ds["member"].values, n_time))
    frame["exposure_limit_h"] = _round(pd.Series(col("exposure_limit_h")), 2)
    frame["cold_score"] = pd.array(np.where(col("cold_score") < 0, None, col("cold_score")), "Int8")
    components = {name: col(f"cold_{name}") for name in COLD_RISK_COMPONENTS}
    frame["cold_reasons"] = [
        ";".join(name for name in COLD_RISK_COMPONENTS if components[name][i] > 0)
        for i in range(len(frame))
    ]
    frame["uv_category"] = pd.array(
        np.where(col("uv_category") < 0, None, col("uv_category")), "Int8"
    )
    frame["sun_elevation_deg"] = _round(pd.Series(col("sun_elevation")), 1)
    frame["snow_depth_m"] = _round(pd.Series(optional("snow_depth")), 2)
    frame["snowfall_mmh"] = _round(pd.Series(optional("snowfall")), 2)
    frame["visibility_m"] = _round(pd.Series(optional("visibility")), 0)
    frame["precip_mmh"] = _round(pd.Series(optional("precip")), 2)
    if member:
        for name in LEVEL_VARIABLES:
            pname = f"p_{name}_ge{PROBABILITY_LEVEL}"
            frame[pname] = _round(pd.Series(col(pname)), 3)
    return frame


__all__ = ["CORE_COLUMNS", "EXTRA_COLUMNS", "extract_venues", "local_times", "venue_table"]
