"""The ISO 11079 clothing lookup table: how it is built, stored and interpolated.

pythermalcomfort's IREQ solver handles ~1e5 points/s and our whole-array bisection
(:func:`bulletin.indices.iso11079.required_insulation_iso`) is faster but still iterative;
forecast grids have ~1e7 points. ICLneutral is a very smooth function of air temperature,
radiant excess and air speed (linear interpolation on a 2 K x 5 K x 0.5 m/s grid is within
0.003 clo of the solver), so it is tabulated once and interpolated:

* stored table (``bulletin/data/ireq_lut.npz``, built by :func:`build_ireq_lut`, run
  ``python -m bulletin.indices.ireq_lut``; it records the wearer it was solved for, and
  loading it for another :data:`bulletin.indices.iso11079.SPECTATOR` is refused, so a
  change of the spectator's settings cannot go unnoticed): ICLneutral (clo) at RH 60 % on
  ta = -50..20 °C step 2, tr - ta = -10..40 K step 5, va = 0.4..18.4 m/s step 0.5, plus its
  slope in RH (the secant between RH 10 % and 100 %). RH acts only through the ambient vapour
  pressure (skin evaporation and respiration), so ICL is almost exactly linear in it; the slope
  term is at most ~0.11 clo (10 °C, 18 m/s) and the linear model is within 0.002 clo;
* evaluation (:class:`PlaneTable`): one plane in ta, va and RH per (ta, va) cell, at the
  nearest node of tr - ta after linear refinement of that axis to 0.25 K steps at load time
  (ICL changes by <= 0.045 clo/K along it). One gather of a packed 4-float record per point,
  in one compiled loop (numba); the ICL and body heat storage tables share all three axes,
  and :class:`PairedTables` interleaves their records so that one cell search and one cache
  line serve both (:func:`bulletin.indices.clothing_and_exposure`).

Beyond ta -50..20 °C and va 18.4 m/s the edge cell's plane is extended; tr - ta beyond
-10..40 K uses the edge node. ISO 11079 itself is valid for ta <= 10 °C and va <= 18 m/s.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from numba import njit
from numpy.typing import NDArray

from ..output import atomic_path
from .iso11079 import SPECTATOR, Criterion, Wearer, required_insulation_iso

#: Axes of the stored table: start, step, number of nodes.
TA_AXIS = (-50.0, 2.0, 36)  # °C: -50 .. 20
DTR_AXIS = (-10.0, 5.0, 11)  # K (tr - ta): -10 .. 40
VA_AXIS = (0.4, 0.5, 37)  # m/s at body height: 0.4 .. 18.4
#: Relative humidity (%) of the stored values, and the two ends of the RH secant.
RH_REFERENCE = 60.0
RH_SECANT = (10.0, 100.0)
#: Step (K) of the tr - ta axis after refinement at load time (nearest-node lookup): that of
#: the storage tables, so that the two pair up (:class:`PairedTables`).
DTR_FINE_STEP = 0.25
#: Step (K) of tr - ta (-10..40 K) of the body heat storage tables built at run time.
STORAGE_DTR_STEP = 0.25

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
        "wearer": _wearer_values(wearer),
    }


def _wearer_values(wearer: Wearer) -> NDArray[np.float64]:
    """The wearer's settings as stored with the table: M, walking speed, permeability, work."""
    return np.array(
        [
            wearer.metabolic_rate,
            wearer.walking_speed,
            wearer.air_permeability,
            wearer.external_work,
        ]
    )


def write_ireq_lut(path: Path, wearer: Wearer = SPECTATOR) -> Path:
    """Build the table and write it to ``path`` atomically (:func:`bulletin.output.atomic_path`:
    temporary file, then rename; permissions from the umask)."""
    path = Path(path)
    arrays = build_ireq_lut(wearer)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(handle, **arrays)
    return path


@njit(nogil=True, cache=True, fastmath=False)
def _cell(position, top):  # pragma: no cover - compiled
    """Truncation of a non-negative table position to an index in 0..top, as numpy's cast to
    int then clip (negative positions and NaN give 0: a NaN point's result is NaN anyway)."""
    if not position > 0:
        return 0
    if position >= top:
        return top
    return int(position)


