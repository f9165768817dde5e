"""The six spectator weather indices as pure, element-wise numpy functions.

One module per index, flat functions with formula, units and references in their docstrings
(in the manner of xclim's ``indices`` and thermofeel):

* :mod:`.wind_chill` 体感寒凉: JAG/TI wind chill index, ECCC hazard levels 0..6;
* :mod:`.frostbite` 冻伤: Tikuisis & Osczevski minutes to frostbite, levels 1..5;
* :mod:`.clothing` 穿衣: ISO 11079 ICLneutral and DLE for a spectator, levels 1..7, Tmrt
  (solver :mod:`.iso11079`, lookup table :mod:`.ireq_lut`);
* :mod:`.cold` 感冒: cold/flu risk components on GB/T 20484-2017 thresholds, levels 1..4;
* :mod:`.uv` 防晒: solar zenith, ozone climatology, all-sky UV index, CMA levels 1..5 and WHO
  categories;
* :mod:`.goggles` 护目镜: ocular UV, goggles levels 1..4 and lens category S0..S4;
* :mod:`.composite`: spectator level Ⅰ..Ⅳ; :mod:`.levels`: names and colours.

Every function broadcasts numpy arrays (float32 stays float32), also accepts dask arrays
(lazy, block-wise), gives NaN for NaN input and int8 levels with -1 for missing. Impossible
inputs raise :class:`IndexInputError` (a :class:`bulletin.errors.BulletinError`).
"""

from ._arrays import MISSING, IndexInputError
from .clothing import (
    clothing_level,
    exposure_limit_hours,
    mean_radiant_temperature,
    required_insulation,
)
from .cold import (
    COLD_RISK_COMPONENTS,
    cold_risk_components,
    cold_risk_level,
    cold_risk_score,
    specific_humidity_gkg,
)
from .composite import IMPACT_TABLES, spectator_level
from .frostbite import frostbite_level, frostbite_minutes
from .goggles import goggles_lens, goggles_level, goggles_level_and_lens, ocular_uv
from .levels import LEVEL_NAMES, LEVEL_SOURCES, SPECTATOR_NUMERALS, LevelName, level_name
from .uv import (
    cloud_modification_factor,
    cos_solar_zenith,
    ozone_climatology_du,
    snow_albedo,
    snow_uv_factor,
    solar_zenith,
    sunscreen_level,
    uv_index,
    uv_index_clear_sky,
    uv_index_snow_free,
    who_uv_category,
)
from .wind_chill import wind_chill, wind_chill_f, wind_chill_level

__all__ = [
    "COLD_RISK_COMPONENTS",
    "IMPACT_TABLES",
    "LEVEL_NAMES",
    "LEVEL_SOURCES",
    "MISSING",
    "SPECTATOR_NUMERALS",
    "IndexInputError",
    "LevelName",
    "clothing_level",
    "cloud_modification_factor",
    "cold_risk_components",
    "cold_risk_level",
    "cold_risk_score",
    "cos_solar_zenith",
    "exposure_limit_hours",
    "frostbite_level",
    "frostbite_minutes",
    "goggles_lens",
    "goggles_level",
    "goggles_level_and_lens",
    "level_name",
    "mean_radiant_temperature",
    "ocular_uv",
    "ozone_climatology_du",
    "required_insulation",
    "snow_albedo",
    "snow_uv_factor",
    "solar_zenith",
    "specific_humidity_gkg",
    "spectator_level",
    "sunscreen_level",
    "uv_index",
    "uv_index_clear_sky",
    "uv_index_snow_free",
    "who_uv_category",
    "wind_chill",
    "wind_chill_f",
    "wind_chill_level",
]
