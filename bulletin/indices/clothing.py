"""Clothing index (穿衣指数) for winter spectators: ISO 11079 required insulation, outfit
tiers up to the warmest outfit a spectator wears, time limits beyond it, and a simple mean
radiant temperature.

The index (:func:`clothing_level`, the table :data:`CLOTHING_TIERS`) has seven levels:

=====  =======================================  ========  ==============================
level  outfit                                   Icl clo   set by
=====  =======================================  ========  ==============================
1      a jacket over everyday clothes           1.0       ICLneutral <= 1.0
2      a sweater and a winter coat              1.5       ICLneutral <= 1.5
3      a down jacket over a sweater, hat and    2.0       ICLneutral <= 2.0
       gloves
4      a long down parka, thermal underwear,    3.0       ICLneutral <= 3.0
       insulated pants, winter boots, hat,
       scarf and gloves
5      the warmest outfit (full cold-weather    4.0       DLEmin of it >= 8 h (IREQmin)
       gear), no time limit
6      the warmest outfit, warm up indoors      4.0       1 h <= DLEmin < 8 h
       within DLEmin
7      the warmest outfit cannot be worn for    4.0       DLEmin < 1 h
       an hour: outdoors at most DLEmin
=====  =======================================  ========  ==============================

* Levels 1-4, IREQneutral: the lightest of four outfits that keeps a spectator thermally
  neutral (ISO 11079 ICLneutral, no body cooling) for as long as the stay lasts. Outfits
  and their basic insulation are our choice on the ensemble values of ISO 9920:2007
  Annex A (everyday clothes with a jacket, about 1.0 clo; ensembles with a heavy quilted
  parka and quilted trousers, about 2.2-2.6 clo) and the ISO 11079:2007 table of examples
  ("arctic clothing systems", 3-4.5 clo).
* Levels 5-7, IREQmin: beyond 3.0 clo, the warmest outfit a spectator owns
  (:data:`WARMEST_OUTFIT_CLO` = 4.0 clo: thermal underwear and fleece under a hooded
  expedition down parka and down pants, insulated boots, mittens, hat and face mask; our
  choice inside ISO 11079's 3-4.5 clo of arctic clothing). Between ICLmin and ICLneutral
  ISO 11079 accepts slight body cooling; below ICLmin exposure is limited by the
  duration-limited exposure DLEmin of that outfit (body heat debt Qlim = 40 Wh/m²).
  ISO 11079 reports DLE above 8 h as not limiting (level 5); level 7 is where even the
  warmest outfit cannot be worn for about an hour (our choice of the hour, the length of
  one competition session). The public sees the outfit and the limit in minutes
  (:func:`exposure_limit_minutes`), never clo.

The spectator (:data:`bulletin.indices.iso11079.SPECTATOR`): M = 80 W/m² (standing,
walking slowly a quarter of the time; ISO 8996 / ISO 7730 values), walking speed 0.14 m/s,
windproof outer layer; wind at body height from the 10 m wind by
:data:`BODY_WIND_FACTOR`.

References
----------
* ISO 11079:2007 Ergonomics of the thermal environment -- Determination and interpretation of
  cold stress when using required clothing insulation (IREQ) and local cooling effects
  (Annex: Holmér's IREQ program); ``pythermalcomfort.models.ireq`` (v4.8.1) is the reference
  implementation the tests compare against. Solver: :mod:`bulletin.indices.iso11079`;
  lookup table: :mod:`bulletin.indices.ireq_lut`.
* ISO 9920:2007 Estimation of thermal insulation and water vapour resistance of a clothing
  ensemble (Annex A: insulation of ensembles).
* ISO 8996:2004 Determination of metabolic rate; ISO 7730:2005 Table B.1 (metabolic rates).
* Bröde, P. et al. (2012), Deriving the operational procedure for the Universal Thermal
  Climate Index (UTCI), Int. J. Biometeorol. 56, 481-494 (wind at 1.1 m from 10 m by the
  logarithmic profile with roughness length 0.01 m).
* Mean radiant temperature: Di Napoli, C. et al. (2020), Mean radiant temperature from
  global-scale numerical weather prediction models, Int. J. Biometeorol. 64, 1233-1245
  (as in thermofeel ``calculate_mean_radiant_temperature``); Erbs, D. G., Klein, S. A. and
  Duffie, J. A. (1982), Estimation of the diffuse radiation fraction for hourly, daily and
  monthly-average global radiation, Solar Energy 28, 293-302 (as in ``pvlib.irradiance.erbs``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

from ._arrays import (
    MISSING,
    as_float,
    check_range,
    elementwise,
    flat_as,
    float_dtype,
)
from .ireq_lut import clothing_and_storage_tables, clothing_table, storage_table
from .iso11079 import QLIM_WH_M2, SPECTATOR, Criterion, duration_limited_exposure

#: Height (m) of the wind that reaches a standing spectator: the centre of gravity of the
#: body, the reference height of the UTCI (Bröde et al. 2012).
BODY_HEIGHT_M = 1.1
#: Roughness length (m) of the logarithmic wind profile (Bröde et al. 2012, UTCI).
ROUGHNESS_LENGTH_M = 0.01
#: Body-height wind as a fraction of the 10 m wind, ``ln(1.1/0.01) / ln(10/0.01)`` = 0.68
#: (logarithmic profile, Bröde et al. 2012); close to the JAG/TI wind chill model's
#: face-level wind of 2/3 V10 (OFCM FCM-R19-2003).
BODY_WIND_FACTOR = math.log(BODY_HEIGHT_M / ROUGHNESS_LENGTH_M) / math.log(
    10.0 / ROUGHNESS_LENGTH_M
)
#: ISO 11079 lower limit of relative air speed (m/s): ``va = max(0.4, factor V10)``.
MIN_AIR_SPEED = 0.4

#: Basic insulation (clo) of the outfits of levels 1..4: the largest ICLneutral each covers
#: (our choice on ISO 9920:2007 Annex A ensembles, see the module docstring).
OUTFIT_CLO = (1.0, 1.5, 2.0, 3.0)
#: Basic insulation (clo) of the warmest outfit a spectator wears (levels 5-7; our choice
#: inside the 3-4.5 clo of "arctic clothing systems" of ISO 11079:2007).
WARMEST_OUTFIT_CLO = 4.0
#: ISO 11079 criterion of the warmest outfit's exposure limit: DLEmin (IREQmin).
EXPOSURE_CRITERION: Criterion = "min"
#: DLE (h) from which exposure is not limiting: ISO 11079 reports DLE above 8 h as
#: "more than 8 h", a working day.
NOT_LIMITING_H = 8.0
#: DLE (h) below which the warmest outfit "cannot be worn for about an hour" (top level;
#: our choice: one competition session).
SHORT_STAY_H = 1.0


@dataclass(frozen=True)
class ClothingTier:
    """One level of the clothing index: the outfit, its basic insulation Icl (clo), the
    ISO 11079 criterion that sets the level and, for the warmest outfit's levels, the range
    of its duration-limited exposure (hours, ``low <= DLE < high``)."""

    level: int
    outfit: str
    clo: float
    criterion: Criterion
    exposure_h: tuple[float, float] | None


#: The seven levels (see the module docstring); the public wording of each is in
#: :data:`bulletin.indices.levels.LEVEL_NAMES` and ``templates/wording.toml``.
CLOTHING_TIERS: tuple[ClothingTier, ...] = (
    ClothingTier(1, "a jacket over everyday clothes", OUTFIT_CLO[0], "neutral", None),
    ClothingTier(2, "a sweater and a winter coat", OUTFIT_CLO[1], "neutral", None),
    ClothingTier(
        3, "a down jacket over a sweater, a hat and gloves", OUTFIT_CLO[2], "neutral", None
    ),
    ClothingTier(
        4,
        "a long down parka, thermal underwear, insulated pants, winter boots, a hat, "
        "a scarf and gloves",
        OUTFIT_CLO[3],
        "neutral",
        None,
    ),
    ClothingTier(
        5,
        "full cold-weather gear: thermals and fleece under a hooded expedition down parka "
        "and down pants, insulated boots, mittens, a hat and a face mask",
        WARMEST_OUTFIT_CLO,
        EXPOSURE_CRITERION,
        (NOT_LIMITING_H, math.inf),
    ),
    ClothingTier(
        6,
        "full cold-weather gear, and warm up indoors within the exposure limit",
        WARMEST_OUTFIT_CLO,
        EXPOSURE_CRITERION,
        (SHORT_STAY_H, NOT_LIMITING_H),
    ),
    ClothingTier(
        7,
        "full cold-weather gear, outdoors no longer than the exposure limit (under an hour)",
        WARMEST_OUTFIT_CLO,
        EXPOSURE_CRITERION,
        (0.0, SHORT_STAY_H),
    ),
)

_STEFAN_BOLTZMANN = 5.67e-8
#: Shortwave absorptivity and longwave emissivity of a person (Di Napoli et al. 2020; VDI 3787).
_ABSORPTIVITY_SW = 0.7
_EMISSIVITY = 0.97
#: Mean extraterrestrial irradiance, W/m² (pvlib ``get_extra_radiation`` default).
SOLAR_CONSTANT = 1366.1
#: Erbs/pvlib guards: clearness index uses cos(zenith) >= 0.065; no beam beyond zenith 87°.
_MIN_COS_ZENITH = 0.065
_MAX_ZENITH_COS = float(np.cos(np.deg2rad(87.0)))


def _inputs(function: str, t_c, tr_c, v10_ms, rh_pct):
    dtype = float_dtype(t_c, tr_c, v10_ms, rh_pct)
    t, tr, v, rh = (as_float(x, dtype) for x in (t_c, tr_c, v10_ms, rh_pct))
    check_range(function, "t_c", t, -100.0, 60.0, "°C", "air temperature in °C expected")
    check_range(function, "tr_c", tr, -120.0, 150.0, "°C", "radiant temperature in °C expected")
    check_range(function, "v10_ms", v, 0.0, 150.0, "m/s")
    check_range(function, "rh_pct", rh, 0.0, 105.0, "%", "relative humidity in % expected")
    return dtype, t, tr, v, rh


@elementwise("t_c", "tr_c", "v10_ms", "rh_pct")
def required_insulation(
    t_c: ArrayLike,
    tr_c: ArrayLike,
    v10_ms: ArrayLike,
    rh_pct: ArrayLike,
    *,
    body_wind_factor: float = BODY_WIND_FACTOR,
) -> NDArray[np.floating]:
    """ISO 11079 ICLneutral (clo): basic clothing insulation a spectator needs to stay
    thermally neutral (no body cooling).

    Spectator settings (:data:`bulletin.indices.iso11079.SPECTATOR`, our choice on ISO 8996
    and ISO 7730 values): M = 80 W/m², walking speed 0.14 m/s, windproof outer layer
    p = 8 l/(m² s); relative air speed ``va = max(0.4, body_wind_factor * V10)`` (ISO 11079
    floor 0.4 m/s; :data:`BODY_WIND_FACTOR`, the logarithmic profile to 1.1 m).

    Evaluated from the precomputed table (:mod:`bulletin.indices.ireq_lut`; within 0.03 clo of
    the ISO 11079 solver and pythermalcomfort over ta -40..10 °C, tr-ta 0..30 K,
    va 0.4..18 m/s, RH 10..100 %; see the tests). Outside the table (ta -50..20 °C,
    tr-ta -10..40 K, va <= 18.4 m/s) inputs are clamped to its edge. Negative values (no
    clothing needed, warm and sunny) are returned as 0.

    Parameters
    ----------
    t_c : air temperature, °C.
    tr_c : mean radiant temperature, °C (``t_c`` when unknown; see
        :func:`mean_radiant_temperature`).
    v10_ms : 10 m wind speed, m/s.
    rh_pct : relative humidity, %.

    Returns ICLneutral in clo (1 clo = 0.155 m²K/W), float32 for float32 inputs; NaN where
    an input is NaN.
    """
    dtype, t, tr, v, rh = _inputs("required_insulation", t_c, tr_c, v10_ms, rh_pct)
    return _no_negative_clo(clothing_table()(t, tr, body_wind_factor, v, rh)).astype(
        dtype, copy=False
    )


def _no_negative_clo(icl: NDArray[np.floating]) -> NDArray[np.floating]:
    """ICLneutral below 0 (no clothing needed) as 0, in place; NaN stays NaN."""
    return np.maximum(icl, 0, out=icl)


def _hours_from_storage(storage: NDArray[np.floating]) -> NDArray[np.floating]:
    """DLE = -Qlim / min(S, -0), in place: S >= 0 divides by -0.0 and gives +inf (no limit),
    NaN stays NaN."""
    dtype = storage.dtype.type
    np.minimum(storage, dtype(-0.0), out=storage)
    with np.errstate(divide="ignore"):
        return np.divide(dtype(-QLIM_WH_M2), storage, out=storage)


@elementwise("t_c", "tr_c", "v10_ms", "rh_pct", "clo")
def exposure_limit_hours(
    t_c: ArrayLike,
    tr_c: ArrayLike,
    v10_ms: ArrayLike,
    rh_pct: ArrayLike,
    clo: ArrayLike = WARMEST_OUTFIT_CLO,
    *,
    body_wind_factor: float = BODY_WIND_FACTOR,
    criterion: Criterion = EXPOSURE_CRITERION,
) -> NDArray[np.floating]:
    """ISO 11079 duration-limited exposure DLE (hours) for a spectator wearing ``clo``
    (default: the warmest outfit, :data:`WARMEST_OUTFIT_CLO`, whose DLE sets levels 5-7 of
    :func:`clothing_level`).

    DLE = Qlim / -S with Qlim = 40 Wh/m² of body heat debt and S the rate of body heat
    storage (W/m²) for the worn basic insulation under the skin temperature and wettedness
    of ``criterion`` (default ``"min"``, DLEmin, the limit ISO 11079 sets where the outfit
    gives less than IREQmin; ``"neutral"`` gives the shorter DLEneutral). With 4 clo:
    DLEmin ~3.6 h at -20 °C calm, ~1.5 h at -30 °C calm, ~0.9 h at -20 °C with 5 m/s at
    body height. Spectator settings as in :func:`required_insulation`.

    * ``inf`` where the body does not lose heat (S >= 0). ISO 11079 reports DLE > 8 h as
      "more than 8 h" (not limiting in a day); the number is returned and the wording is left
      to the caller (:func:`exposure_limit_minutes`).
    * Scalar ``clo`` (the usual case): S is tabulated for that outfit on first use (closed-form
      solution, ~0.2 s) and interpolated like ICL; within 2 % of the direct solution
      where DLE <= 8 h. Array ``clo``: solved directly (exact, slower).

    Returns hours, float32 for float32 inputs; NaN where an input is NaN.
    """
    dtype, t, tr, v, rh = _inputs("exposure_limit_hours", t_c, tr_c, v10_ms, rh_pct)
    worn = np.asarray(clo, dtype=np.float64)
    check_range("exposure_limit_hours", "clo", worn, 0.0, 10.0, "clo")
    if worn.size == 1:
        table = storage_table(float(worn.reshape(-1)[0]), criterion)
        return _hours_from_storage(table(t, tr, body_wind_factor, v, rh))
    va = np.maximum(MIN_AIR_SPEED, body_wind_factor * v.astype(np.float64))
    hours = duration_limited_exposure(t, tr, va, rh, worn, criterion=criterion, wearer=SPECTATOR)
    return hours.astype(dtype)


def clothing_and_exposure(
    t_c: NDArray[np.floating],
    tr_c: NDArray[np.floating],
    v10_ms: NDArray[np.floating],
    rh_pct: NDArray[np.floating],
    clo: float = WARMEST_OUTFIT_CLO,
    *,
    body_wind_factor: float = BODY_WIND_FACTOR,
    criterion: Criterion = EXPOSURE_CRITERION,
) -> tuple[NDArray[np.floating], NDArray[np.floating]]:
    """:func:`required_insulation` and :func:`exposure_limit_hours` (scalar ``clo``) together
    on numpy arrays, with the same numbers: the inputs are checked once and the two lookup
    tables share one search of the air temperature and air speed cells. The two are what
    :func:`clothing_level` takes (with the default ``clo``, the warmest outfit)."""
    dtype, t, tr, v, rh = _inputs("clothing_and_exposure", t_c, tr_c, v10_ms, rh_pct)
    check_range("clothing_and_exposure", "clo", np.asarray(clo, np.float64), 0.0, 10.0, "clo")
    tables = clothing_and_storage_tables(float(clo), criterion)
    icl, storage = tables.evaluate(t, tr, body_wind_factor, v, rh)
    return _no_negative_clo(icl).astype(dtype, copy=False), _hours_from_storage(storage)


@elementwise("clo", "exposure_limit_h")
def clothing_level(clo: ArrayLike, exposure_limit_h: ArrayLike) -> NDArray[np.int8]:
    """Clothing level 1..7 (int8; -1 where an input is NaN), the table of the module
    docstring and :data:`CLOTHING_TIERS`:

    * from ICLneutral ``clo`` (:func:`required_insulation`): the first outfit of levels 1-4
      whose insulation :data:`OUTFIT_CLO` covers it (a need on an edge is covered: 1.0 clo
      is level 1), 5 beyond 3.0 clo;
    * from ``exposure_limit_h``, DLEmin of the warmest outfit (:func:`exposure_limit_hours`
      with its defaults): at least level 6 below 8 h, level 7 below 1 h.

    The level is the higher of the two, so it never falls as either input worsens.
    """
    c = np.asarray(clo)
    h = np.asarray(exposure_limit_h)
    dtype = float_dtype(c, h)
    c, h = as_float(c, dtype), as_float(h, dtype)
    check_range("clothing_level", "clo", c, 0.0, None, "clo")
    check_range("clothing_level", "exposure_limit_h", h, 0.0, None, "h")
    shape = np.broadcast_shapes(c.shape, h.shape)
    out = np.empty(shape, dtype=np.int8)
    scalar = dtype.type
    _clothing_level_kernel(
        flat_as(c, shape),
        flat_as(h, shape),
        tuple(scalar(edge) for edge in OUTFIT_CLO),
        scalar(NOT_LIMITING_H),
        scalar(SHORT_STAY_H),
        out.reshape(-1),
    )
    return out


@njit(nogil=True, cache=True, error_model="numpy")
def _clothing_level_kernel(
    clo, hours, edges, not_limiting, short_stay, out
):  # pragma: no cover - compiled
    """:func:`clothing_level` per point of flat arrays: comparisons only (NaN compares
    false, then marks the level missing)."""
    for i in range(out.shape[0]):
        c = clo[i]
        h = hours[i]
        level = 1
        for edge in edges:
            level += c > edge
        if h < not_limiting and level < 6:
            level = 6
        if h < short_stay:
            level = 7
        out[i] = level if (c == c) & (h == h) else MISSING


@elementwise("exposure_limit_h")
def exposure_limit_minutes(exposure_limit_h: ArrayLike) -> NDArray[np.float64]:
    """The time limit a bulletin says, in minutes, from a DLE in hours: rounded down (the
    words never promise more time than computed) to 5 minutes from 10 minutes on and to the
    minute below that (our choice: how a presenter says a time). NaN where the exposure is
    not limiting (:data:`NOT_LIMITING_H`, ISO 11079's 8 h, or more; ``inf``) or missing."""
    h = np.asarray(exposure_limit_h, dtype=np.float64)
    check_range("exposure_limit_minutes", "exposure_limit_h", h, 0.0, None, "h")
    minutes = h * 60.0
    with np.errstate(invalid="ignore"):
        step = np.where(minutes >= 10.0, 5.0, 1.0)
        said = np.floor(minutes / step) * step
        return np.where(h < NOT_LIMITING_H, said, np.nan)


@elementwise("t_c", "rsds_wm2", "cos_sza", "surface_albedo", "day_of_year")
def mean_radiant_temperature(
    t_c: ArrayLike,
    rsds_wm2: ArrayLike,
    cos_sza: ArrayLike,
    surface_albedo: ArrayLike = 0.2,
    day_of_year: ArrayLike | None = None,
) -> NDArray[np.floating]:
    """Mean radiant temperature (°C) of a standing person outdoors from global horizontal
    shortwave irradiance, with long-wave surroundings at air temperature.

    Di Napoli et al. (2020) / thermofeel, with fa = 0.5 per hemisphere, absorptivity 0.7 and
    emissivity 0.97:

        Tmrt⁴ = (1/σ) [0.5 L↓ + 0.5 L↑ + (0.7/0.97)(0.5 D + 0.5 ρ G + fp I)]

    simplified for a forecast that carries only ``G`` (rsds) and the sun's position:

    * long-wave: ``L↓ = L↑ = σ Ta⁴`` (surroundings at air temperature; our simplification, which
      makes Tmrt = Ta at night and whenever G = 0; a clear night sky would be colder);
    * diffuse/beam split of G by Erbs et al. (1982) as ``pvlib.irradiance.erbs`` (clearness
      index with cos z >= 0.065, no beam beyond zenith 87°; the three pieces evaluated in a
      continuous branch-free form): ``D`` diffuse horizontal, ``I`` direct normal, here also
      capped at the extraterrestrial irradiance (an hourly-mean G with the end-of-hour sun
      position can imply more at low sun);
    * reflected shortwave ``ρ G`` with broadband surface albedo ρ (default 0.2, bare ground;
      our choice: it underestimates Tmrt over snow, ρ ≈ 0.8 fresh / 0.5-0.7 old snow, so the
      clothing advice errs on the warm side; pass the snow value where the ground is white —
      :func:`bulletin.indices.snow_albedo` gives UV albedos, close to these over snow but
      0.05 on bare ground);
    * projected-area factor of a standing person
      ``fp = 0.308 cos(γ (0.998 - γ²/50000))`` with γ the solar elevation in degrees
      (Jendritzky et al. 1990, as in Di Napoli et al. 2020).

    Parameters
    ----------
    t_c : air temperature, °C.
    rsds_wm2 : global horizontal irradiance (surface solar radiation downwards), W/m².
    cos_sza : cosine of the solar zenith angle (values <= 0 mean the sun is down).
    surface_albedo : shortwave albedo of the ground, 0..1.
    day_of_year : for the Earth-Sun distance (pvlib ``get_extra_radiation``, Spencer 1971);
        None (default) uses the mean extraterrestrial irradiance 1366.1 W/m².

    Returns Tmrt in °C, float32 for float32 ``t_c``/``rsds``; NaN where ``t_c``, ``rsds`` or
    ``cos_sza`` is NaN.
    """
    dtype = float_dtype(t_c, rsds_wm2, cos_sza)
    t, ghi, mu, albedo = (as_float(x, dtype) for x in (t_c, rsds_wm2, cos_sza, surface_albedo))
    name = "mean_radiant_temperature"
    check_range(name, "t_c", t, -100.0, 60.0, "°C", "air temperature in °C expected")
    check_range(name, "rsds_wm2", ghi, -1.0, 1500.0, "W/m²")
    check_range(name, "cos_sza", mu, -1.0, 1.0, "")
    check_range(name, "surface_albedo", albedo, 0.0, 1.0, "")
    if day_of_year is None:
        extra = np.asarray(SOLAR_CONSTANT, dtype=dtype)
    else:
        from pvlib.irradiance import get_extra_radiation

        doy = np.asarray(day_of_year, dtype=np.float64)
        check_range(name, "day_of_year", doy, 0.0, 367.0, "days")
        extra = np.asarray(get_extra_radiation(doy), dtype=dtype)

    shape = np.broadcast_shapes(t.shape, ghi.shape, mu.shape, albedo.shape, extra.shape)

    def flat(x: NDArray) -> NDArray:
        return flat_as(x, shape)

    t, ghi, mu = flat(t), flat(ghi), flat(mu)
    # The kernel has a fast loop for the usual single albedo and extraterrestrial irradiance.
    if albedo.size == 1 and extra.size == 1:
        albedo, extra = albedo.reshape(1), extra.reshape(1)
    else:
        albedo, extra = flat(albedo), flat(extra)
    out = np.empty(t.size, dtype=dtype)
    _tmrt_kernel(t, ghi, mu, _projected_area_factor(mu), albedo, extra, _tmrt_constants(dtype), out)
    return out.reshape(shape)


def _projected_area_factor(mu: NDArray[np.floating]) -> NDArray[np.floating]:
    """fp = 0.308 cos(γ (0.998 - γ²/50000)) of a standing person, γ the solar elevation in
    degrees from cos(zenith) ``mu`` (clipped to 0..1) (Jendritzky et al. 1990, as in Di Napoli
    et al. 2020). With numpy's vectorised arcsin and cos: the kernel after it has none."""
    dtype = mu.dtype.type
    gamma = np.clip(mu, 0, 1)
    np.arcsin(gamma, out=gamma)
    constants = (180.0 / np.pi, -1.0 / 50000.0, 0.998, np.pi / 180.0)
    _fp_argument_kernel(gamma.reshape(-1), tuple(dtype(c) for c in constants))
    fp = np.cos(gamma, out=gamma)
    fp *= dtype(0.308)
    return fp


@njit(nogil=True, cache=True, fastmath=False, error_model="numpy")
def _fp_argument_kernel(gamma, constants):  # pragma: no cover - compiled
    """In place: γ (radians) -> γ' (0.998 - γ'²/50000) in radians, with γ' = γ in degrees
    (degrees by multiplication: np.rad2deg has no SIMD loop for float32); each operation
    rounds as numpy's (fastmath off); the loop vectorises."""
    to_degrees, quadratic, linear, to_radians = constants
    for i in range(gamma.shape[0]):
        g = gamma[i] * to_degrees
        gamma[i] = (((g * g) * quadratic + linear) * g) * to_radians


def _tmrt_constants(dtype: np.dtype) -> tuple:
    """The constants of :func:`_tmrt_point` in the computation's float type (a Python number
    would make numba compute in float64)."""
    values = (
        _MIN_COS_ZENITH,
        _MAX_ZENITH_COS,
        _ABSORPTIVITY_SW / _EMISSIVITY / _STEFAN_BOLTZMANN,
        *_ERBS,
        273.15,
        0.0,
        1.0,
        0.5,
    )
    return tuple(dtype.type(value) for value in values)


#: Erbs et al. (1982) diffuse fraction: the edges 0.22 and 0.8 of the clearness index, the
#: slope -0.09 of the linear piece below 0.22, and the quartic's coefficients from kt⁴ down.
_ERBS = (0.22, 0.8, -0.09, 12.336, -16.638, 4.388, -0.1604, 0.9511)


@njit(nogil=True, cache=True, fastmath=False, error_model="numpy")
def _tmrt_kernel(t, ghi, mu, fp, albedo, extra, constants, out):  # pragma: no cover - compiled
    """Tmrt (see :func:`mean_radiant_temperature`) per point of flat arrays, from the
    projected-area factor ``fp``; ``albedo`` and ``extra`` hold one value or one per point.

    Element-wise arithmetic only (no calls, no fused multiply-add: fastmath off), so LLVM
    vectorises the loop and each operation rounds as the same numpy ufunc would; NaN
    propagates through every comparison as through np.maximum/np.minimum/np.clip."""
    if albedo.size == 1 and extra.size == 1:  # the usual case: a loop without gathers
        for i in range(t.shape[0]):
            out[i] = _tmrt_point(t[i], ghi[i], mu[i], fp[i], albedo[0], extra[0], constants)
    else:
        for i in range(t.shape[0]):
            out[i] = _tmrt_point(t[i], ghi[i], mu[i], fp[i], albedo[i], extra[i], constants)


@njit(nogil=True, cache=True, fastmath=False, error_model="numpy", inline="always")
def _tmrt_point(t, g, m, fp, albedo, extra, constants):  # pragma: no cover - compiled
    """Tmrt at one point (see :func:`_tmrt_kernel`; ``constants``: :func:`_tmrt_constants`)."""
    (
        min_cos,
        max_zenith_cos,
        gain,
        kt_low,
        kt_high,
        slope_low,
        a4,
        a3,
        a2,
        a1,
        a0,
        t0,
        zero,
        one,
        half,
    ) = constants
    if g < zero:  # tiny negative fluxes from GRIB packing are no sunshine
        g = zero
    # Erbs et al. (1982) diffuse fraction of the clearness index kt = G / (I0 max(cos z,
    # 0.065)), kt clipped to [0, 1] as in pvlib. Erbs' three pieces (1 - 0.09 kt below 0.22,
    # a quartic up to 0.8, 0.165 above) meet continuously, so they are evaluated without
    # branches as the quartic on kt clipped to [0.22, 0.8] plus the linear piece's slope
    # below 0.22 (differs from the piecewise form by < 3e-4 in the diffuse fraction).
    kt = m
    if kt < min_cos:
        kt = min_cos
    kt = g / (kt * extra)
    if kt < zero:
        kt = zero
    if kt > one:
        kt = one
    low = kt
    if low > kt_low:
        low = kt_low
    low = (low - kt_low) * slope_low
    if kt < kt_low:
        kt = kt_low
    if kt > kt_high:
        kt = kt_high
    diffuse = kt * a4
    diffuse = (diffuse + a3) * kt
    diffuse = (diffuse + a2) * kt
    diffuse = (diffuse + a1) * kt
    diffuse = (diffuse + a0) + low
    diffuse = diffuse * g  # diffuse horizontal irradiance D
    # Beam normal irradiance I = (G - D) / cos z, none with the sun within 3° of the horizon,
    # and at most the extraterrestrial irradiance: an hourly-mean G with the end-of-hour sun
    # position can imply more at low sun (our guard; Erbs/pvlib leave it uncapped).
    m_beam = m
    if m_beam < max_zenith_cos:
        m_beam = max_zenith_cos
    beam = (g - diffuse) / m_beam
    beam = beam * (one if m >= max_zenith_cos else zero)
    if beam > extra:
        beam = extra
    # Closure G = D + I cos z: what is not beam is diffuse.
    diffuse = g - beam * m
    # Absorbed shortwave (W/m²): fp I + 0.5 D + 0.5 ρ G, times absorptivity / (emissivity σ).
    absorbed = (beam * fp + ((albedo * g) + diffuse) * half) * gain
    # Tmrt = Ta (1 + absorbed/Ta⁴)^(1/4), written as Ta + Ta((1 + x)^(1/4) - 1) so that
    # Tmrt == Ta exactly where nothing is absorbed.
    t_k = t + t0
    t4 = t_k * t_k
    t4 = t4 * t4
    ratio = np.sqrt(np.sqrt(absorbed / t4 + one))
    return t + (ratio - one) * t_k
