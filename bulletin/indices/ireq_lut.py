"""The ISO 11079 clothing lookup table: how it is built, stored and interpolated.

pythermalcomfort's IREQ solver handles ~1e5 points/s and our whole-array bisection
(:func:`bulletin.indices.iso11079.required_insulation_iso`) is faster but still iterative;
forecast grids have ~1e7 points. ICLneutral is a very smooth function of air temperature,
radiant excess and air speed (linear interpolation on a 2 K x 5 K x 0.5 m/s grid is within
0.003 clo of the solver), so it is tabulated once and interpolated:

* stored table (``bulletin/data/ireq_lut.npz``, built by :func:`build_ireq_lut`, run
  ``python -m bulletin.indices.ireq_lut``): ICLneutral (clo) at RH 60 % on
  ta = -50..20 °C step 2, tr - ta = -10..40 K step 5, va = 0.4..18.4 m/s step 0.5, plus its
  slope in RH (the secant between RH 10 % and 100 %). RH acts only through the ambient vapour
  pressure (skin evaporation and respiration), so ICL is almost exactly linear in it; the slope
  term is at most ~0.11 clo (10 °C, 18 m/s) and the linear model is within 0.002 clo;
* evaluation (:class:`BilinearTable`): bilinear in ta and va, nearest node in tr - ta after
  linear refinement of that axis to 0.5 K steps at load time (ICL changes by <= 0.045 clo/K
  along it), and the RH slope at the cell. One gather of a packed 5-float record per point.

Inputs outside the table are clamped to its edges (ta beyond -50..20 °C, tr - ta beyond
-10..40 K, va above 18.4 m/s); ISO 11079 itself is valid for ta <= 10 °C and va <= 18 m/s.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from .iso11079 import SPECTATOR, Wearer, required_insulation_iso

#: Axes of the stored table: start, step, number of nodes.
TA_AXIS = (-50.0, 2.0, 36)  # °C: -50 .. 20
DTR_AXIS = (-10.0, 5.0, 11)  # K (tr - ta): -10 .. 40
VA_AXIS = (0.4, 0.5, 37)  # m/s at body height: 0.4 .. 18.4
#: Relative humidity (%) of the stored values, and the two ends of the RH secant.
RH_REFERENCE = 60.0
RH_SECANT = (10.0, 100.0)
#: Step (K) of the tr - ta axis after refinement at load time (nearest-node lookup).
DTR_FINE_STEP = 0.5

LUT_FILE = "ireq_lut.npz"


def _axis(spec: tuple[float, float, int]) -> NDArray[np.float64]:
    start, step, count = spec
    return start + step * np.arange(count)


def build_ireq_lut(wearer: Wearer = SPECTATOR) -> dict[str, NDArray]:
    """Solve ISO 11079 ICLneutral on the table nodes (see module docstring) for ``wearer``."""
    ta, dtr, va = np.meshgrid(_axis(TA_AXIS), _axis(DTR_AXIS), _axis(VA_AXIS), indexing="ij")
    tr = ta + dtr

    def icl(rh: float) -> NDArray[np.float64]:
        return required_insulation_iso(ta, tr, va, rh, criterion="neutral", wearer=wearer)[1]

    low, high = RH_SECANT
    slope = (icl(high) - icl(low)) / (high - low)
    return {
        "icl_clo": icl(RH_REFERENCE).astype(np.float32),
        "dicl_drh": slope.astype(np.float32),
        "ta_axis": np.array(TA_AXIS),
        "dtr_axis": np.array(DTR_AXIS),
        "va_axis": np.array(VA_AXIS),
        "rh_reference": np.array(RH_REFERENCE),
        "wearer": np.array(
            [
                wearer.metabolic_rate,
                wearer.walking_speed,
                wearer.air_permeability,
                wearer.external_work,
            ]
        ),
    }


def write_ireq_lut(path: Path, wearer: Wearer = SPECTATOR) -> Path:
    """Build the table and write it to ``path`` atomically (temporary file, then rename)."""
    path = Path(path)
    arrays = build_ireq_lut(wearer)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez_compressed(handle, **arrays)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; the table is package data
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@dataclass(frozen=True)
class BilinearTable:
    """A quantity tabulated on (ta, tr - ta, va) at a reference RH, with its RH slope.

    ``records[cell]`` holds, for the (ta, va) cell at one fine tr - ta node, the bilinear
    coefficients ``c00, c_ta, c_va, c_tava`` and the cell's RH slope, so that

        value = c00 + a c_ta + b (c_va + a c_tava) + (rh - rh_ref) slope

    with ``a``, ``b`` the fractional positions (0..1) in the cell.
    """

    ta_axis: tuple[float, float, int]
    dtr_axis: tuple[float, float, int]  # fine axis (nearest-node lookup)
    va_axis: tuple[float, float, int]
    rh_reference: float
    records: NDArray[np.float32]  # (cells, 5)

    @classmethod
    def from_coarse(
        cls,
        values: NDArray,
        rh_slope: NDArray,
        ta_axis: tuple[float, float, int],
        dtr_axis: tuple[float, float, int],
        va_axis: tuple[float, float, int],
        rh_reference: float,
        dtr_step: float = DTR_FINE_STEP,
    ) -> BilinearTable:
        """Refine the tr - ta axis linearly to ``dtr_step`` and pack the cell records."""
        start, step, count = dtr_axis
        fine_count = round(step * (count - 1) / dtr_step) + 1
        position = np.arange(fine_count) * dtr_step / step
        lower = np.minimum(position.astype(int), count - 2)
        weight = (position - lower)[None, :, None]

        def refine(table: NDArray) -> NDArray[np.float64]:
            table = np.asarray(table, dtype=np.float64)
            return table[:, lower] * (1 - weight) + table[:, lower + 1] * weight

        v = refine(values)
        g = refine(rh_slope)
        c00 = v[:-1, :, :-1]
        c_ta = v[1:, :, :-1] - c00
        c_va = v[:-1, :, 1:] - c00
        c_tava = v[1:, :, 1:] - v[1:, :, :-1] - v[:-1, :, 1:] + c00
        slope = 0.25 * (g[:-1, :, :-1] + g[1:, :, :-1] + g[:-1, :, 1:] + g[1:, :, 1:])
        records = np.stack([c00, c_ta, c_va, c_tava, slope], axis=-1).astype(np.float32)
        return cls(
            ta_axis=tuple(ta_axis),
            dtr_axis=(start, dtr_step, fine_count),
            va_axis=tuple(va_axis),
            rh_reference=float(rh_reference),
            records=np.ascontiguousarray(records.reshape(-1, 5)),
        )

    def __call__(
        self,
        t: NDArray[np.floating],
        tr: NDArray[np.floating],
        va_per_v10: float,
        v10: NDArray[np.floating],
        rh: NDArray[np.floating],
    ) -> NDArray[np.floating]:
        """Interpolate at air temperature ``t`` (°C), radiant temperature ``tr`` (°C), body
        height air speed ``max(va0, va_per_v10 * v10)`` (m/s) and RH ``rh`` (%).

        All inputs share one float dtype; the result has it and the broadcast shape. NaN in
        any input gives NaN.
        """
        dtype = t.dtype.type
        t, tr, v10, rh = np.broadcast_arrays(t, tr, v10, rh)
        ta0, dta, nta = self.ta_axis
        d0, dd, nd = self.dtr_axis
        va0, dva, nva = self.va_axis
        below_one = 1.0 - 1e-6  # keeps the lower corner inside the table at the top edge

        # Fractional cell positions; fmax/fmin also send NaN to an edge (masked at the end).
        a = np.subtract(t, dtype(ta0))
        a *= dtype(1.0 / dta)
        np.fmax(a, 0, out=a)
        np.fmin(a, dtype((nta - 1) * below_one), out=a)
        cell = a.astype(np.int32)
        a -= cell
        # va = max(va0, k v10): the lower clamp of the va axis is the 0.4 m/s floor.
        b = np.multiply(v10, dtype(va_per_v10 / dva))
        b -= dtype(va0 / dva)
        np.fmax(b, 0, out=b)
        np.fmin(b, dtype((nva - 1) * below_one), out=b)
        va_cell = b.astype(np.int32)
        b -= va_cell
        d = np.subtract(tr, t)
        d *= dtype(1.0 / dd)
        d += dtype(0.5 - d0 / dd)  # +0.5: truncation below rounds to the nearest node
        np.fmax(d, 0, out=d)
        np.fmin(d, dtype(nd - 1), out=d)
        cell *= nd
        cell += d.astype(np.int32)
        cell *= nva - 1
        cell += va_cell
        record = self.records.take(cell, axis=0)

        out = np.multiply(a, record[..., 3])
        out += record[..., 2]
        out *= b
        a *= record[..., 1]
        out += a
        out += record[..., 0]
        excess_rh = np.subtract(rh, dtype(self.rh_reference))
        excess_rh *= record[..., 4]
        out += excess_rh  # also carries NaN from rh
        missing = np.isnan(t)
        missing |= np.isnan(tr)
        missing |= np.isnan(v10)
        np.copyto(out, np.nan, where=missing)
        return out


def _data_path() -> Path:
    return Path(str(resources.files("bulletin") / "data" / LUT_FILE))


@cache
def clothing_table() -> BilinearTable:
    """The stored ICLneutral table, loaded on first use and kept (module-level cache)."""
    from ._arrays import IndexInputError

    path = _data_path()
    try:
        with np.load(path) as data:
            stored = {key: data[key] for key in data.files}
    except (OSError, ValueError) as error:
        raise IndexInputError(f"cannot read the clothing lookup table {path}: {error}") from None

    def axis(key: str) -> tuple[float, float, int]:
        start, step, count = stored[key]
        return float(start), float(step), int(count)

    return BilinearTable.from_coarse(
        stored["icl_clo"],
        stored["dicl_drh"],
        axis("ta_axis"),
        axis("dtr_axis"),
        axis("va_axis"),
        float(stored["rh_reference"]),
    )


@cache
def storage_table(clo: float, wearer: Wearer = SPECTATOR) -> BilinearTable:
    """Body heat storage S (W/m², ISO 11079) wearing ``clo``, tabulated like the clothing
    table. Built on first use for each outfit from the closed-form
    :func:`bulletin.indices.iso11079.body_heat_storage` (milliseconds) and kept."""
    from .iso11079 import body_heat_storage

    ta, dtr, va = np.meshgrid(_axis(TA_AXIS), _axis(DTR_AXIS), _axis(VA_AXIS), indexing="ij")

    def storage(rh: float) -> NDArray[np.float64]:
        return body_heat_storage(ta, ta + dtr, va, rh, clo, criterion="neutral", wearer=wearer)

    low, high = RH_SECANT
    slope = (storage(high) - storage(low)) / (high - low)
    return BilinearTable.from_coarse(
        storage(RH_REFERENCE), slope, TA_AXIS, DTR_AXIS, VA_AXIS, RH_REFERENCE
    )


def main(argv: list[str] | None = None) -> int:
    """Command line: rebuild ``bulletin/data/ireq_lut.npz`` (or ``--output``)."""
    parser = argparse.ArgumentParser(description="Build the ISO 11079 ICLneutral lookup table.")
    parser.add_argument("--output", type=Path, default=_data_path(), help="npz file to write")
    args = parser.parse_args(argv)
    path = write_ireq_lut(args.output)
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
