"""CF NetCDF (netCDF-4/HDF5 and classic) and Zarr stores through xarray.

netCDF-4 files are read with the netCDF4 engine and, should it be missing or fail, with
h5netcdf (which also reads plain HDF5 written without the netCDF library); classic files with
netCDF4 and then scipy. Times are decoded by xarray (CF ``units``/``calendar``); a file whose
times cannot be decoded is reported as such.
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
    Format.NETCDF4: ("netcdf4", "h5netcdf"),
    Format.NETCDF3: ("netcdf4", "scipy"),
    Format.ZARR: ("zarr",),
}


def open_cf(
    path: Path,
    fmt: Format,
    chunks: Mapping[str, int] | str | None,
    engines: Sequence[str] | None = None,
) -> xr.Dataset:
    """Open ``path`` lazily with the first engine of ``engines`` (default: :data:`ENGINES`)
    that succeeds; :class:`ForecastError` naming every engine's failure otherwise."""
    failures: list[str] = []
    for engine in engines if engines is not None else ENGINES[fmt]:
        try:
            with warnings.catch_warnings():
                # Zarr v2/v3 consolidation notices and similar are not the user's concern.
                warnings.simplefilter("ignore", category=RuntimeWarning)
                warnings.simplefilter("ignore", category=UserWarning)
                return xr.open_dataset(
                    path, engine=engine, chunks=_open_chunks(chunks), decode_timedelta=True
                )
        except Exception as exc:  # backends raise many types (OSError, ValueError, h5py ...)
            failures.append(f"{engine}: {type(exc).__name__}: {_one_line(exc)}")
    raise ForecastError(f"cannot read {fmt.value} file {path} ({'; '.join(failures)})")


def _open_chunks(chunks: Mapping[str, int] | str | None) -> Mapping[str, int] | str | None:
    """The caller's chunks use canonical dimension names the file may not have yet; open
    with the backend's own chunking ({}) and let the reader rechunk after renaming."""
    if chunks is None or isinstance(chunks, str):
        return chunks
    return {}


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] if text else "no details"
