"""Units: cf_xarray's pint registry, completed once with what forecast files need.

Every conversion in the reader goes through :data:`ureg` (``cf_xarray.units.units``, which
already parses UDUNITS/CF strings such as ``m s-1`` or ``%``). This module adds, once:

* the Dobson unit, ``DU`` = 10 µm of pure ozone at standard temperature and pressure
  (WMO Global Ozone Research and Monitoring Project; CF gives
  ``equivalent_thickness_at_stp_of_atmosphere_ozone_content`` in m, so 1 DU = 1e-5 m);
* ecCodes unit strings pint cannot parse: ``(0 - 1)`` (a fraction, ECMWF ``tcc``) and
  ``<length> of water equivalent`` (ECMWF ``sd``/``sf``: a depth of liquid water, i.e. a
  length);
* four pint *contexts* for the conversions that need physics, each used only where the source
  variable says so (see :mod:`bulletin.readers.catalogue`):

  ``lwe``
      liquid water equivalent: a mass per area of water and a depth of water are linked by the
      density of liquid water, 1000 kg m-3 (the convention of the CF ``lwe_`` standard names
      and of ECMWF, for which 1 kg m-2 = 1 mm; ECMWF parameter database, paramId 228141).
  ``ozone``
      column mass of ozone (kg m-2) to Dobson units: 1 DU is a column of n0 * 10 µm molecules,
      n0 = p0 / (k T0) the Loschmidt number density at 273.15 K and 1 atm, times the molar mass
      of O3 (3 x 15.999 g mol-1, IUPAC standard atomic weight of oxygen) over Avogadro's
      number, i.e. 2.1415e-5 kg m-2 per DU (the factor in the CAMS documentation).
  ``geopotential``
      surface geopotential (m2 s-2) to height (m) by standard gravity 9.80665 m s-2, the
      definition of the geopotential metre (WMO-No. 8, 2018, Part I, Annex 1.A; ECMWF:
      "orography = z / 9.80665").
  ``erythemal``
      erythemally weighted UV irradiance (W m-2) to the UV index: UVI = 40 m2 W-1 x irradiance,
      i.e. one UVI unit per 25 mW m-2 (WHO/WMO/UNEP/ICNIRP, *Global Solar UV Index: A
      Practical Guide*, 2002; CAMS ``uvbed``: UVI = 40 x uvbed).

:func:`convert` applies a conversion to an :class:`xarray.DataArray` as ``a * x + b``
(pint conversions, offsets included, are affine), so dask-backed data stay lazy.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pint
import xarray as xr
from cf_xarray.units import units as ureg

from bulletin.errors import ForecastError

__all__ = ["CONTEXTS", "UnitsError", "convert", "is_convertible", "parse_units", "ureg"]

#: Density of liquid water used for liquid-water-equivalent conversions (kg m-3).
WATER_DENSITY_KG_M3 = 1000.0
#: Molar mass of ozone, 3 x 15.999 g mol-1 (IUPAC standard atomic weight of O).
OZONE_MOLAR_MASS_G_MOL = 3 * 15.999
#: Erythemally weighted irradiance per UV-index unit, 25 mW m-2 (WHO 2002).
UVI_IRRADIANCE_W_M2 = 0.025

CONTEXTS: tuple[str, ...] = ("lwe", "ozone", "geopotential", "erythemal")


class UnitsError(ForecastError):
    """A units string cannot be parsed or converted to the unit a field needs."""


def _define_once() -> None:
    """Add the definitions, preprocessors and contexts to the shared registry (idempotent:
    the guards skip what exists, and adding a context again replaces it)."""
    if "dobson_unit" not in ureg:
        ureg.define("dobson_unit = 1e-5 m = DU")
    if _ecc_unit_strings not in ureg.preprocessors:
        # Run before cf_xarray's own preprocessors (after its leading ``str``).
        ureg.preprocessors.insert(1, _ecc_unit_strings)
    for context in (_lwe(), _ozone(), _geopotential(), _erythemal()):
        ureg.add_context(context)


def _lwe() -> pint.Context:
    rho = ureg.Quantity(WATER_DENSITY_KG_M3, "kg m-3")
    context = pint.Context("lwe")
    context.add_transformation("[length]", "[mass] / [length] ** 2", lambda _, x: x * rho)
    context.add_transformation("[mass] / [length] ** 2", "[length]", lambda _, x: x / rho)
    context.add_transformation(
        "[length] / [time]", "[mass] / [length] ** 2 / [time]", lambda _, x: x * rho
    )
    context.add_transformation(
        "[mass] / [length] ** 2 / [time]", "[length] / [time]", lambda _, x: x / rho
    )
    return context


def _ozone() -> pint.Context:
    loschmidt = ureg.Quantity(1.0, "atm") / (
        ureg.Quantity(1.0, "boltzmann_constant") * ureg.Quantity(273.15, "K")
    )
    mass_per_du = (
        loschmidt
        * ureg.Quantity(1.0, "DU")
        * ureg.Quantity(OZONE_MOLAR_MASS_G_MOL, "g/mol")
        / ureg.Quantity(1.0, "avogadro_constant")
    ).to("kg m-2")
    thickness_per_du = ureg.Quantity(1.0, "DU").to("m")
    context = pint.Context("ozone")
    context.add_transformation(
        "[mass] / [length] ** 2", "[length]", lambda _, x: x / mass_per_du * thickness_per_du
    )
    context.add_transformation(
        "[length]", "[mass] / [length] ** 2", lambda _, x: x / thickness_per_du * mass_per_du
    )
    return context


def _geopotential() -> pint.Context:
    g0 = ureg.Quantity(1.0, "standard_gravity")
    context = pint.Context("geopotential")
    context.add_transformation("[length] ** 2 / [time] ** 2", "[length]", lambda _, x: x / g0)
    context.add_transformation("[length]", "[length] ** 2 / [time] ** 2", lambda _, x: x * g0)
    return context


def _erythemal() -> pint.Context:
    per_uvi = ureg.Quantity(UVI_IRRADIANCE_W_M2, "W m-2")
    context = pint.Context("erythemal")
    context.add_transformation("[mass] / [time] ** 3", "[]", lambda _, x: x / per_uvi)
    context.add_transformation("[]", "[mass] / [time] ** 3", lambda _, x: x * per_uvi)
    return context


_WATER_EQUIVALENT = re.compile(r"\s+of\s+water\s+equivalent\s*$", re.IGNORECASE)


def _ecc_unit_strings(text: str) -> str:
    """ecCodes unit strings -> pint-readable ones (see the module docstring)."""
    stripped = text.strip()
    if stripped == "(0 - 1)":
        return "1"
    return _WATER_EQUIVALENT.sub("", stripped)


_define_once()


def parse_units(text: str) -> pint.Unit:
    """Parse a units string (CF/UDUNITS, ecCodes or pint syntax) into a pint unit."""
    try:
        return ureg.Unit(text)
    except (pint.errors.PintError, ValueError, AssertionError, AttributeError, TypeError) as exc:
        raise UnitsError(f"units {text!r} cannot be parsed ({type(exc).__name__})") from None


def _affine(from_units: str, to_units: str, contexts: Sequence[str]) -> tuple[float, float]:
    """(scale, offset) with to = scale * from + offset."""
    parse_units(from_units)
    parse_units(to_units)
    try:
        probe = ureg.Quantity(np.array([0.0, 1.0]), from_units).to(to_units, *contexts)
    except (pint.errors.PintError, ValueError, TypeError) as exc:
        raise UnitsError(
            f"units {from_units!r} cannot be converted to {to_units!r} ({type(exc).__name__})"
        ) from None
    offset = float(probe.magnitude[0])
    return float(probe.magnitude[1]) - offset, offset


def is_convertible(from_units: str, to_units: str, contexts: Sequence[str] = ()) -> bool:
    """True when ``from_units`` parse and convert to ``to_units`` (with ``contexts``)."""
    try:
        _affine(from_units, to_units, contexts)
    except UnitsError:
        return False
    return True


def convert(
    data: xr.DataArray, from_units: str, to_units: str, contexts: Sequence[str] = ()
) -> xr.DataArray:
    """``data`` (in ``from_units``) expressed in ``to_units``; lazy for dask-backed data.

    Raises :class:`UnitsError` when the units do not parse or do not convert.
    """
    scale, offset = _affine(from_units, to_units, contexts)
    out = data
    if scale != 1.0:
        out = out * scale
    if offset != 0.0:
        out = out + offset
    return out.assign_attrs(units=to_units)
