"""From grids to venues: bilinear extraction, elevation correction, the venue index table."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import xarray as xr

from .compute import KMH_PER_MS, LEVEL_VARIABLES, PROBABILITY_LEVEL, compute_indices, local_times
from .errors import VenueError
from .indices import COLD_RISK_COMPONENTS
from .interpolation import venue_weights
from .schema import FIELDS
from .units import convert
from .venues import Venue

logger = logging.getLogger(__name__)

#: Standard-atmosphere lapse rate (ICAO 1993; WMO): temperature falls 6.5 K per km of height.
LAPSE_RATE_K_PER_M = 0.0065

#: Times of a dask-backed forecast read to the venues per compute (our choice: a few chunks
#: of every field in memory at once).
_LOAD_TIMES = 8

#: Columns the CSV always has, in this order (README "Index tables"); extras follow.
CORE_COLUMNS = (
    "venue_id",
    "time_utc",
    "time_local",
    "temperature_degC",
    "relative_humidity_pct",
    "wind_speed_10m_kmh",
    "wind_direction_deg",
    "wind_gust_kmh",
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
#: Below this speed the wind is calm and has no direction: "speed < 0.5 m/s (1 kt) indicated
#: as CALM" (ICAO Annex 3 / WMO-No. 49 Vol. II, Meteorological Service for International Air
#: Navigation, Attachment C, criteria for aerodrome reports).
CALM_WIND_MS = 0.5
LENS_NAMES = np.array(["S0", "S1", "S2", "S3", "S4"])


def _weighted_sum(cells: xr.DataArray, weights: np.ndarray) -> np.ndarray:
    """Weighted sum over the trailing ``corner`` axis, in float64.

    Corners of zero weight are left out, so a venue on a grid line does not take a missing
    value from the cell beyond it; a missing value at a corner that counts stays missing.
    """
    values = np.asarray(cells.transpose(..., "corner").values, dtype=np.float64)
    return np.where(weights > 0.0, values * weights, 0.0).sum(axis=-1)


def extract_venues(
    forecast: xr.Dataset, venues: list[Venue], *, lapse_rate_correction: bool = True
) -> xr.Dataset:
    """The forecast's input fields at each venue, dims ``([member,] time, venue)``.

    On a regular grid, bilinear in latitude/longitude (Press et al., Numerical Recipes, 3rd
    ed. 2007, section 3.6) on the four grid cells around each venue, the longitudes wrapping
    on a global grid; on curvilinear, projected, reduced and unstructured grids, inverse
    distance weighting from the four nearest cells (Shepard 1968): :mod:`bulletin.interpolation`
    has the method, its sources and the footprint test. The method is logged at INFO. Those
    cells are selected first (one vectorised ``isel``) and only they are read, so a
    dask-backed forecast computes only the chunks that hold them and memory scales with
    venues x time; the result is in memory. Every field is interpolated the same way, in
    float64, and stored in its own floating dtype (float32 in the internal schema), so numpy-
    and dask-backed forecasts give identical values. Wind components ``u10``/``v10`` are
    interpolated as components (never as angles), and the gust ``gust10`` as it is.

    When the forecast carries ``orography``, temperature is moved from the model surface height
    (the orography interpolated to the venue in the same way) to the venue elevation at the
    standard lapse rate (6.5 K/km) and the model height at the venue is kept as
    ``model_height``; without orography values are used as they are. Relative
    humidity is kept (our simplification: the correction is small next to the forecast's own
    humidity error). The result's ``orography`` holds the venue elevation, which the UV
    altitude factor then uses. Only the schema's input fields (:data:`bulletin.schema.FIELDS`,
    the wind components and gust included) are taken: computed indices in ``forecast`` are
    left out, to be recomputed at the venues.
    """
    if not venues:
        raise VenueError("no venues to extract")
    names = [f.name for f in FIELDS if f.name in forecast]
    venue_lat = np.array([v.lat for v in venues], dtype=np.float64)
    venue_lon = np.array([v.lon for v in venues], dtype=np.float64)
    where = venue_weights(forecast, [v.id for v in venues], venue_lat, venue_lon)
    logger.info("venues: %s", where.method)
    weights = where.weights  # (venue, corner)
    for at, venue in enumerate(venues):
        cells_at = [
            ",".join(str(where.indexers[dim][at, c]) for dim in where.indexers)
            for c in range(weights.shape[1])
        ]
        logger.debug(
            "venue %s: cells (%s) = %s, weights %s",
            venue.id,
            ",".join(where.indexers),
            " ".join(cells_at),
            np.array2string(weights[at], precision=4),
        )
    cells = forecast[names].isel(
        {
            dim: xr.DataArray(index, dims=("venue", "corner"))
            for dim, index in where.indexers.items()
        }
    )
    cells = cells.drop_vars([c for c in cells.coords if "corner" in cells[c].dims])
    if "time" in cells.dims and cells.sizes["time"] > _LOAD_TIMES and cells.chunks:
        # A few times per compute: a forecast chunk several fields share (the temperature
        # also feeds the humidity from dew point) is then held only until its block is done,
        # so memory stays bounded whatever the number of times (benchmarks/read.py).
        blocks = [
            cells.isel(time=slice(start, start + _LOAD_TIMES)).load()
            for start in range(0, cells.sizes["time"], _LOAD_TIMES)
        ]
        cells = xr.concat(
            blocks, dim="time", data_vars="minimal", coords="minimal", compat="override"
        )
    else:
        cells = cells.load()

    # Each field as an xr.Variable over its own dims, so arithmetic broadcasts by name.
    values = {
        name: xr.Variable(
            tuple(d for d in cells[name].dims if d != "corner"),
            _weighted_sum(cells[name], weights),
            dict(forecast[name].attrs),
        )
        for name in names
    }
    dtypes = {name: np.result_type(forecast[name].dtype, np.float32) for name in names}
    venue_elev = xr.Variable(
        ("venue",),
        np.array([v.elevation_m for v in venues], dtype=np.float64),
        {"standard_name": "surface_altitude", "units": "m", "long_name": "venue elevation"},
    )
    if "orography" in values and "t2m" in values and lapse_rate_correction:
        model_height = values["orography"]
        shift = (model_height - venue_elev) * LAPSE_RATE_K_PER_M
        attrs = dict(values["t2m"].attrs)
        attrs["comment"] = "corrected from model surface height to venue elevation at 6.5 K/km"
        values["t2m"] = values["t2m"] + shift
        values["t2m"].attrs = attrs
        values["model_height"] = model_height.copy()
        values["model_height"].attrs = {
            "standard_name": "surface_altitude",
            "units": "m",
            "long_name": "model surface height at the venue",
        }
        dtypes["model_height"] = dtypes["orography"]
    values["orography"] = venue_elev
    dtypes["orography"] = np.dtype(np.float32)
    order = ("member", "time", "venue")
    data_vars = {}
    for name, variable in values.items():
        dims = [d for d in order if d in variable.dims]
        dims += [d for d in variable.dims if d not in order]
        data_vars[name] = variable.astype(dtypes[name]).transpose(*dims)
    coords = {c: cells[c].variable for c in cells.coords if c not in ("latitude", "longitude")}
    points = xr.Dataset(data_vars, coords=coords).assign_coords(
        venue=[v.id for v in venues],
        latitude=("venue", venue_lat),
        longitude=("venue", venue_lon),
    )
    points.attrs = {k: v for k, v in forecast.attrs.items() if k != "local_day_timezone"}
    return points


def wind_direction_deg(u_ms: np.ndarray, v_ms: np.ndarray) -> np.ndarray:
    """Meteorological wind direction, degrees clockwise from north of where the wind comes
    FROM, in (0, 360], from earth-relative eastward ``u`` and northward ``v`` components.

    ``(270 - atan2(v, u) * 180 / pi) mod 360`` with north written 360, as in WMO code table
    0877 (WMO-No. 306, Manual on Codes: 36 = north, 27 = west, 00 = calm) and MetPy's
    ``metpy.calc.wind_direction``. Where the speed is below :data:`CALM_WIND_MS`, or a
    component is missing, the direction is NaN (calm: no direction).
    """
    u = np.asarray(u_ms, dtype=np.float64)
    v = np.asarray(v_ms, dtype=np.float64)
    direction = np.mod(270.0 - np.degrees(np.arctan2(v, u)), 360.0)
    direction = np.where(direction == 0.0, 360.0, direction)
    with np.errstate(invalid="ignore"):
        calm = ~(np.hypot(u, v) >= CALM_WIND_MS)
    return np.where(calm, np.nan, direction)


def _direction(u_ms: np.ndarray, v_ms: np.ndarray) -> pd.Series:
    """``wind_direction_deg``: whole degrees 1..360 (nullable integers), missing where calm or
    without u/v."""
    direction = np.round(wind_direction_deg(u_ms, v_ms))
    # A direction that rounds to 0 is north, which the WMO table writes 360.
    direction = np.where(direction == 0.0, 360.0, direction)
    return pd.Series(pd.array(np.where(np.isnan(direction), None, direction), dtype="Int16"))


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
    forecast: xr.Dataset, venues: list[Venue], *, lapse_rate_correction: bool = True
) -> pd.DataFrame:
    """One row per venue x valid time (x member) with the six indices and their levels.

    ``forecast`` is a Dataset in the internal schema (:func:`bulletin.open_forecast`), numpy-
    or dask-backed; one that already holds computed indices gives the same table, since only
    the input fields are read. They are interpolated to the venues (:func:`extract_venues`,
    reading only the grid cells around them) and the indices are computed at those points
    only (:func:`bulletin.compute_indices`), with the venue's own timezone for local days.
    Column names and order: :data:`CORE_COLUMNS`, then ``member`` (ensembles), then
    :data:`EXTRA_COLUMNS` and the ensemble probabilities. Levels are nullable integers;
    ``frostbite_minutes`` is empty where frostbite is not expected.
    """
    points = extract_venues(forecast, venues, lapse_rate_correction=lapse_rate_correction)
    by_tz: dict[str, list[int]] = {}
    for position, v in enumerate(venues):
        by_tz.setdefault(v.timezone, []).append(position)
    frames = []
    for tz, positions in by_tz.items():  # venues grouped by timezone, in order of appearance
        result = compute_indices(points.isel(venue=positions), timezone=tz)
        for at, position in enumerate(positions):
            frames.append(_venue_frame(result.isel(venue=at), venues[position]))
    return pd.concat(frames, ignore_index=True)


def _venue_frame(ds: xr.Dataset, venue: Venue) -> pd.DataFrame:
    member = "member" in ds.dims
    order = ("time", "member") if member else ("time",)
    ds = ds.transpose(*order)
    n_time = ds.sizes["time"]
    n_member = ds.sizes["member"] if member else 1
    if "gust10" in ds:  # in km/h through the units registry, from the field's own units
        ds = ds.assign(
            gust10=convert(ds["gust10"], ds["gust10"].attrs.get("units", "m s-1"), "km/h")
        )

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
        "wind_direction_deg": _direction(optional("u10"), optional("v10")),
        "wind_gust_kmh": _round(pd.Series(optional("gust10")), 1),
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


__all__ = [
    "CALM_WIND_MS",
    "CORE_COLUMNS",
    "EXTRA_COLUMNS",
    "extract_venues",
    "local_times",
    "venue_table",
    "wind_direction_deg",
]
