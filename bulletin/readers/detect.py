"""Tell which format a forecast path holds from its content, not its name.

Signatures: GRIB messages start with ``GRIB`` (WMO FM 92; a GTS bulletin header of a few dozen
bytes may precede it); netCDF-4 files are HDF5 files, whose superblock signature
``\\x89HDF\\r\\n\\x1a\\n`` sits at byte 0, 512, 1024 or 2048 (HDF5 File Format Specification,
section II.A); classic netCDF starts with ``CDF`` followed by version byte 1 (classic),
2 (64-bit offset) or 5 (CDF-5) (NetCDF Users Guide, "File Format Specifications"); a Zarr
store is a directory with ``zarr.json`` (Zarr v3) or ``.zgroup``/``.zarray``/``.zmetadata``
(Zarr v2).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from bulletin.errors import ForecastError

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_HDF5_OFFSETS = (0, 512, 1024, 2048)
_NETCDF3_SIGNATURES = (b"CDF\x01", b"CDF\x02", b"CDF\x05")
# How far into the file a GRIB message may start (our choice: a GTS abbreviated heading is
# about 20-40 bytes; pygrib 2.1.8's sampledata/cl00010000_ecoclimap_rot.grib1 has a
# 12000-byte header before its first message, which ecCodes skips; 16 KiB covers both).
_GRIB_SEARCH_BYTES = 16384
_ZARR_MARKERS = ("zarr.json", ".zgroup", ".zarray", ".zmetadata")


class Format(StrEnum):
    """Forecast file formats :func:`bulletin.forecast.open_forecast` reads."""

    GRIB = "grib"
    NETCDF4 = "netcdf4"  # HDF5-based netCDF-4 (or plain HDF5 readable by h5netcdf)
    NETCDF3 = "netcdf3"  # classic, 64-bit offset or CDF-5
    ZARR = "zarr"


def detect_format(path: Path) -> Format:
    """The format of ``path``; :class:`ForecastError` when it is missing or none of them."""
    if not path.exists():
        raise ForecastError(f"forecast file not found: {path}")
    if path.is_dir():
        if any((path / marker).exists() for marker in _ZARR_MARKERS):
            return Format.ZARR
        raise ForecastError(f"{path} is a directory but not a Zarr store (no zarr.json/.zgroup)")
    try:
        with path.open("rb") as stream:
            head = stream.read(max(_HDF5_OFFSETS[-1] + len(_HDF5_SIGNATURE), _GRIB_SEARCH_BYTES))
    except OSError as exc:
        raise ForecastError(f"cannot read forecast file {path}: {exc.strerror or exc}") from None
    if not head:
        raise ForecastError(f"forecast file {path} is empty")
    if any(head[o : o + len(_HDF5_SIGNATURE)] == _HDF5_SIGNATURE for o in _HDF5_OFFSETS):
        return Format.NETCDF4
    if head[:4] in _NETCDF3_SIGNATURES:
        return Format.NETCDF3
    if b"GRIB" in head[:_GRIB_SEARCH_BYTES]:
        return Format.GRIB
    raise ForecastError(
        f"{path} is not a GRIB, NetCDF or Zarr forecast (it starts with {head[:16]!r})"
    )
