"""The internal forecast schema every reader normalises to.

``open_forecast`` returns an :class:`xarray.Dataset` with

* the dimension ``time`` (valid time, ``datetime64[ns]``, UTC, ascending) and, for ensembles,
  ``member`` (int);
* one of three horizontal layouts, named by ``attrs["grid_type"]`` (ecCodes ``gridType`` for
  GRIB, e.g. ``regular_ll``, ``reduced_gg``, ``lambert``; ``wrf``, ``curvilinear`` or
  ``unstructured`` for NetCDF; ``regular`` for a CF file on 1-D latitude and longitude):

  (a) regular: 1-D dimensions ``latitude`` (degrees north, ascending) and ``longitude``
      (degrees east in -180..180, ascending); a grid that goes round the globe is marked
      ``attrs["global_longitude"] = 1``;
  (b) structured but not regular (rotated, projected, WRF, CF files with 2-D latitude and
      longitude): dimensions ``y``, ``x`` with the 2-D coordinates ``latitude(y, x)`` and
      ``longitude(y, x)`` (degrees, longitudes in -180..180);
  (c) unstructured (reduced Gaussian, ICON cells): dimension ``cell`` with the 1-D coordinates
      ``latitude(cell)`` and ``longitude(cell)``;

* the scalar coordinate ``forecast_reference_time`` (UTC) when all the data come from one
  forecast run (a series of analyses, or consecutive runs joined along valid time, have none);
* the data variables below, float32, each with the CF ``standard_name`` and ``units``
  attributes given here (the units are the ones the index layer expects; readers convert
  with pint through cf_xarray's registry, never with hand-written factors).

Required variables make ``open_forecast`` fail with a clear error when missing; optional ones
are simply absent and the index layer uses its documented fallback. Winds are earth-relative
(readers rotate grid-relative components); ``wind10`` is derived from ``u10`` and ``v10`` when
the file gives no speed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    name: str
    standard_name: str
    units: str
    long_name: str
    required: bool = False


FIELDS: tuple[Field, ...] = (
    Field("t2m", "air_temperature", "degC", "2 m air temperature", required=True),
    Field("rh2m", "relative_humidity", "%", "2 m relative humidity", required=True),
    Field("wind10", "wind_speed", "m s-1", "10 m wind speed", required=True),
    Field("u10", "eastward_wind", "m s-1", "10 m eastward wind (earth-relative)"),
    Field("v10", "northward_wind", "m s-1", "10 m northward wind (earth-relative)"),
    Field("gust10", "wind_speed_of_gust", "m s-1", "10 m wind gust"),
    Field("tcc", "cloud_area_fraction", "1", "total cloud cover (0-1)"),
    Field(
        "rsds",
        "surface_downwelling_shortwave_flux_in_air",
        "W m-2",
        "surface solar radiation downwards (mean over the preceding interval)",
    ),
    Field("snow_depth", "surface_snow_thickness", "m", "physical snow depth"),
    Field(
        "snowfall",
        "lwe_snowfall_rate",
        "mm h-1",
        "snowfall rate, liquid water equivalent (mean over the preceding interval)",
    ),
    Field(
        "precip",
        "lwe_precipitation_rate",
        "mm h-1",
        "precipitation rate, liquid water equivalent (mean over the preceding interval)",
    ),
    Field("visibility", "visibility_in_air", "m", "horizontal visibility"),
    Field(
        "ozone",
        "equivalent_thickness_at_stp_of_atmosphere_ozone_content",
        "DU",
        "total column ozone",
    ),
    Field("uv_index_model", "ultraviolet_index", "1", "all-sky UV index from the model"),
    Field("msl", "air_pressure_at_mean_sea_level", "Pa", "mean sea-level pressure"),
    Field("orography", "surface_altitude", "m", "model surface height (2-D)"),
)

FIELDS_BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
REQUIRED: tuple[str, ...] = tuple(f.name for f in FIELDS if f.required)