@njit(nogil=True, cache=True, fastmath=False)
def _plane_kernel(t, tr, v10, rh, geometry, sizes, records, width, out, out2):  # pragma: no cover
    """One :class:`PlaneTable` evaluation on flat arrays (see :meth:`PlaneTable.__call__`),
    or two at once from interleaved records (:class:`PairedTables`).

    ``geometry`` (in the inputs' float type) = ``(ta0, 1/dta, va_per_v10, va0, 1/dva,
    dd/2 - d0, 1/dd)``; ``sizes`` = (ta cells, tr - ta nodes, va cells); ``records`` holds
    ``width`` floats per cell: 4 for one table, 8 for two (the second plane in the last four,
    written to ``out2``). The arithmetic is the numpy expression's, operation by operation
    in the inputs' float type (fastmath off: no fused multiply-add), so the results are the
    same.
    """
    ta0, inv_dta, va_per_v10, va0, inv_dva, dtr_shift, inv_dd = geometry
    ta_top, n_nodes, n_va = sizes
    va_top = n_va - 1
    node_top = n_nodes - 1
    two = width == 8
    for i in range(t.shape[0]):
        ti = t[i]
        tri = tr[i]
        rhi = rh[i]
        va = v10[i] * va_per_v10
        if va < va0:  # np.maximum(va, va0): NaN stays NaN
            va = va0
        cell = _cell((ti - ta0) * inv_dta, ta_top) * n_nodes
        va_cell = _cell((va - va0) * inv_dva, va_top)
        node = _cell((tri - ti + dtr_shift) * inv_dd, node_top)
        k = ((cell + node) * n_va + va_cell) * width
        value = ti * records[k + 1]
        value += records[k]
        value += va * records[k + 2]
        value += rhi * records[k + 3]
        out[i] = value if tri == tri else np.nan
        if two:
            value = ti * records[k + 5]
            value += records[k + 4]
            value += va * records[k + 6]
            value += rhi * records[k + 7]
            out2[i] = value if tri == tri else np.nan


@dataclass(frozen=True)
class PlaneTable:
    """A quantity tabulated on (ta, tr - ta, va) at a reference RH, with its RH slope,
    evaluated as one plane per (ta, va) cell at the nearest fine tr - ta node.

    ``records[cell]`` = ``(c, s_ta, s_va, s_rh)`` so that, for a point in the cell,

        value = c + s_ta ta + s_va va + s_rh rh

    The plane is the least-squares plane through the cell's four corner values (its error at
    a corner is a quarter of the bilinear cross term: <= 0.003 clo over ta -40..10 °C,
    tr - ta 0..30 K; up to 0.05 clo only where the warm, sunny corner of the table reaches
    the no-clothing kink) and ``s_rh`` the mean RH slope of the corners. One
    gather of a 16-byte record per point and four multiply-adds:
    no interpolation weights to compute.
    """

    ta_axis: tuple[float, float, int]
    dtr_axis: tuple[float, float, int]  # fine axis (nearest-node lookup)
    va_axis: tuple[float, float, int]
    records: NDArray[np.float32]  # (cells, 4): c, s_ta, s_va, s_rh

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
    ) -> PlaneTable:
        """Refine the tr - ta axis linearly to ``dtr_step`` and fit the cell planes."""
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
        ta0, dta, _ = ta_axis
        va0, dva, _ = va_axis
        corners = (v[:-1, :, :-1], v[1:, :, :-1], v[:-1, :, 1:], v[1:, :, 1:])
        centre = 0.25 * sum(corners)
        s_ta = 0.5 * (corners[1] - corners[0] + corners[3] - corners[2]) / dta
        s_va = 0.5 * (corners[2] - corners[0] + corners[3] - corners[1]) / dva
        s_rh = 0.25 * (g[:-1, :, :-1] + g[1:, :, :-1] + g[:-1, :, 1:] + g[1:, :, 1:])
        ta_centre = (ta0 + dta * (np.arange(v.shape[0] - 1) + 0.5))[:, None, None]
        va_centre = (va0 + dva * (np.arange(v.shape[2] - 1) + 0.5))[None, None, :]
        c = centre - s_ta * ta_centre - s_va * va_centre - s_rh * rh_reference
        records = np.stack([c, s_ta, s_va, s_rh], axis=-1).astype(np.float32)
        return cls(
            ta_axis=tuple(ta_axis),
            dtr_axis=(start, dtr_step, fine_count),
            va_axis=tuple(va_axis),
            records=np.ascontiguousarray(records.reshape(-1, 4)),
        )

    def __call__(
        self,
        t: NDArray[np.floating],
        tr: NDArray[np.floating],
        va_per_v10: float,
        v10: NDArray[np.floating],
        rh: NDArray[np.floating],
    ) -> NDArray[np.floating]:
        """Evaluate at air temperature ``t`` (°C), radiant temperature ``tr`` (°C), body-height
        air speed ``va = max(va0, va_per_v10 * v10)`` (m/s) and RH ``rh`` (%).

        All inputs share one float dtype; the result has it and the broadcast shape. NaN in
        any input gives NaN. Beyond the ta and va ranges the edge cell's plane is extended;
        beyond the tr - ta range the edge node is used.
        """
        return _evaluate(self, self.records.reshape(-1), 4, t, tr, va_per_v10, v10, rh)[0]

    def _geometry(self, dtype: type, va_per_v10: float) -> NDArray:
        """The axis constants of :func:`_plane_kernel` in the inputs' float type (as the numpy
        expression used them)."""
        ta0, dta, _ = self.ta_axis
        d0, dd, _ = self.dtr_axis
        va0, dva, _ = self.va_axis
        values = (ta0, 1.0 / dta, va_per_v10, va0, 1.0 / dva, 0.5 * dd - d0, 1.0 / dd)
        return np.array([dtype(value) for value in values], dtype=dtype)


