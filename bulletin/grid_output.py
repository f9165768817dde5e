"""The gridded product: the six indices and their levels on the forecast grid, written to
NetCDF (``.nc``) or Zarr (``.zarr``) with CF metadata.

:func:`write_grid_indices` keeps everything lazy: the forecast is dask-chunked (the whole
time axis in each chunk, as :func:`bulletin.compute_indices` needs it), the indices are
computed chunk by chunk while ``to_netcdf``/``to_zarr`` write them, and the file appears
only once complete (a temporary beside the target, then a rename: :mod:`bulletin.output`).

Metadata follows the CF conventions 1.8 (https://cfconventions.org): ``units`` and
``long_name`` on every variable, ``standard_name`` where the CF standard name table has one,
``flag_values``/``flag_meanings`` on the levels, and ``_FillValue`` -1 on the int8 levels.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import xarray as xr

from .compute import compute_indices
from .errors import BulletinError, UsageError, VenueError
from .interpolation import horizontal_dims
from .output import atomic_folder, atomic_path, reserve_space

#: Output file kinds by suffix.
GRID_FORMATS = {".nc": "netcdf", ".zarr": "zarr"}
#: Grid points per chunk along the non-time dimensions (our choice: with ~100 steps, chunks
#: of some 10 MB of float32 per variable).
CHUNK_POINTS = 1 << 15
#: Coordinate metadata (CF 1.8 sections 4.1-4.4).
COORDINATE_ATTRS = {
    "latitude": {"standard_name": "latitude", "long_name": "latitude", "units": "degrees_north"},
    "longitude": {
        "standard_name": "longitude",
        "long_name": "longitude",
        "units": "degrees_east",
    },
    "time": {"standard_name": "time", "long_name": "valid time (UTC)"},
}


class GridOutputError(BulletinError):
    """The gridded product cannot be made from this forecast (it is not on a grid): bad
    input, exit code 1."""


class GridOutputUsageError(UsageError, GridOutputError):
    """The gridded product cannot be written where asked (``-o -``, a file kind that is not
    ``.nc``/``.zarr``): a usage error, exit code 2."""


def grid_format(path: str | Path) -> str:
    """``"netcdf"`` or ``"zarr"`` from the suffix of ``path``; :class:`GridOutputUsageError`
    otherwise."""
    suffix = Path(path).suffix.lower()
    if str(path) == "-":
        raise GridOutputUsageError("--grid writes a file: give -o indices.nc or -o indices.zarr")
    if suffix not in GRID_FORMATS:
        raise GridOutputUsageError(
            f"cannot tell the grid output format of {path}: use a .nc or .zarr file name"
        )
    return GRID_FORMATS[suffix]


def grid_indices(forecast: xr.Dataset, *, timezone: str | None = None) -> xr.Dataset:
    """The gridded product as a lazy Dataset: every variable :func:`compute_indices` adds
    (never an input variable), on the forecast's coordinates, with CF metadata.

    Any horizontal layout of :mod:`bulletin.interpolation` is taken: a regular grid, a
    structured grid with 2-D ``latitude``/``longitude`` (``y``, ``x``) or cells with 1-D
    ``latitude``/``longitude`` (``cell``); the latitude/longitude coordinates are carried to
    the product, and the writers name them in each variable's CF ``coordinates`` attribute
    (CF 1.8 section 5). The forecast, numpy- or dask-backed, is chunked first (the whole time
    axis, whole rows, about :data:`CHUNK_POINTS` grid points per chunk), so nothing is
    computed here.
    """
    try:
        dims = horizontal_dims(forecast)
    except VenueError as exc:
        raise GridOutputError(
            f"the gridded product needs a forecast on a latitude/longitude grid: {exc}"
        ) from None
    forecast = forecast.chunk(_grid_chunks(forecast, dims))
    indices = compute_indices(forecast, timezone=timezone)
    names = [name for name in indices.data_vars if name not in forecast.data_vars]
    product = indices[names]
    for name, attrs in COORDINATE_ATTRS.items():
        if name in product.coords:
            product[name].attrs = {**product[name].attrs, **attrs}
    product.attrs = {
        "Conventions": "CF-1.8",
        "title": "Spectator weather indices on the forecast grid",
        "source": "bulletin.compute_indices",
        "history": f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} bulletin indices --grid",
        "local_day_timezone": indices.attrs["local_day_timezone"],
    }
    if forecast.attrs.get("grid_type"):
        product.attrs["grid_type"] = str(forecast.attrs["grid_type"])
    return product


def _grid_chunks(forecast: xr.Dataset, dims: tuple[str, ...]) -> dict[str, int]:
    """The whole time axis and any member dimension; along the first horizontal dimension
    (latitude rows, ``y`` rows, or cells) about :data:`CHUNK_POINTS` grid points; the other
    horizontal dimensions whole."""
    across = int(np.prod([forecast.sizes[dim] for dim in dims[1:]]))
    chunks = {"time": -1, dims[0]: max(1, CHUNK_POINTS // max(across, 1))}
    chunks.update({dim: -1 for dim in dims[1:]})
    return chunks


def _encoding(product: xr.Dataset) -> dict[str, dict]:
    """Per-variable encoding: int8 levels with ``_FillValue`` -1 (their missing value), floats
    with NaN; the attribute ``missing_value`` moves into the encoding, where xarray writes it."""
    encoding = {}
    for name, variable in product.data_vars.items():
        missing = variable.attrs.pop("missing_value", None)
        if np.issubdtype(variable.dtype, np.integer):
            fill = np.int8(-1) if missing is None else missing
            encoding[name] = {"_FillValue": fill}
        else:
            encoding[name] = {"_FillValue": np.float32(np.nan)}
    return encoding


#: Room beyond the variables' own bytes for the HDF5 metadata of a product file (our choice:
#: measured at under 64 KiB for the gridded product; the margin is generous).
NETCDF_METADATA_BYTES = 4 << 20


def netcdf_size_bound(product: xr.Dataset) -> int:
    """An upper bound of the size of ``product`` written uncompressed to NetCDF-4: its
    variables' bytes (data and coordinates, contiguous) and :data:`NETCDF_METADATA_BYTES`."""
    return sum(int(v.nbytes) for v in product.variables.values()) + NETCDF_METADATA_BYTES


