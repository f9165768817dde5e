"""Clothing index (穿衣指数): ISO 11079 required insulation for a spectator, exposure limit,
clothing level, and a simple mean radiant temperature.

References
----------
* ISO 11079:2007 Ergonomics of the thermal environment -- Determination and interpretation of
  cold stress when using required clothing insulation (IREQ) and local cooling effects
  (Annex: Holmér's IREQ program); ``pythermalcomfort.models.ireq`` (v4.8.1) is the reference
  implementation the tests compare against. Solver: :mod:`bulletin.indices.iso11079`;
  lookup table: :mod:`bulletin.indices.ireq_lut`.
* ISO 9920 (clothing ensembles and their insulation, for the band wording).
* Mean radiant temperature: Di Napoli, C. et al. (2020), Mean radiant temperature from
  global-scale numerical weather prediction models, Int. J. Biometeorol. 64, 1233-1245
  (as in thermofeel ``calculate_mean_radiant_temperature``); Erbs, D. G., Klein, S. A. and
  Duffie, J. A. (1982), Estimation of the diffuse radiation fraction for hourly, daily and
  monthly-average global radiation, Solar Energy 28, 293-302 (as in ``pvlib.irradiance.erbs``).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

from ._arrays import (
    as_float,
    check_range,
    count_at_or_above,
    elementwise,
    flat_as,
    float_dtype,
)
from .ireq_lut import clothing_and_storage_tables, clothing_table, storage_table
from .iso11079 import QLIM_WH_M2, SPECTATOR, duration_limited_exposure

#: Body-height (~1.5 m) wind as a fraction of the 10 m wind: the JAG/TI wind chill model's
#: assumption (face-level wind = 2/3 V10; OFCM FCM-R19-2003), used here for consistency.
BODY_WIND_FACTOR = 2.0 / 3.0
#: ISO 11079 lower limit of relative air speed (m/s): ``va = max(0.4, 2/3 V10)``.
MIN_AIR_SPEED = 0.4

#: Lower ICLneutral edges (clo) of clothing levels 2..7 (our proposal on
#: ISO 9920 ensemble insulation values): <1.5, 1.5-2.0, 2.0-2.5, 2.5-3.0, 3.0-3.5, 3.5-4.5, >=4.5.
CLOTHING_LEVEL_EDGES = (1.5, 2.0, 2.5, 3.0, 3.5, 4.5)

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

    Spectator settings (our choice): M = 70 W/m² (standing/sitting at rest,
    ISO 8996), no walking, windproof outer layer p = 8 l/(m² s), relative air speed
    ``va = max(0.4, body_wind_factor * V10)`` (ISO 11079 floor 0.4 m/s; 2/3 V10 as in the
    JAG/TI wind chill model).

    Evaluated from the precomputed table (:mod:`bulletin.indices.ireq_lut`; within 0.02 clo of
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
    clo: ArrayLike = 3.0,
    *,
    body_wind_factor: float = BODY_WIND_FACTOR,
) -> NDArray[np.floating]:
    """ISO 11079 duration-limited exposure DLE (hours) for a spectator wearing ``clo``.

    DLE = Qlim / -S with Qlim = 40 Wh/m² of body heat debt and S the rate of body heat
    storage (W/m²) for the worn basic insulation under the IREQneutral criterion (DLEneutral
    with 3 clo: ~4.9 h at 0 °C calm, ~1.4 h at -10 °C calm). Spectator
    settings as in :func:`required_insulation`.

    * ``inf`` where the body does not lose heat (S >= 0). ISO 11079 reports DLE > 8 h as
      "more than 8 h" (not limiting in a day); the number is returned and the wording is left
      to the caller.
    * Scalar ``clo`` (the usual case): S is tabulated for that outfit on first use (closed-form
      solution, ~0.2 s) and interpolated like ICL; within 2 % of the direct solution
      where DLE <= 8 h. Array ``clo``: solved directly (exact, slower).

    Returns hours, float32 for float32 inputs; NaN where an input is NaN.
    """
    dtype, t, tr, v, rh = _inputs("exposure_limit_hours", t_c, tr_c, v10_ms, rh_pct)
    worn = np.asarray(clo, dtype=np.float64)
    check_range("exposure_limit_hours", "clo", worn, 0.0, 10.0, "clo")
    if worn.size == 1:
        storage = storage_table(float(worn.reshape(-1)[0]))(t, tr, body_wind_factor, v, rh)
        return _hours_from_storage(storage)
    va = np.maximum(MIN_AIR_SPEED, body_wind_factor * v.astype(np.float64))
    hours = duration_limited_exposure(t, tr, va, rh, worn, criterion="neutral", wearer=SPECTATOR)
    return hours.astype(dtype)


def clothing_and_exposure(
    t_c: NDArray[np.floating],
    tr_c: NDArray[np.floating],
    v10_ms: NDArray[np.floating],
    rh_pct: NDArray[np.floating],
    clo: float = 3.0,
    *,
    body_wind_factor: float = BODY_WIND_FACTOR,
) -> tuple[NDArray[np.floating], NDArray[np.floating]]:
    """:func:`required_insulation` and :func:`exposure_limit_hours` (scalar ``clo``) together
    on numpy arrays, with the same numbers: the inputs are checked once and the two lookup
    tables share one search of the air temperature and air speed cells."""
    dtype, t, tr, v, rh = _inputs("clothing_and_exposure", t_c, tr_c, v10_ms, rh_pct)
    check_range("clothing_and_exposure", "clo", np.asarray(clo, np.float64), 0.0, 10.0, "clo")
    icl, storage = clothing_and_storage_tables(float(clo)).evaluate(t, tr, body_wind_factor, v, rh)
    return _no_negative_clo(icl).astype(dtype, copy=False), _hours_from_storage(storage)


@elementwise("clo")
def clothing_level(clo: ArrayLike) -> NDArray[np.int8]:
    """Clothing level 1..7 (int8; -1 where NaN) from ICLneutral in clo (the
    bands are our proposal on ISO 9920 ensemble insulation values):

    =====  ===========  ==========================================
    level  clo          outfit
    =====  ===========  ==========================================
    1      < 1.5        外套/夹克 coat or jacket
    2      1.5 - 2.0    厚外套、毛衣 heavy coat, sweater
    3      2.0 - 2.5    棉服/羽绒服 + 毛衣 padded or down jacket + sweater
    4      2.5 - 3.0    厚羽绒服、保暖内衣、帽子手套
    5      3.0 - 3.5    加厚羽绒服 + 羽绒/防风裤、围巾、棉靴
    6      3.5 - 4.5    极寒全套（滑雪/极地服装），暖贴，坐垫
    7      >= 4.5       as 6, and limit continuous time outdoors (beyond wearable insulation)
    =====  ===========  ==========================================

    A value on an edge belongs to the warmer-clothing band (1.5 -> level 2).
    """
    c = np.asarray(clo)
    c = c if np.issubdtype(c.dtype, np.floating) else c.astype(np.float64)
    return count_at_or_above(c, CLOTHING_LEVEL_EDGES, start=1, nan_missing=True)


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
