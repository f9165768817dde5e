"""Multi-field GRIB2 messages (WMO FM 92 GRIB edition 2: sections 2-7 may repeat) cut into
single fields: each field against ecCodes' own multi-field iteration, including a second
field whose bitmap section says "the bitmap defined before in this message applies" (254).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bulletin.forecast import open_forecast
from bulletin.readers.eccodes_loader import load_eccodes
from bulletin.readers.grib import grib2_fields


def _single(eccodes, short_name: str, values: np.ndarray) -> bytes:
    handle = eccodes.codes_grib_new_from_samples("regular_ll_sfc_grib2")
    try:
        for key, value in (
            ("Ni", 4),
            ("Nj", 3),
            ("latitudeOfFirstGridPointInDegrees", 41.0),
            ("longitudeOfFirstGridPointInDegrees", 115.0),
            ("latitudeOfLastGridPointInDegrees", 40.0),
            ("longitudeOfLastGridPointInDegrees", 116.5),
            ("iDirectionIncrementInDegrees", 0.5),
            ("jDirectionIncrementInDegrees", 0.5),
            ("dataDate", 20220204),
            ("dataTime", 0),
            ("shortName", short_name),
            ("bitmapPresent", 1),
            ("missingValue", 9999.0),
        ):
            eccodes.codes_set(handle, key, value)
        eccodes.codes_set_values(handle, values)
        return eccodes.codes_get_message(handle)
    finally:
        eccodes.codes_release(handle)


def _sections(message: bytes) -> list[bytes]:
    out, position = [], 16
    while position < len(message) - 4:
        length = int.from_bytes(message[position : position + 4], "big")
        out.append(message[position : position + length])
        position += length
    return out


def _multi_field(first: bytes, second: bytes) -> bytes:
    """first's sections 1-7, then second's sections 4-7 with its bitmap replaced by
    indicator 254 (the same missing points), then section 8."""
    one, two = _sections(first), _sections(second)
    repeat = [s for s in two if s[4] in (4, 5, 7)]
    bitmap_again = (6).to_bytes(4, "big") + bytes([6, 254])
    body = b"".join(one) + repeat[0] + repeat[1] + bitmap_again + repeat[2]
    total = 16 + len(body) + 4
    return first[:8] + total.to_bytes(8, "big") + body + b"7777"


def test_fields_of_a_multi_field_message_are_those_ecCodes_iterates(tmp_path):
    eccodes = load_eccodes()
    missing = 9999.0
    u = np.arange(12, dtype=np.float64) - 5.0
    v = np.arange(12, dtype=np.float64) * 0.5
    u[[2, 7]] = missing
    v[[2, 7]] = missing
    message = _multi_field(_single(eccodes, "10u", u), _single(eccodes, "10v", v))
    path = tmp_path / "uv.grib2"
    path.write_bytes(message)

    reference = []
    eccodes.codes_grib_multi_support_on()
    try:
        with path.open("rb") as stream:
            while (handle := eccodes.codes_grib_new_from_file(stream)) is not None:
                reference.append(
                    (eccodes.codes_get(handle, "shortName"), eccodes.codes_get_values(handle))
                )
                eccodes.codes_release(handle)
    finally:
        eccodes.codes_grib_multi_support_off()
    assert [name for name, _ in reference] == ["10u", "10v"]

    fields = grib2_fields(message)
    assert len(fields) == 2
    for field, (name, values) in zip(fields, reference, strict=True):
        handle = eccodes.codes_new_from_message(field)
        try:
            assert eccodes.codes_get(handle, "shortName") == name
            np.testing.assert_allclose(eccodes.codes_get_values(handle), values, atol=1e-3)
            assert eccodes.codes_get(handle, "numberOfMissing") == 2
        finally:
            eccodes.codes_release(handle)


def test_second_field_with_a_previous_bitmap_is_read_with_its_missing_points(tmp_path):
    eccodes = load_eccodes()
    temperature = np.full(12, 270.0)
    dewpoint = np.full(12, 265.0)
    temperature[5] = dewpoint[5] = 9999.0
    wind = np.full(12, 3.0)
    wind[5] = 9999.0
    path = tmp_path / "fields.grib2"
    path.write_bytes(
        _multi_field(_single(eccodes, "2t", temperature), _single(eccodes, "2d", dewpoint))
        + _multi_field(_single(eccodes, "10u", wind), _single(eccodes, "10v", wind))
    )
    ds = open_forecast(Path(path))
    for name in ("t2m", "rh2m", "u10", "v10"):
        values = ds[name].values.ravel()
        assert np.isnan(values).sum() == 1, name
    np.testing.assert_allclose(np.nanmax(ds["v10"].values), 3.0, atol=1e-3)