def _write_netcdf(
    product: xr.Dataset, tmp: Path, encoding: dict[str, dict], *, target: Path
) -> None:
    """Write ``product`` to ``tmp`` (the temporary of ``target``, which the messages name)
    with h5netcdf, into disk space reserved beforehand.

    After a write that failed for space, h5netcdf 1.8 closes the file a second time when it
    is collected, and h5py then crashes the process (SIGSEGV; tests/test_reliability.py): so
    the bytes are reserved before HDF5 writes one, and a full disk is the one-line error of
    :func:`bulletin.output.reserve_space` before the write starts. The file is handed to
    h5py as a Python file object so that HDF5 does not truncate (and so release) the
    reservation when it creates the file."""
    with open(tmp, "r+b") as stream:
        reserve_space(stream.fileno(), netcdf_size_bound(product), path=target)
        product.to_netcdf(stream, engine="h5netcdf", encoding=encoding)
        stream.flush()
        os.ftruncate(stream.fileno(), os.fstat(stream.fileno()).st_size)  # unused reservation


def write_grid_indices(
    forecast: xr.Dataset, path: str | Path, *, timezone: str | None = None
) -> Path:
    """Write the gridded product (:func:`grid_indices`) to ``path``, a ``.nc`` NetCDF-4 file
    or a ``.zarr`` store, computing it chunk by chunk as it is written. The target appears
    only when complete (temporary beside it, then renamed). Returns ``path``."""
    kind = grid_format(path)
    product = grid_indices(forecast, timezone=timezone)
    encoding = _encoding(product)
    if kind == "netcdf":
        with atomic_path(path, suffix=".tmp.nc") as tmp:
            _write_netcdf(product, tmp, encoding, target=Path(path))
    else:
        with atomic_folder(path) as tmp:
            product.to_zarr(tmp, mode="w", encoding=encoding, zarr_format=2, consolidated=True)
    return Path(path)
