"""GRIB files as real centres write them: messages the reader must read, or refuse naming the
true cause (missing fields all at once, the grid type, never "corrupt" for a readable message).

The files are written with ecCodes from its own samples, message by message, so each one carries
exactly the keys a centre's encoder would give it (a GRIB1 message of NCEP has no ``dataType``,
a reduced Gaussian grid has no latitude/longitude axes).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest

from bulletin.errors import ForecastError
from bulletin.forecast import open_forecast
from bulletin.readers.eccodes_loader import load_eccodes

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "samples"))
from grib_writer import write_grib

LATS = np.array([40.0, 40.5])
LONS = np.array([115.0, 115.5, 116.0])
INIT = "2022-02-04T00:00"


def _regular_grid(eccodes, handle) -> None:
    for key, value in (
        ("Ni", LONS.size),
        ("Nj", LATS.size),
        ("jScansPositively", 0),
        ("iScansNegatively", 0),
        ("latitudeOfFirstGridPointInDegrees", float(LATS[-1])),
        ("longitudeOfFirstGridPointInDegrees", float(LONS[0])),
        ("latitudeOfLastGridPointInDegrees", float(LATS[0])),
        ("longitudeOfLastGridPointInDegrees", float(LONS[-1])),
        ("iDirectionIncrementInDegrees", 0.5),
        ("jDirectionIncrementInDegrees", 0.5),
    ):
        eccodes.codes_set(handle, key, value)


def _write_messages(
    path: Path, sample: str, messages: Iterable[dict], *, regular: bool = True
) -> Path:
    """One message per dict of ecCodes keys (set in order) on ``sample``; every value is the
    dict's ``_value`` (default 270)."""
    eccodes = load_eccodes()
    with path.open("wb") as stream:
        for keys in messages:
            handle = eccodes.codes_grib_new_from_samples(sample)
            try:
                if regular:
                    _regular_grid(eccodes, handle)
                eccodes.codes_set(handle, "dataDate", 20220204)
                eccodes.codes_set(handle, "dataTime", 0)
                for key, value in keys.items():
                    if not key.startswith("_"):
                        eccodes.codes_set(handle, key, value)
                size = (
                    LATS.size * LONS.size
                    if regular
                    else eccodes.codes_get(handle, "numberOfPoints")
                )
                eccodes.codes_set_values(handle, np.full(size, float(keys.get("_value", 270.0))))
                eccodes.codes_write(handle, stream)
            finally:
                eccodes.codes_release(handle)
    return path


def _refuses(path: Path, *fragments: str, absent: Iterable[str] = ()) -> str:
    with pytest.raises(ForecastError) as info:
        open_forecast(path)
    message = str(info.value)
    assert "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    for fragment in absent:
        assert fragment not in message, f"{fragment!r} in {message!r}"
    return message


def test_temperature_only_names_every_missing_field(tmp_path):
    path = write_grib(
        tmp_path / "t2m.grib2",
        {"2t": np.full((2, LATS.size, LONS.size), 270.0)},
        lats=LATS,
        lons=LONS,
        init_time=INIT,
        steps_hours=[0, 1],
    )
    _refuses(
        path,
        "2 required fields missing",
        "relative humidity or dew point",
        "2r",
        "10 m wind",
        "10u",
        absent=("2 m air temperature",),
    )


@pytest.mark.parametrize("sample", ["sh_sfc_grib2", "sh_sfc_grib1"])
def test_unsupported_grid_is_named_by_its_grid_type(tmp_path, sample):
    # Spherical harmonics are coefficients, not values at points: nothing to put at a venue.
    path = _write_messages(
        tmp_path / "grid.grib",
        sample,
        [{"shortName": name, "stepRange": "0"} for name in ("2t", "2d", "10u", "10v")],
        regular=False,
    )
    _refuses(
        path,
        str(path),
        "grid type 'sh' (ecCodes gridType) is not supported",
        "reduced_gg",
        absent=("extra dimension", "values", "corrupt"),
    )


