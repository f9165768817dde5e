"""WRF-ARW ``wrfout`` files -> a CF dataset the common reader understands.

A ``wrfout`` file (WRF-ARW Version 4 Modeling System User's Guide, NCAR, the list of
``wrfout`` variables; ``ncdump -h`` of any WRF 4 output) is NetCDF without CF coordinates:
dimensions ``Time``, ``south_north``, ``west_east`` (plus staggered and vertical ones), the
valid times as the character array ``Times(Time, DateStrLen=19)``
(``YYYY-MM-DD_hh:mm:ss``), latitude and longitude as ``XLAT``/``XLONG(Time, south_north,
west_east)``, and grid-relative winds. What is read:

* ``T2`` (K) -> 2 m air temperature;
* ``Q2`` (2 m water-vapour mixing ratio, kg kg-1) with ``PSFC`` (Pa) and ``T2`` -> relative
  humidity over water, :func:`relative_humidity_from_mixing_ratio`;
* ``U10``/``V10`` (grid-relative) rotated to earth-relative with ``COSALPHA``/``SINALPHA``
  (:mod:`bulletin.readers.winds`), or with the rotation computed from ``XLAT``/``XLONG`` when
  the file has none;
* ``HGT`` (m) -> model orography; ``SWDOWN`` (W m-2, instantaneous) -> surface shortwave;
  ``SNOWH`` (m) -> physical snow depth, else ``SNOW`` (kg m-2) -> snow water equivalent;
* ``RAINC + RAINNC`` (mm, accumulated since the start of the simulation, plus
  ``(I_RAINC + I_RAINNC) * BUCKET_MM`` when the bucket option is on) -> precipitation amount;
  ``SNOWNC`` (grid-scale snow and ice, mm) -> snowfall amount;
* the reference time is the global attribute ``SIMULATION_START_DATE`` (``START_DATE`` when
  absent), the start of every accumulation (also across restarts).

``CLDFRA`` is the 3-D cloud fraction on model levels: there is no 2-D total cloud cover in a
``wrfout`` file, so none is given (the UV index then assumes a clear sky, which is logged).
``WSPD10MAX`` (the maximum of the 10 m mean wind) is not a gust and is not read as one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import xarray as xr

from bulletin.errors import ForecastError
from bulletin.readers.winds import grid_rotation, rotate_to_earth

logger = logging.getLogger(__name__)

GRID_TYPE = "wrf"
_TIME_DIM = "Time"
_HORIZONTAL = ("south_north", "west_east")

#: Ratio of the gas constants of dry air and water vapour, R_d / R_v (WMO-No. 8, 2018 edition,
#: Annex 4.B, which writes the vapour pressure of moist air as e = r p / (0.62198 + r)).
EPSILON = 0.62198
# Alduchov & Eskridge (1996), J. Appl. Meteor. 35, 601-609, eq. 21: e_s over water in hPa.
_MAGNUS_C_HPA = 6.1094
_MAGNUS_A = 17.625
_MAGNUS_B_DEGC = 243.04


def is_wrf(ds: xr.Dataset) -> bool:
    """Whether ``ds`` is WRF output (``XLAT``/``XLONG`` on ``south_north``/``west_east``)."""
    return (
        "XLAT" in ds.variables
        and "XLONG" in ds.variables
        and all(d in ds.dims for d in _HORIZONTAL)
    )


def relative_humidity_from_mixing_ratio(
    mixing_ratio: xr.DataArray, pressure_pa: xr.DataArray, temperature_k: xr.DataArray
) -> xr.DataArray:
    """Relative humidity (%) over water: ``100 e / e_s(T)``.

    The vapour pressure is ``e = r p / (0.62198 + r)`` from the mixing ratio ``r`` (kg kg-1)
    and the pressure ``p`` (WMO-No. 8, 2018, Annex 4.B); ``e_s(T) = 6.1094 exp(17.625 T /
    (T + 243.04))`` hPa with T in °C (Alduchov & Eskridge 1996, eq. 21), the same saturation
    formula as :func:`bulletin.forecast.relative_humidity_from_dewpoint`. Not capped at 100 %.
    """
    vapour_hpa = mixing_ratio * (pressure_pa / 100.0) / (EPSILON + mixing_ratio)
    t_degc = temperature_k - 273.15
    saturation_hpa = _MAGNUS_C_HPA * np.exp(_MAGNUS_A * t_degc / (_MAGNUS_B_DEGC + t_degc))
    return 100.0 * vapour_hpa / saturation_hpa


def wrf_to_cf(ds: xr.Dataset, path: Path) -> xr.Dataset:
    """The forecast fields of a ``wrfout`` dataset, as CF variables on (time, south_north,
    west_east) with 2-D ``latitude``/``longitude``; :class:`ForecastError` when malformed."""
    times = _valid_times(ds, path)
    latitude = _static(ds, "XLAT", path)
    longitude = _static(ds, "XLONG", path)
    if latitude.shape != longitude.shape or latitude.shape != tuple(
        ds.sizes[d] for d in _HORIZONTAL
    ):
        raise ForecastError(
            f"{path}: WRF XLAT {latitude.shape} and XLONG {longitude.shape} do not match the "
            f"grid south_north x west_east = {tuple(ds.sizes[d] for d in _HORIZONTAL)}"
        )
    out: dict[str, xr.DataArray] = {}

    def field(name: str) -> xr.DataArray | None:
        if name not in ds.variables:
            return None
        data = ds[name]
        missing = [d for d in _HORIZONTAL if d not in data.dims]
        if missing:
            raise ForecastError(
                f"{path}: WRF variable {name} is on {list(data.dims)}, not on the mass grid "
                "(south_north, west_east)"
            )
        data = data.reset_coords(drop=True)
        if _TIME_DIM not in data.dims:
            data = data.expand_dims({_TIME_DIM: ds.sizes[_TIME_DIM]})
        return data.astype(np.float64)

    def put(name: str, data: xr.DataArray, standard_name: str, units: str, source: str) -> None:
        data = data.copy()
        data.attrs = {"standard_name": standard_name, "units": units, "long_name": source}
        out[name] = data

    t2 = field("T2")
    if t2 is not None:
        put("t2m", t2, "air_temperature", _units(ds, "T2", "K"), "WRF T2")
    q2 = field("Q2")
    if q2 is not None:
        psfc = field("PSFC")
        if psfc is None or t2 is None:
            lacking = " and ".join(n for n, v in (("PSFC", psfc), ("T2", t2)) if v is None)
            raise ForecastError(
                f"{path}: WRF Q2 (2 m mixing ratio) gives relative humidity only with the "
                f"surface pressure PSFC and temperature T2; the file lacks {lacking}"
            )
        _expect_units(ds, path, ("Q2", ("kg kg-1", "kg/kg", "1")), ("PSFC", ("Pa",)))
        _expect_units(ds, path, ("T2", ("K",)))
        put(
            "rh2m",
            relative_humidity_from_mixing_ratio(q2, psfc, t2),
            "relative_humidity",
            "%",
            "from WRF Q2, PSFC and T2",
        )
    u10, v10 = field("U10"), field("V10")
    if (u10 is None) != (v10 is None):
        raise ForecastError(
            f"{path}: WRF has {'U10' if v10 is None else 'V10'} without "
            f"{'V10' if v10 is None else 'U10'}; both are needed to rotate the 10 m wind"
        )
    if u10 is not None and v10 is not None:
        cos_alpha, sin_alpha, how = _rotation(ds, latitude, longitude, path)
        u, v = rotate_to_earth(u10, v10, cos_alpha, sin_alpha)
        units = _units(ds, "U10", "m s-1")
        put("u10", u, "eastward_wind", units, f"WRF U10, V10 rotated to earth-relative {how}")
        put("v10", v, "northward_wind", units, f"WRF U10, V10 rotated to earth-relative {how}")
    hgt = field("HGT")
    if hgt is not None:
        put("orography", hgt, "surface_altitude", _units(ds, "HGT", "m"), "WRF HGT")
    swdown = field("SWDOWN")
    if swdown is not None:
        put(
            "rsds",
            swdown,
            "surface_downwelling_shortwave_flux_in_air",
            _units(ds, "SWDOWN", "W m-2"),
            "WRF SWDOWN",
        )
    snowh = field("SNOWH")
    snow = field("SNOW")
    if snowh is not None:
        put("snow_depth", snowh, "surface_snow_thickness", _units(ds, "SNOWH", "m"), "WRF SNOWH")
    elif snow is not None:
        put("swe", snow, "surface_snow_amount", _units(ds, "SNOW", "kg m-2"), "WRF SNOW")
    precipitation = _precipitation(ds, field, path)
    if precipitation is not None:
        put("tp", precipitation, "precipitation_amount", "mm", "WRF RAINC + RAINNC")
    snownc = field("SNOWNC")
    if snownc is not None:
        put("sf", snownc, "snowfall_amount", _units(ds, "SNOWNC", "mm"), "WRF SNOWNC")
    if "CLDFRA" in ds.variables:
        logger.info(
            "%s: WRF CLDFRA is the cloud fraction on model levels %s; a wrfout file has no "
            "2-D total cloud cover, so none is read",
            path,
            list(ds["CLDFRA"].dims),
        )

    result = xr.Dataset(out).rename_dims({_TIME_DIM: "time"})
    result = result.assign_coords(
        time=("time", times, {"standard_name": "time", "axis": "T"}),
        latitude=(
            _HORIZONTAL,
            latitude,
            {"standard_name": "latitude", "units": "degrees_north"},
        ),
        longitude=(
            _HORIZONTAL,
            longitude,
            {"standard_name": "longitude", "units": "degrees_east"},
        ),
    )
    reference = _reference_time(ds, path)
    if reference is not None:
        result = result.assign_coords(forecast_reference_time=reference)
        result["forecast_reference_time"].attrs = {"standard_name": "forecast_reference_time"}
    result.attrs = {"grid_type": GRID_TYPE}
    for key in ("MAP_PROJ", "MAP_PROJ_CHAR", "TRUELAT1", "TRUELAT2", "STAND_LON", "DX", "DY"):
        if key in ds.attrs:
            result.attrs[f"wrf_{key.lower()}"] = ds.attrs[key]
    return result


def _parse_wrf_time(text: str, what: str, path: Path) -> np.datetime64:
    value = text.strip().replace("_", "T")
    try:
        parsed = np.datetime64(value, "ns")
    except ValueError:
        parsed = None
    if parsed is None or len(value) != 19 or value[10] != "T":
        raise ForecastError(f"{path}: WRF {what} {text!r} is not YYYY-MM-DD_hh:mm:ss")
    return parsed


def _valid_times(ds: xr.Dataset, path: Path) -> np.ndarray:
    if _TIME_DIM not in ds.dims:
        raise ForecastError(f"{path}: WRF file without the Time dimension")
    if "Times" not in ds.variables:
        xtime = ds.get("XTIME")
        if xtime is not None and np.issubdtype(xtime.dtype, np.datetime64):
            return np.asarray(xtime.values).astype("datetime64[ns]")
        raise ForecastError(f"{path}: WRF file without Times (nor a decodable XTIME)")
    raw = np.asarray(ds["Times"].values)
    if raw.ndim == 2:  # undecoded characters (Time, DateStrLen)
        raw = np.array([b"".join(np.atleast_1d(row).astype("S1")) for row in raw])
    texts = [r.decode("ascii", "replace") if isinstance(r, bytes) else str(r) for r in raw]
    if len(texts) != ds.sizes[_TIME_DIM]:
        raise ForecastError(
            f"{path}: WRF Times has {len(texts)} entries for Time = {ds.sizes[_TIME_DIM]}"
        )
    times = np.array([_parse_wrf_time(t, "Times entry", path) for t in texts])
    if times.size > 1 and np.any(times[1:] <= times[:-1]):
        raise ForecastError(f"{path}: WRF Times are not increasing: {texts}")
    return times


def _reference_time(ds: xr.Dataset, path: Path) -> np.datetime64 | None:
    for key in ("SIMULATION_START_DATE", "START_DATE"):
        if key in ds.attrs:
            return _parse_wrf_time(str(ds.attrs[key]), f"attribute {key}", path)
    return None


def _static(ds: xr.Dataset, name: str, path: Path) -> np.ndarray:
    """A 2-D field of the first time (XLAT, XLONG, COSALPHA ...); a moving nest is refused."""
    data = ds[name]
    if _TIME_DIM in data.dims:
        first = np.asarray(data.isel({_TIME_DIM: 0}).values, dtype=np.float64)
        last = np.asarray(data.isel({_TIME_DIM: -1}).values, dtype=np.float64)
        if not np.allclose(first, last, equal_nan=True):
            raise ForecastError(
                f"{path}: WRF {name} changes with time (a moving nest); not supported"
            )
        values = first
    else:
        values = np.asarray(data.values, dtype=np.float64)
    if values.ndim != 2 or not np.all(np.isfinite(values)):
        raise ForecastError(f"{path}: WRF {name} is not a finite 2-D field (shape {values.shape})")
    return values


def _rotation(
    ds: xr.Dataset, latitude: np.ndarray, longitude: np.ndarray, path: Path
) -> tuple[xr.DataArray, xr.DataArray, str]:
    dims = _HORIZONTAL
    if "COSALPHA" in ds.variables and "SINALPHA" in ds.variables:
        cos_alpha = _static(ds, "COSALPHA", path)
        sin_alpha = _static(ds, "SINALPHA", path)
        norm = np.hypot(cos_alpha, sin_alpha)
        if np.any(np.abs(norm - 1.0) > 0.01):
            raise ForecastError(
                f"{path}: WRF COSALPHA and SINALPHA are not the cosine and sine of one angle "
                f"(cos^2 + sin^2 up to {float(np.max(norm)) ** 2:.3g})"
            )
        how = "with COSALPHA/SINALPHA"
    else:
        cos_alpha, sin_alpha = grid_rotation(latitude, longitude)
        how = "with the rotation computed from XLAT/XLONG (no COSALPHA/SINALPHA)"
        logger.info("%s: WRF file without COSALPHA/SINALPHA; 10 m winds rotated %s", path, how)
    return xr.DataArray(cos_alpha, dims=dims), xr.DataArray(sin_alpha, dims=dims), how


def _precipitation(
    ds: xr.Dataset, field: Callable[[str], xr.DataArray | None], path: Path
) -> xr.DataArray | None:
    parts = [(name, field(name)) for name in ("RAINC", "RAINNC")]
    present = [(n, d) for n, d in parts if d is not None]
    if not present:
        return None
    for name, _ in present:
        _expect_units(ds, path, (name, ("mm",)))
    total = sum(d for _, d in present)
    bucket = float(ds.attrs.get("BUCKET_MM", -1.0))
    if bucket > 0.0:
        for name, _ in present:
            counter = field(f"I_{name}")
            if counter is not None:
                total = total + counter * bucket
    return total


def _units(ds: xr.Dataset, name: str, default: str) -> str:
    text = str(ds[name].attrs.get("units", "")).strip()
    return text or default


def _expect_units(ds: xr.Dataset, path: Path, *checks: tuple[str, tuple[str, ...]]) -> None:
    for name, allowed in checks:
        units = str(ds[name].attrs.get("units", "")).strip()
        if units and units not in allowed:
            raise ForecastError(
                f"{path}: WRF {name} has units {units!r}; expected {' or '.join(allowed)}"
            )