def _evaluate(
    table: PlaneTable,
    records: NDArray[np.float32],
    width: int,
    t: NDArray[np.floating],
    tr: NDArray[np.floating],
    va_per_v10: float,
    v10: NDArray[np.floating],
    rh: NDArray[np.floating],
) -> tuple[NDArray[np.floating], NDArray[np.floating]]:
    """The kernel on ``records`` of ``width`` floats per cell laid out on ``table``'s axes:
    the first plane's values and (width 8) the second's."""
    dtype = t.dtype.type
    t, tr, v10, rh = np.broadcast_arrays(t, tr, v10, rh)
    shape = t.shape
    flat = [np.ascontiguousarray(x, dtype=dtype).reshape(-1) for x in (t, tr, v10, rh)]
    geometry = table._geometry(dtype, va_per_v10)
    out = np.empty(t.size, dtype=dtype)
    out2 = np.empty(t.size if width == 8 else 0, dtype=dtype)
    sizes = np.array(
        [table.ta_axis[2] - 2, table.dtr_axis[2], table.va_axis[2] - 1], dtype=np.int64
    )
    _plane_kernel(*flat, geometry, sizes, records, width, out, out2)
    return out.reshape(shape), out2.reshape(shape if width == 8 else (0,))


@dataclass(frozen=True)
class PairedTables:
    """Two :class:`PlaneTable` on the same axes, evaluated together: their records
    interleaved cell by cell (8 floats, 32 bytes), so one cell search and one cache line
    serve both. Each value is exactly its table's own."""

    first: PlaneTable
    second: PlaneTable
    records: NDArray[np.float32]  # (cells * 8,)

    @classmethod
    def of(cls, first: PlaneTable, second: PlaneTable) -> PairedTables:
        axes = ("ta_axis", "dtr_axis", "va_axis")
        if any(getattr(first, axis) != getattr(second, axis) for axis in axes):
            raise ValueError("tables evaluated together must share their axes")
        records = np.concatenate([t.records for t in (first, second)], axis=1)
        return cls(first, second, np.ascontiguousarray(records).reshape(-1))

    def evaluate(
        self,
        t: NDArray[np.floating],
        tr: NDArray[np.floating],
        va_per_v10: float,
        v10: NDArray[np.floating],
        rh: NDArray[np.floating],
    ) -> tuple[NDArray[np.floating], NDArray[np.floating]]:
        """Both tables' values at the points (see :meth:`PlaneTable.__call__`)."""
        return _evaluate(self.first, self.records, 8, t, tr, va_per_v10, v10, rh)


