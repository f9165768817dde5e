"""CF NetCDF (netCDF-4/HDF5 and classic) and Zarr stores through xarray.

netCDF-4 files (HDF5, including plain HDF5 written without the netCDF library) are read with
h5netcdf, with the filters of ``hdf5plugin`` (Zstandard, Blosc, bzip2, LZ4 ...) registered so
that compressed files written by netCDF-C 4.9 read too; classic and 64-bit-offset files with
scipy. CDF-5 (the 64-bit data format of netCDF-C 4.4 and PnetCDF) is not read: a one-line
error says how to convert it.

The netCDF4 package is never loaded: its wheel bundles its own HDF5 library beside h5py's
(which pvlib and h5netcdf import), and two HDF5 builds in one process corrupt the heap at exit
("double free or corruption"; Unidata/netcdf4-python#694 and #1214, pydata/xarray#1409).
Times are decoded by xarray (CF ``units``/``calendar``); a file whose times cannot be decoded
is reported as such.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import xarray as xr

from bulletin.errors import ForecastError
from bulletin.readers.detect import Format

#: Engines tried in turn for each format.
ENGINES: dict[Format, tuple[str, ...]] = {
    Format.NETCDF4: ("h5netcdf",),
    Format.NETCDF3: ("scipy",),
    Format.ZARR: ("zarr",),
}

# The version byte of a CDF-5 file (NetCDF Users Guide, "File Format Specifications").
_CDF5_SIGNATURE = b"CDF\x05"


def open_cf(
    path: Path,
    fmt: Format,
    chunks: Mapping[str, int] | str | None,
    engines: Sequence[str] | None = None,
) -> xr.Dataset:
    """Open ``path`` lazily with the first engine of ``engines`` (default: :data:`ENGINES`)
    that succeeds; :class:`ForecastError` naming every engine's failure otherwise."""
    if fmt is Format.NETCDF3 and _is_cdf5(path):
        raise ForecastError(
            f"{path} is a CDF-5 (64-bit data) netCDF file, which is not read here; convert it "
            f"to netCDF-4 first, e.g. nccopy -k netCDF-4 {path.name} {path.stem}-nc4.nc"
        )
    if fmt is Format.NETCDF4:
        # Registers the HDF5 compression filters with h5py's HDF5 (their plugins link to it).
        import hdf5plugin  # noqa: F401
    failures: list[str] = []
    for engine in engines if engines is not None else ENGINES[fmt]:
        # Plain HDF5 datasets without netCDF dimension scales get phony dimensions.
        options = {"phony_dims": "access"} if engine == "h5netcdf" else {}
        try:
            with warnings.catch_warnings():
                # Zarr v2/v3 consolidation notices and similar are not the user's concern.
                warnings.simplefilter("ignore", category=RuntimeWarning)
                warnings.simplefilter("ignore", category=UserWarning)
                return xr.open_dataset(
                    path,
                    engine=engine,
                    chunks=_open_chunks(chunks),
                    decode_timedelta=True,
                    **options,
                )
        except Exception as exc:  # backends raise many types (OSError, ValueError, h5py ...)
            failures.append(f"{engine}: {type(exc).__name__}: {_one_line(exc)}")
    raise ForecastError(f"cannot read {fmt.value} file {path} ({'; '.join(failures)})")


def _is_cdf5(path: Path) -> bool:
    with path.open("rb") as stream:
        return stream.read(len(_CDF5_SIGNATURE)) == _CDF5_SIGNATURE


def _open_chunks(chunks: Mapping[str, int] | str | None) -> Mapping[str, int] | str | None:
    """The caller's chunks use canonical dimension names the file may not have yet; open
    with the backend's own chunking ({}) and let the reader rechunk after renaming."""
    if chunks is None or isinstance(chunks, str):
        return chunks
    return {}


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] if text else "no details"
