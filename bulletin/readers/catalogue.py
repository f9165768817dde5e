"""Where each schema field can come from, and how a file variable is recognised.

A file variable is identified, in this order, by

1. its GRIB identity (cfgrib's ``GRIB_paramId`` / ``GRIB_shortName`` attributes, also present
   in NetCDF converted by cfgrib): when it has one, nothing else is consulted, because cfgrib's
   ``standard_name`` is unreliable (``sde`` comes out as ``lwe_thickness_of_surface_snow_amount``,
   ``ssrd`` as a flux, against the ECMWF parameter database);
2. its CF ``standard_name`` (CF standard name table; CMIP/xclim ``variables.yml`` names);
3. a known variable name, but only when its ``units`` convert to the source's units (a name
   alone never identifies a variable).

Short names and parameter ids are ecCodes' (ECMWF parameter database): ECMWF IFS/AIFS open data
and NCEP GFS pgrb2 names (NCEP GFS product inventory); ICON/COSMO NetCDF names (``t_2m``,
``td_2m``, ``u_10m``, ``clct``, ``tot_prec``, ``h_snow``, ``vmax_10m``, ...) are DWD's (DWD
Database Reference for the ICON model). ecCodes' ``uvi``
(paramId 151187, a wind increment) is deliberately absent: it is not a UV index.

Each :class:`Source` converts to one intermediate unit, with a pint context where physics is
needed (:mod:`bulletin.units`); :mod:`bulletin.forecast` derives the schema fields from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import xarray as xr

from bulletin.units import is_convertible

Kind = Literal["instant", "accumulated", "average"]


@dataclass(frozen=True)
class Source:
    """One kind of file variable that feeds a schema field."""

    key: str
    description: str
    units: str
    standard_names: tuple[str, ...] = ()
    grib_short_names: tuple[str, ...] = ()
    grib_param_ids: tuple[int, ...] = ()
    names: tuple[str, ...] = ()
    contexts: tuple[str, ...] = ()
    #: Accumulated (since a window start) / averaged over a window / a value at the time.
    #: For GRIB input the message's stepType decides; this is the default otherwise.
    kind: Kind = "instant"
    #: Units to assume when the file gives none usable (ecCodes writes "~" for some CAMS
    #: parameters; CF allows omitting units of dimensionless quantities).
    assumed_units: str | None = None
    #: GRIB typeOfLevel(s) the parameter must be on (empty: any). Geopotential is the
    #: orography only at the surface; GFS carries TCDC on several cloud layers and DSWRF also at
    #: the top of the atmosphere, under the same paramId.
    grib_levels: tuple[str, ...] = ()
    #: For accumulated sources: the unit of the mean rate derived from them.
    rate_units: str | None = None
    #: Fixed in time (orography): the first time and member are kept.
    time_invariant: bool = False

    def identifiers(self) -> str:
        """What is looked for, for error messages."""
        parts = []
        if self.standard_names:
            parts.append("standard_name " + "/".join(self.standard_names))
        if self.grib_short_names:
            parts.append("GRIB shortName " + "/".join(self.grib_short_names))
        return "; ".join(parts) if parts else self.key


SOURCES: tuple[Source, ...] = (
    Source(
        "air_temperature",
        "2 m air temperature",
        "degC",
        standard_names=("air_temperature",),
        grib_short_names=("2t",),
        grib_param_ids=(167,),
        names=("t2m", "tas", "2t", "temperature_2m", "tmp2m", "t_2m"),
    ),
    Source(
        "relative_humidity",
        "2 m relative humidity",
        "%",
        standard_names=("relative_humidity",),
        grib_short_names=("2r",),
        grib_param_ids=(260242,),
        names=("r2", "rh2m", "hurs", "2r", "rh", "relative_humidity_2m", "rh_2m", "relhum_2m"),
    ),
    Source(
        "dew_point_temperature",
        "2 m dew point temperature",
        "degC",
        standard_names=("dew_point_temperature",),
        grib_short_names=("2d",),
        grib_param_ids=(168,),
        names=("d2m", "tdps", "2d", "dewpoint_2m", "dpt2m", "td_2m"),
    ),
    Source(
        "wind_speed",
        "10 m wind speed",
        "m s-1",
        standard_names=("wind_speed",),
        grib_short_names=("10si",),
        grib_param_ids=(207,),
        names=("si10", "10si", "sfcWind", "wind10", "ws10", "wind_speed_10m", "sp_10m"),
    ),
    Source(
        "eastward_wind",
        "10 m eastward wind",
        "m s-1",
        standard_names=("eastward_wind",),
        grib_short_names=("10u",),
        grib_param_ids=(165,),
        names=("u10", "uas", "10u", "u_10m"),
    ),
    Source(
        "northward_wind",
        "10 m northward wind",
        "m s-1",
        standard_names=("northward_wind",),
        grib_short_names=("10v",),
        grib_param_ids=(166,),
        names=("v10", "vas", "10v", "v_10m"),
    ),
    Source(
        "wind_gust",
        "10 m wind gust",
        "m s-1",
        standard_names=("wind_speed_of_gust",),
        # ECMWF: 10fg is the maximum gust since the previous post-processing (stepType max),
        # 10fg3/10fg6 over the last 3/6 hours, i10fg the instantaneous gust; NCEP GFS: GUST
        # (ECMWF parameter database; NCEP GRIB2 Table 4.2-0-2). cfgrib names 10fg "fg10".
        # Only true gusts: a maximum of the 10 m mean wind (WRF WSPD10MAX) is not one.
        grib_short_names=("10fg", "i10fg", "10fg3", "10fg6", "gust"),
        grib_param_ids=(49, 228029, 228028, 123, 260065),
        names=("fg10", "i10fg", "fg10_3", "fg10_6", "gust", "wind_gust", "vmax_10m"),
    ),
    Source(
        "cloud_area_fraction",
        "total cloud cover",
        "1",
        standard_names=("cloud_area_fraction",),
        grib_short_names=("tcc",),
        grib_param_ids=(164, 228164),
        names=("tcc", "clt", "cloud_cover", "clct"),
        assumed_units="1",
        # GFS writes total cloud cover (TCDC) on atmosphereSingleLayer (GRIB2 level type 10,
        # "entire atmosphere as a single layer") as well as on its cloud layers (NCEP GRIB2
        # Table 4.5).
        grib_levels=("entireAtmosphere", "atmosphere", "atmosphereSingleLayer"),
    ),
    Source(
        "shortwave_flux",
        "surface downwelling shortwave flux",
        "W m-2",
        standard_names=(
            "surface_downwelling_shortwave_flux_in_air",
            "surface_downwelling_shortwave_flux",
        ),
        # ecCodes 2.50 names the GFS DSWRF time average avg_sdswrf (235035), older ones sdswrf.
        grib_short_names=("sdswrf", "avg_sdswrf"),
        grib_param_ids=(260087, 235035),
        names=("rsds", "sdswrf", "avg_sdswrf", "dswrf"),
        grib_levels=("surface",),
    ),
    Source(
        "shortwave_amount",
        "accumulated surface solar radiation downwards",
        "J m-2",
        standard_names=("integral_wrt_time_of_surface_downwelling_shortwave_flux_in_air",),
        grib_short_names=("ssrd",),
        grib_param_ids=(169,),
        names=("ssrd",),
        kind="accumulated",
        grib_levels=("surface",),
        rate_units="W m-2",
    ),
    Source(
        "snow_thickness",
        "physical snow depth",
        "m",
        standard_names=("surface_snow_thickness",),
        grib_short_names=("sde",),
        grib_param_ids=(3066,),
        names=("sde", "snd", "snod", "snow_depth", "h_snow"),
    ),
    Source(
        "snow_water_equivalent",
        "snow depth water equivalent",
        "kg m-2",
        standard_names=("surface_snow_amount", "lwe_thickness_of_surface_snow_amount"),
        grib_short_names=("sd", "sdwe"),
        grib_param_ids=(141, 228141, 260056),
        names=("sd", "snw", "sdwe", "swe", "weasd"),
        contexts=("lwe",),
    ),
    Source(
        "snow_density",
        "snow density",
        "kg m-3",
        standard_names=("snow_density",),
        grib_short_names=("rsn",),
        grib_param_ids=(33,),
        names=("rsn",),
    ),
    Source(
        "precipitation_amount",
        "accumulated precipitation",
        "mm",
        standard_names=("precipitation_amount", "lwe_thickness_of_precipitation_amount"),
        grib_short_names=("tp",),
        grib_param_ids=(228, 228228),
        names=("tp", "apcp", "tot_prec"),
        contexts=("lwe",),
        kind="accumulated",
        grib_levels=("surface",),
        rate_units="mm h-1",
    ),
    Source(
        "precipitation_rate",
        "precipitation rate",
        "mm h-1",
        standard_names=("precipitation_flux", "lwe_precipitation_rate"),
        grib_short_names=("prate", "tprate", "avg_tprate"),
        grib_param_ids=(3059, 172228, 260048, 235055),
        names=("pr", "prate", "tprate", "precipitation_rate"),
        contexts=("lwe",),
        grib_levels=("surface",),
    ),
    Source(
        "snowfall_amount",
        "accumulated snowfall",
        "mm",
        standard_names=("snowfall_amount", "lwe_thickness_of_snowfall_amount"),
        grib_short_names=("sf",),
        grib_param_ids=(144, 228144),
        names=("sf",),
        contexts=("lwe",),
        kind="accumulated",
        grib_levels=("surface",),
        rate_units="mm h-1",
    ),
    Source(
        "snowfall_rate",
        "snowfall rate",
        "mm h-1",
        standard_names=("snowfall_flux", "lwe_snowfall_rate"),
        grib_short_names=("tsrwe",),
        grib_param_ids=(260049,),
        names=("prsn", "snowfall_rate", "tsrwe"),
        contexts=("lwe",),
    ),
    Source(
        "visibility",
        "horizontal visibility",
        "m",
        standard_names=("visibility_in_air",),
        grib_short_names=("vis",),
        grib_param_ids=(3020,),
        names=("vis", "visibility"),
    ),
    Source(
        "ozone_thickness",
        "total column ozone",
        "DU",
        standard_names=("equivalent_thickness_at_stp_of_atmosphere_ozone_content",),
        grib_short_names=("tozne",),
        grib_param_ids=(260130,),
        names=("toz", "tozne", "total_ozone"),
    ),
    Source(
        "ozone_mass",
        "total column ozone (mass)",
        "DU",
        standard_names=("atmosphere_mass_content_of_ozone",),
        grib_short_names=("tco3", "gtco3"),
        grib_param_ids=(206, 210206),
        names=("tco3", "gtco3"),
        contexts=("ozone",),
    ),
    Source(
        "uv_index",
        "UV index",
        "1",
        standard_names=("ultraviolet_index",),
        names=("uv_index", "uvindex", "uv_index_all_sky"),
        assumed_units="1",
    ),
    Source(
        "uv_dose_rate",
        "UV biologically effective dose rate (CAMS uvbed)",
        "1",
        grib_short_names=("uvbed",),
        grib_param_ids=(214002,),
        names=("uvbed",),
        contexts=("erythemal",),
        # ECMWF parameter database, paramId 214002: W m-2 (ecCodes prints "~").
        assumed_units="W m-2",
    ),
    Source(
        "mean_sea_level_pressure",
        "mean sea-level pressure",
        "Pa",
        standard_names=("air_pressure_at_mean_sea_level", "air_pressure_at_sea_level"),
        grib_short_names=("msl", "prmsl"),
        grib_param_ids=(151, 260074),
        names=("msl", "psl", "prmsl", "mslp", "pres_msl"),
    ),
    Source(
        "surface_altitude",
        "model surface height",
        "m",
        standard_names=("surface_altitude",),
        grib_short_names=("orog",),
        grib_param_ids=(228002,),
        names=("orog", "orography", "hgt_surface", "topography_c", "hsurf"),
        grib_levels=("surface",),
        time_invariant=True,
    ),
    Source(
        "surface_geopotential",
        "surface geopotential",
        "m",
        standard_names=("surface_geopotential",),
        grib_short_names=("z",),
        grib_param_ids=(129,),
        names=("z", "fis"),
        contexts=("geopotential",),
        grib_levels=("surface",),
        time_invariant=True,
    ),
)

SOURCES_BY_KEY: dict[str, Source] = {s.key: s for s in SOURCES}

_BY_PARAM_ID = {pid: s for s in SOURCES for pid in s.grib_param_ids}
_BY_SHORT_NAME = {sn: s for s in SOURCES for sn in s.grib_short_names}
_BY_STANDARD_NAME = {sn: s for s in SOURCES for sn in s.standard_names}
_BY_NAME = {n.lower(): s for s in SOURCES for n in s.names}

#: ecCodes' placeholder for "no units" in its parameter tables.
NO_UNITS = frozenset({"", "~", "unknown", "none"})


def file_units(variable: xr.DataArray, source: Source) -> str | None:
    """The units string to interpret ``variable`` with (``None`` when there is none)."""
    text = str(variable.attrs.get("units", "")).strip()
    if text.lower() in NO_UNITS:
        return source.assumed_units
    return text


def identify(name: str, variable: xr.DataArray) -> tuple[Source, str] | None:
    """(source, how it was recognised) for a file variable, or ``None`` when unknown."""
    attrs = variable.attrs
    if "GRIB_paramId" in attrs or "GRIB_shortName" in attrs:
        source = _grib_source(attrs)
        if source is None:
            return None
        if source.grib_levels and attrs.get("GRIB_typeOfLevel") not in source.grib_levels:
            return None
        return source, f"GRIB {attrs.get('GRIB_shortName', '?')}"
    standard_name = str(attrs.get("standard_name", ""))
    if standard_name in _BY_STANDARD_NAME:
        return _BY_STANDARD_NAME[standard_name], f"standard_name {standard_name}"
    source = _BY_NAME.get(name.lower())
    if source is not None:
        units = file_units(variable, source)
        if units is not None and is_convertible(units, source.units, source.contexts):
            return source, f"name {name!r} with units {units!r}"
    return None


def _grib_source(attrs: dict) -> Source | None:
    param_id = attrs.get("GRIB_paramId")
    try:
        source = _BY_PARAM_ID.get(int(param_id)) if param_id is not None else None
    except (TypeError, ValueError):
        source = None
    if source is None:
        source = _BY_SHORT_NAME.get(str(attrs.get("GRIB_shortName", "")))
    return source
