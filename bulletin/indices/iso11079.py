"""ISO 11079:2007 cold-stress model (IREQ, ICL, DLE), vectorised over whole numpy arrays.

This is the heat-balance model of ISO 11079:2007 *Ergonomics of the thermal environment --
Determination and interpretation of cold stress when using required clothing insulation (IREQ)
and local cooling effects*, Annex (Holmér's IREQ program), written as array code:

* :func:`required_insulation_iso` solves the heat balance for IREQ by bisection on whole
  arrays (every element takes the same number of halvings, so there is no per-element loop)
  and converts it to the basic clothing insulation ICL that has to be worn;
* :func:`body_heat_storage` gives the rate of body heat storage ``S`` (W/m²) for a worn
  outfit. Given the radiative heat-transfer coefficient the balance is linear in ``S``, so it
  is solved in closed form with a few fixed-point updates of that coefficient;
* :func:`duration_limited_exposure` turns ``S`` into DLE = Qlim / -S hours (Qlim = 40 Wh/m²).

Equations, constants and conventions follow ISO 11079 Annex as implemented in
``pythermalcomfort.models.ireq`` (v4.8.1), which is the reference the tests compare against
(including its use of 273 for the kelvin offset in the radiation term and of the Antoine-type
saturation pressure ``0.1333 exp(18.6686 - 4030.183 / (t + 235))`` kPa):

* skin temperature and wetness: IREQmin ``tsk = 33.34 - 0.0354 M``, ``w = 0.06``;
  IREQneutral ``tsk = 35.7 - 0.0285 M``, ``w = 0.001 M``;
* respiration: ``Cres = 0.0014 M (tex - ta)``, ``Eres = 0.0173 M (pex - pa)``, ``tex = 29 + 0.2 ta``;
* evaporation: ``E = w (psk - pa) / Ret``, ``Ret = 0.06 / 0.38 (Ia + I)``;
* dry heat: ``R + C = fcl [hr (tcl - tr) + hc (tcl - ta)]``, ``hc = 1/Ia - hr``,
  ``hr = σ ε (Ar/Adu) (Tcl⁴ - Tr⁴) / (tcl - tr)`` with ε = 0.95, Ar/Adu = 0.77,
  ``fcl = 1 + 1.197 I``, ``tcl = tsk - I (M - W - E - Cres - Eres [- S])``;
* boundary-layer insulation ``Ia = 0.092 exp(-0.15 va - 0.22 w_walk) - 0.0045`` m²K/W and the
  wind/permeability correction ``corr = 0.54 exp(-0.15 va - 0.22 w_walk) p^0.075 - 0.06 ln p + 0.5``;
  ``ICL = (IREQ + Ia / fcl) / corr - 0.085 / fcl`` and, for a worn outfit, the resultant
  insulation ``Ir = (Icl + 0.085 / fcl) corr - Ia / fcl``.

ISO 11079 validity: 58 <= M <= 400 W/m², ta <= 10 °C, 0.4 <= va <= 18 m/s. These functions
compute outside that range too (the physics stays smooth); callers document what they do there.

Units: temperatures °C, speeds m/s, relative humidity %, metabolic rate W/m², insulation clo
(1 clo = 0.155 m²K/W), permeability l/(m² s), storage W/m², DLE hours. Everything is float64.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: m²K/W per clo (ISO 9920).
CLO_M2K_W = 0.155
#: W/m² per met (ISO 8996).
MET_W_M2 = 58.15
#: Body heat debt that limits exposure, Wh/m² (ISO 11079 Annex, Qlim).
QLIM_WH_M2 = 40.0
#: σ ε Ar/Adu of ISO 11079 Annex (Stefan-Boltzmann constant, skin/clothing emissivity 0.95,
#: radiating fraction of the body surface 0.77).
_RADIATION = 5.67e-8 * 0.95 * 0.77
#: Kelvin offset used by the ISO 11079 Annex program (and pythermalcomfort) in the radiation term.
_KELVIN = 273.0

Criterion = Literal["neutral", "min"]


#: Metabolic rate (W/m²) of a person standing relaxed: 1.2 met (ISO 7730:2005 Table B.1,
#: from ISO 8996; ASHRAE 55-2020 Table 5.2.1.2 "standing, relaxed").
STANDING_RELAXED_W_M2 = 70.0
#: Metabolic rate (W/m²) of walking on the level at 2 km/h: 1.9 met (ISO 7730:2005 Table B.1).
SLOW_WALK_W_M2 = 110.0
#: Speed (m/s) of that walk: 2 km/h.
SLOW_WALK_SPEED = 2.0 / 3.6
#: Share of the time a spectator walks (to the stands, about the venue, stamping to keep warm)
#: rather than stands still (our choice).
SPECTATOR_WALKING_SHARE = 0.25
#: The spectator's metabolic rate (W/m²) and walking speed (m/s), time-weighted (see
#: :class:`Wearer`): 80 W/m² and 0.14 m/s.
SPECTATOR_METABOLIC_RATE = (
    1.0 - SPECTATOR_WALKING_SHARE
) * STANDING_RELAXED_W_M2 + SPECTATOR_WALKING_SHARE * SLOW_WALK_W_M2
SPECTATOR_WALKING_SPEED = SPECTATOR_WALKING_SHARE * SLOW_WALK_SPEED


@dataclass(frozen=True)
class Wearer:
    """The person the insulation is required for (ISO 11079 inputs other than the weather).

    Defaults are the spectator of this project, a person who mostly stands and now and then
    walks slowly (our choice, on published values): the time-weighted mean over a cycle of
    activities (ISO 8996:2004 clause 5.3, metabolic rate of a work cycle) of standing relaxed,
    70 W/m², three quarters of the time and walking at 2 km/h, 110 W/m², a quarter of it,
    ``M = 0.75 x 70 + 0.25 x 110 = 80 W/m²`` (1.4 met; within ISO 8996:2004 Table A.2 class 1,
    "low metabolic rate", 70-130 W/m²); the walking speed averaged the same way,
    ``0.25 x 2 km/h = 0.14 m/s`` (at least ISO 11079's minimum ``0.0052 (M - 58)`` =
    0.11 m/s for this M); windproof outer garment with air permeability ``p = 8 l/(m² s)``
    (the value of the ISO 11079 Table F.1 cases); no external work.
    """

    metabolic_rate: float = SPECTATOR_METABOLIC_RATE
    walking_speed: float = SPECTATOR_WALKING_SPEED
    air_permeability: float = 8.0
    external_work: float = 0.0


SPECTATOR = Wearer()


def saturation_pressure_kpa(t_c: ArrayLike) -> NDArray[np.float64]:
    """Saturation vapour pressure over water, kPa, as in the ISO 11079 Annex program.

    ``0.1333 exp(18.6686 - 4030.183 / (t + 235))`` (Antoine form, t in °C).
    """
    t = np.asarray(t_c, dtype=np.float64)
    return 0.1333 * np.exp(18.6686 - 4030.183 / (t + 235.0))


def air_insulation(va: ArrayLike, walking_speed: float = 0.0) -> NDArray[np.float64]:
    """Boundary-layer insulation ``Ia`` (m²K/W) at relative air speed ``va`` (m/s), ISO 11079."""
    v = np.asarray(va, dtype=np.float64)
    return 0.092 * np.exp(-0.15 * v - 0.22 * walking_speed) - 0.0045


def clothing_correction(
    va: ArrayLike, walking_speed: float = 0.0, air_permeability: float = 8.0
) -> NDArray[np.float64]:
    """Wind and permeability reduction of clothing insulation, ISO 11079 Annex (dimensionless).

    ``0.54 exp(-0.15 va - 0.22 w) p^0.075 - 0.06 ln p + 0.5``.
    """
    v = np.asarray(va, dtype=np.float64)
    p = air_permeability
    return 0.54 * np.exp(-0.15 * v - 0.22 * walking_speed) * p**0.075 - 0.06 * np.log(p) + 0.5


def _skin(criterion: Criterion, metabolic_rate: float) -> tuple[float, float]:
    """Skin temperature (°C) and skin wettedness of the ISO 11079 criterion."""
    if criterion == "neutral":
        return 35.7 - 0.0285 * metabolic_rate, 0.001 * metabolic_rate
    if criterion == "min":
        return 33.34 - 0.0354 * metabolic_rate, 0.06
    raise ValueError(f"criterion must be 'neutral' or 'min', got {criterion!r}")


def _radiative_coefficient(tcl: NDArray, tr: NDArray) -> NDArray:
    """``hr = σ ε Ar/Adu (Tcl⁴ - Tr⁴) / (tcl - tr)`` in the factored form without the 0/0."""
    tcl_k = tcl + _KELVIN
    tr_k = tr + _KELVIN
    return _RADIATION * (tcl_k * tcl_k + tr_k * tr_k) * (tcl_k + tr_k)


class _Environment:
    """Terms of the ISO 11079 heat balance that do not depend on the clothing."""

    def __init__(self, ta, tr, va, rh, criterion: Criterion, wearer: Wearer):
        self.ta, self.tr, va, rh = np.broadcast_arrays(
            *(np.asarray(x, dtype=np.float64) for x in (ta, tr, va, rh))
        )
        m = wearer.metabolic_rate
        self.tsk, wettedness = _skin(criterion, m)
        self.ia = air_insulation(va, wearer.walking_speed)
        self.corr = clothing_correction(va, wearer.walking_speed, wearer.air_permeability)
        pa = rh / 100.0 * saturation_pressure_kpa(self.ta)
        tex = 29.0 + 0.2 * self.ta
        respiration = 0.0173 * m * (saturation_pressure_kpa(tex) - pa) + 0.0014 * m * (
            tex - self.ta
        )
        # Heat available before evaporation from the skin: M - W - Cres - Eres (W/m²).
        self.available = m - wearer.external_work - respiration
        # Skin evaporation numerator: E = evap_drive / (Ia + I) (W/m² times m²K/W).
        self.evap_drive = wettedness * (saturation_pressure_kpa(self.tsk) - pa) * 0.38 / 0.06

    def balance(self, insulation: NDArray) -> NDArray:
        """Heat balance residual (W/m²) at total clothing insulation ``insulation`` (m²K/W):
        ``M - W - E - Cres - Eres - R - C``; it is negative when ``insulation`` is too small."""
        net = self.available - self.evap_drive / (self.ia + insulation)
        tcl = self.tsk - insulation * net
        fcl = 1.0 + 1.197 * insulation
        hr = _radiative_coefficient(tcl, self.tr)
        dry = fcl * ((tcl - self.ta) / self.ia - hr * (self.tr - self.ta))
        return net - dry


def required_insulation_iso(
    ta: ArrayLike,
    tr: ArrayLike,
    va: ArrayLike,
    rh: ArrayLike,
    *,
    criterion: Criterion = "neutral",
    wearer: Wearer = SPECTATOR,
    halvings: int = 48,
    upper_m2kw: float = 8.0,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """IREQ and ICL (both clo) of ISO 11079:2007 Annex, solved by whole-array bisection.

    Parameters
    ----------
    ta, tr : air and mean radiant temperature, °C.
    va : relative air speed at body height, m/s.
    rh : relative humidity, %.
    criterion : ``"neutral"`` (IREQneutral: no body cooling) or ``"min"`` (IREQmin).
    wearer : metabolic rate, walking speed and clothing permeability (:class:`Wearer`).
    halvings : bisection steps on [0, ``upper_m2kw``] m²K/W; 48 gives ~3e-14 m²K/W.

    Returns
    -------
    (ireq_clo, icl_clo) : required total resultant insulation IREQ and the basic clothing
    insulation ICL that provides it (``ICL = (IREQ + Ia/fcl)/corr - 0.085/fcl``), clo.
    IREQ is 0 where the body is in heat surplus even without clothing (warm conditions,
    outside ISO 11079's scope; pythermalcomfort returns NaN there), and NaN where an input is
    NaN or more than ``upper_m2kw`` would be needed.
    """
    env = _Environment(ta, tr, va, rh, criterion, wearer)
    lo = np.zeros(env.ta.shape)
    hi = np.full(env.ta.shape, upper_m2kw)
    surplus = env.balance(lo) > 0.0  # warm: heat surplus even without clothing
    bracketed = surplus | (env.balance(hi) >= 0.0)
    for _ in range(halvings):
        mid = 0.5 * (lo + hi)
        too_little = env.balance(mid) < 0.0
        lo = np.where(too_little, mid, lo)
        hi = np.where(too_little, hi, mid)
    ireq = np.where(bracketed, np.where(surplus, 0.0, 0.5 * (lo + hi)), np.nan)
    fcl = 1.0 + 1.197 * ireq
    icl = (ireq + env.ia / fcl) / env.corr - 0.085 / fcl
    return ireq / CLO_M2K_W, icl / CLO_M2K_W


def body_heat_storage(
    ta: ArrayLike,
    tr: ArrayLike,
    va: ArrayLike,
    rh: ArrayLike,
    clo: ArrayLike,
    *,
    criterion: Criterion = "neutral",
    wearer: Wearer = SPECTATOR,
    updates: int = 4,
) -> NDArray[np.float64]:
    """Rate of body heat storage ``S`` (W/m², negative = losing heat) wearing ``clo``, ISO 11079.

    The worn basic insulation ``clo`` becomes the resultant insulation ``Ir`` by the fixed
    point ``Ir = (Icl + 0.085/fcl(Ir)) corr - Ia/fcl(Ir)`` (ISO 11079 Annex). With
    ``X = R + C = M - W - E - Cres - Eres - S`` and ``tcl = tsk - Ir X`` the balance gives

        X = fcl [(tsk - ta) - Ia hr (tr - ta)] / (Ia + fcl Ir)

    which is exact for a given ``hr``; ``hr`` (which depends on ``tcl``) is updated ``updates``
    times from the previous ``tcl`` (four updates converge to < 1e-6 W/m² over the spectator
    domain, see the tests).

    Units: °C, m/s, %, clo in; W/m² out.
    """
    env = _Environment(ta, tr, va, rh, criterion, wearer)
    icl = np.asarray(clo, dtype=np.float64) * CLO_M2K_W
    resultant = np.broadcast_to(icl, np.broadcast_shapes(icl.shape, env.ta.shape)).copy()
    for _ in range(20):  # contraction factor ~0.1: 20 steps are far past float64 precision
        fcl = 1.0 + 1.197 * resultant
        resultant = (icl + 0.085 / fcl) * env.corr - env.ia / fcl
    fcl = 1.0 + 1.197 * resultant
    net = env.available - env.evap_drive / (env.ia + resultant)
    denominator = env.ia + fcl * resultant
    tcl = 0.5 * (env.tsk + env.ta)  # first guess for hr only
    dry = net
    for _ in range(updates):
        hr = _radiative_coefficient(tcl, env.tr)
        dry = fcl * ((env.tsk - env.ta) - env.ia * hr * (env.tr - env.ta)) / denominator
        tcl = env.tsk - resultant * dry
    return net - dry


def duration_limited_exposure(
    ta: ArrayLike,
    tr: ArrayLike,
    va: ArrayLike,
    rh: ArrayLike,
    clo: ArrayLike,
    *,
    criterion: Criterion = "neutral",
    wearer: Wearer = SPECTATOR,
) -> NDArray[np.float64]:
    """Duration-limited exposure DLE (hours) wearing ``clo``: ``Qlim / -S`` with Qlim = 40 Wh/m².

    ISO 11079:2007 Annex. ``inf`` where the body does not lose heat (``S >= 0``). ISO 11079
    reports values above 8 h as "more than 8 h" (not limiting within a working day); this
    function returns the number and leaves that wording to the caller.
    """
    storage = body_heat_storage(ta, tr, va, rh, clo, criterion=criterion, wearer=wearer)
    with np.errstate(divide="ignore"):
        return np.where(storage < 0.0, QLIM_WH_M2 / -storage, np.inf)