def ireq_lut_path() -> Path:
    """``bulletin/data/ireq_lut.npz`` beside the package (shipped as package data)."""
    return Path(__file__).resolve().parent.parent / "data" / LUT_FILE


@cache
def clothing_table() -> PlaneTable:
    """The stored ICLneutral table (:func:`ireq_lut_path`), loaded on first use and kept
    (module-level cache)."""
    return read_clothing_table(ireq_lut_path())


def read_clothing_table(path: Path) -> PlaneTable:
    """The ICLneutral table stored at ``path`` (as :func:`write_ireq_lut` writes it), ready
    to evaluate; :class:`bulletin.indices.IndexInputError` when it cannot be read or was
    solved for another wearer than :data:`bulletin.indices.iso11079.SPECTATOR`."""
    from ._arrays import IndexInputError

    path = Path(path)
    try:
        with np.load(path) as data:
            stored = {key: data[key] for key in data.files}
    except (OSError, ValueError) as error:
        raise IndexInputError(f"cannot read the clothing lookup table {path}: {error}") from None

    solved_for = stored.get("wearer")
    if solved_for is None or not np.allclose(solved_for, _wearer_values(SPECTATOR)):
        raise IndexInputError(
            f"the clothing lookup table {path} was solved for another wearer "
            f"(M, walking speed, permeability, work = {solved_for}) than "
            f"bulletin.indices.iso11079.SPECTATOR ({_wearer_values(SPECTATOR)}): rebuild it "
            "with python -m bulletin.indices.ireq_lut"
        )

    def axis(key: str) -> tuple[float, float, int]:
        start, step, count = stored[key]
        return float(start), float(step), int(count)

    return PlaneTable.from_coarse(
        stored["icl_clo"],
        stored["dicl_drh"],
        axis("ta_axis"),
        axis("dtr_axis"),
        axis("va_axis"),
        float(stored["rh_reference"]),
    )


@cache
def storage_table(
    clo: float, criterion: Criterion = "min", wearer: Wearer = SPECTATOR
) -> PlaneTable:
    """Body heat storage S (W/m², ISO 11079) wearing ``clo`` under the skin temperature and
    wettedness of ``criterion`` (``"min"``: IREQmin, whose DLE the clothing index uses;
    ``"neutral"``: IREQneutral), tabulated like the clothing
    table but solved directly at 0.25 K steps of tr - ta (S changes by up to ~0.8 W/m² per K
    along it). Built on first use for each outfit and criterion from the closed-form
    :func:`bulletin.indices.iso11079.body_heat_storage` (~0.2 s) and kept; within 2 % of the
    direct solution in DLE where DLE <= 8 h."""
    from .iso11079 import body_heat_storage

    dtr_axis = (DTR_AXIS[0], STORAGE_DTR_STEP, round(50.0 / STORAGE_DTR_STEP) + 1)
    ta, dtr, va = np.meshgrid(_axis(TA_AXIS), _axis(dtr_axis), _axis(VA_AXIS), indexing="ij")

    def storage(rh: float) -> NDArray[np.float64]:
        return body_heat_storage(ta, ta + dtr, va, rh, clo, criterion=criterion, wearer=wearer)

    low, high = RH_SECANT
    slope = (storage(high) - storage(low)) / (high - low)
    return PlaneTable.from_coarse(
        storage(RH_REFERENCE),
        slope,
        TA_AXIS,
        dtr_axis,
        VA_AXIS,
        RH_REFERENCE,
        dtr_step=STORAGE_DTR_STEP,
    )


@cache
def clothing_and_storage_tables(clo: float, criterion: Criterion = "min") -> PairedTables:
    """:func:`clothing_table` and :func:`storage_table` (``clo``, ``criterion``) paired (same
    axes: the clothing table is refined to the storage table's tr - ta step)."""
    return PairedTables.of(clothing_table(), storage_table(clo, criterion))


def main(argv: list[str] | None = None) -> int:
    """Command line: rebuild ``bulletin/data/ireq_lut.npz`` (or ``--output``)."""
    parser = argparse.ArgumentParser(description="Build the ISO 11079 ICLneutral lookup table.")
    parser.add_argument("--output", type=Path, default=ireq_lut_path(), help="npz file to write")
    args = parser.parse_args(argv)
    path = write_ireq_lut(args.output)
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