def test_grib1_without_data_type_is_read_and_not_called_corrupt(tmp_path):
    # NCEP GRIB1 (centre 7) has no local section, hence no ecCodes dataType key.
    values = {"2t": 270.0, "2d": 265.0, "10u": 3.0, "10v": 4.0}
    keys = [
        {"centre": 7, "shortName": name, "stepRange": str(step), "_value": value}
        for step in (0, 1)
        for name, value in values.items()
    ]
    path = _write_messages(tmp_path / "ncep.grib1", "regular_ll_sfc_grib1", keys)
    eccodes = load_eccodes()
    with path.open("rb") as stream:
        handle = eccodes.codes_grib_new_from_file(stream)
        assert not eccodes.codes_is_defined(handle, "dataType")
        eccodes.codes_release(handle)
    ds = open_forecast(path)
    assert ds.sizes["time"] == 2
    assert set(ds.data_vars) >= {"t2m", "rh2m", "wind10"}
    np.testing.assert_allclose(ds["t2m"].values, 270.0 - 273.15, atol=0.01)
    np.testing.assert_allclose(ds["wind10"].values, 5.0, atol=0.01)


def test_corrupt_message_is_counted_from_one(tmp_path):
    good = write_grib(
        tmp_path / "good.grib2",
        {"2t": np.full((2, LATS.size, LONS.size), 270.0)},
        lats=LATS,
        lons=LONS,
        init_time=INIT,
        steps_hours=[0, 1],
    )
    data = good.read_bytes()
    second = data.index(b"GRIB", 4)
    broken = tmp_path / "broken.grib2"
    # Message 2 keeps its header but loses its end ("7777"), message 1 is intact.
    broken.write_bytes(data[: second + (len(data) - second) // 2])
    _refuses(broken, "message 2 is truncated or corrupt")


def test_gfs_total_cloud_on_atmosphere_single_layer_is_total_cloud_cover(tmp_path):
    eccodes_keys = {"centre": "kwbc", "discipline": 0, "productDefinitionTemplateNumber": 0}
    surfaces = {
        "2t": (0, 0, 103, 2, 270.0),
        "2r": (1, 1, 103, 2, 60.0),
        "10u": (2, 2, 103, 10, 3.0),
        "10v": (2, 3, 103, 10, 4.0),
        "tcc": (6, 1, 200, None, 75.0),  # TCDC, entire atmosphere as a single layer
    }
    messages = []
    for step in (0, 1):
        for category, number, surface, level, value in surfaces.values():
            keys = dict(eccodes_keys)
            keys.update(
                parameterCategory=category,
                parameterNumber=number,
                typeOfFirstFixedSurface=surface,
            )
            if level is not None:
                keys.update(scaleFactorOfFirstFixedSurface=0, scaledValueOfFirstFixedSurface=level)
            keys.update(stepRange=str(step), _value=value)
            messages.append(keys)
    path = _write_messages(tmp_path / "gfs.grib2", "regular_ll_sfc_grib2", messages)
    eccodes = load_eccodes()
    with path.open("rb") as stream:
        levels = set()
        while (handle := eccodes.codes_grib_new_from_file(stream)) is not None:
            levels.add(eccodes.codes_get(handle, "typeOfLevel"))
            eccodes.codes_release(handle)
    assert "atmosphereSingleLayer" in levels
    ds = open_forecast(path)
    np.testing.assert_allclose(ds["tcc"].values, 0.75, atol=0.01)


def test_missing_optional_fields_are_logged_with_what_was_looked_for(tmp_path, caplog):
    shape = (2, LATS.size, LONS.size)
    path = write_grib(
        tmp_path / "minimal.grib2",
        {
            "2t": np.full(shape, 270.0),
            "2r": np.full(shape, 60.0),
            "10u": np.full(shape, 3.0),
            "10v": np.full(shape, 4.0),
        },
        lats=LATS,
        lons=LONS,
        init_time=INIT,
        steps_hours=[0, 1],
    )
    with caplog.at_level(logging.INFO, logger="bulletin.forecast"):
        open_forecast(path)
    text = "\n".join(r.getMessage() for r in caplog.records if r.levelno == logging.INFO)
    assert "no total cloud cover" in text and "GRIB shortName tcc" in text
    assert "clear sky" in text
    assert "no total column ozone" in text and "climatology" in text
    assert "no physical snow depth" in text and "bare ground" in text


def test_file_of_unknown_fields_on_an_unsupported_grid_names_the_grid_too(tmp_path):
    path = _write_messages(
        tmp_path / "spectral.grib2",
        "sh_sfc_grib2",
        [{"typeOfLevel": "isobaricInhPa", "level": 850, "shortName": "t", "stepRange": "0"}],
        regular=False,
    )
    _refuses(
        path,
        "GRIB paramIds: 130",
        "ecCodes gridType 'sh' (not supported)",
        "holds no known forecast field",
        absent=("corrupt",),
    )
