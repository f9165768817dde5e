"""Real GRIB files that open-source packages ship as test data (pygrib 2.1.8 ``sampledata/``,
cfgrib 0.9.15.1 ``tests/sample-data/``), fetched from the registries by
``scripts/fetch_test_data.py`` (:func:`tests.realdata.real_file`; those tests are ``slow``),
and the messages of three of them committed under ``tests/data/real/`` (its README).

A file with every required field gives a venue table whose values are those of the nearest
grid points, found independently here: every message read with ecCodes, the four nearest
points of the venue by great-circle distance. A file without them is refused in one line
naming every missing field (or, with no known field at all, what it does hold).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from bulletin.errors import ForecastError
from bulletin.extract import extract_venues, venue_table
from bulletin.forecast import open_forecast
from bulletin.readers.eccodes_loader import load_eccodes
from bulletin.readers.grib import open_grib
from bulletin.venues import Venue
from tests.realdata import real_file

COMMITTED = Path(__file__).resolve().parent / "data" / "real"

#: File -> venues (lat, lon) inside its grid.
TABLES = {
    ("pygrib", "sampledata/gfs.grb"): ((40.0, 178.9), (45.0, -100.0), (-33.9, 151.2)),
    ("pygrib", "sampledata/gfs.t12z.pgrbf120.2p5deg.grib2"): ((46.0, 7.5), (61.0, -45.0)),
    ("pygrib", "sampledata/ecmwf_tigge.grb"): ((46.0, 7.5), (40.5, 115.9), (64.0, -179.9)),
    ("pygrib", "sampledata/eta.grb"): ((40.0, -100.0), (35.0, -85.0)),
}

MISSING_HUMIDITY_AND_WIND = (
    "2 required fields missing",
    "relative humidity or dew point",
    "10 m wind",
    "the known fields found are 2t",
)
MISSING_ALL = (
    "3 required fields missing",
    "2 m air temperature",
    "10 m wind",
    "the known fields found are 10u",
)

#: File -> fragments of its one-line error.
REFUSED = {
    ("pygrib", "sampledata/rotated_ll.grib1"): MISSING_HUMIDITY_AND_WIND,
    # rotated grid, 12000 bytes before the first message
    ("pygrib", "sampledata/cl00010000_ecoclimap_rot.grib1"): (
        "3 required fields missing",
        "2 m air temperature",
        "the known fields found are sde",
    ),
    ("pygrib", "sampledata/regular_latlon_surface.grib1"): MISSING_HUMIDITY_AND_WIND,
    ("pygrib", "sampledata/regular_latlon_surface.grib2"): MISSING_HUMIDITY_AND_WIND,
    ("cfgrib", "tests/sample-data/era5-single-level-scalar-time.grib"): (MISSING_HUMIDITY_AND_WIND),
    ("cfgrib", "tests/sample-data/reduced_gg.grib"): MISSING_ALL,
    ("cfgrib", "tests/sample-data/regular_gg_sfc.grib"): MISSING_ALL,
    # wind speed at 300 hPa on a polar stereographic grid: no surface field
    ("pygrib", "sampledata/CMC_reg_WIND_ISBL_300_ps60km_2010052400_P012.grib"): (
        "holds no known forecast field",
        "GRIB paramIds: 10 (ws on isobaricInhPa 300)",
    ),
    ("pygrib", "sampledata/reduced_latlon_surface.grib2"): (
        "holds no known forecast field",
        "GRIB paramIds: 140229 (swh on meanSea 0)",
    ),
    ("cfgrib", "tests/sample-data/lambert_grid.grib"): (
        "holds no known forecast field",
        "GRIB paramIds: 3112 (nlwrs on heightAboveGround 0)",
    ),
    ("cfgrib", "tests/sample-data/regular_ll_sfc.grib"): (
        "holds no known forecast field",
        "GRIB paramIds: 235 (skt on surface 0)",
    ),
    ("cfgrib", "tests/sample-data/scanning_mode_64.grib"): (
        "holds no known forecast field",
        "GRIB paramIds: 235 (skt on surface 0)",
    ),
}


def _great_circle(lat1, lon1, lat2, lon2):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    cos = np.sin(p1) * np.sin(p2) + np.cos(p1) * np.cos(p2) * np.cos(np.radians(lon2 - lon1))
    return np.arccos(np.clip(cos, -1.0, 1.0))


def _fields(path, short_names):
    """(latitudes, longitudes, values) of the first field of each short name, every field of
    multi-field messages included (ecCodes' own multi-field iteration)."""
    eccodes = load_eccodes()
    found = {}
    eccodes.codes_grib_multi_support_on()
    try:
        with path.open("rb") as stream:
            while (handle := eccodes.codes_grib_new_from_file(stream)) is not None:
                try:
                    name = eccodes.codes_get(handle, "shortName")
                    if name in short_names and name not in found:
                        found[name] = tuple(
                            np.asarray(eccodes.codes_get_array(handle, key))
                            for key in ("latitudes", "longitudes", "values")
                        )
                finally:
                    eccodes.codes_release(handle)
    finally:
        eccodes.codes_grib_multi_support_off()
    return found


#: Messages cut from the files above, committed (tests/data/real/README.md) -> venues.
COMMITTED_TABLES = {
    "gfs_2p5deg_surface.grib2": TABLES[("pygrib", "sampledata/gfs.t12z.pgrbf120.2p5deg.grib2")],
    "eta_lambert_surface.grib2": TABLES[("pygrib", "sampledata/eta.grb")],
    "ecmwf_tigge_reduced_gg_surface.grib2": TABLES[("pygrib", "sampledata/ecmwf_tigge.grb")],
}


@pytest.mark.slow
@pytest.mark.parametrize(("package", "relpath"), sorted(TABLES))
def test_real_file_gives_a_venue_table_of_its_nearest_values(package, relpath):
    _check_table(real_file(package, relpath), TABLES[(package, relpath)])


@pytest.mark.parametrize("name", sorted(COMMITTED_TABLES))
def test_committed_real_messages_give_a_venue_table_of_their_nearest_values(name):
    _check_table(COMMITTED / name, COMMITTED_TABLES[name])


def _check_table(path, points):
    venues = [
        Venue(f"v{i}", f"V{i}", lat, lon, 0.0, timezone="UTC")
        for i, (lat, lon) in enumerate(points)
    ]
    ds = open_forecast(path)
    table = venue_table(ds, venues, lapse_rate_correction=False)
    assert len(table) == len(venues) * ds.sizes["time"]
    assert table["temperature_degC"].notna().all()
    assert table["wind_speed_10m_kmh"].notna().all()

    at = extract_venues(ds, venues, lapse_rate_correction=False)
    fields = _fields(path, {"2t", "10u", "10v"})
    assert {"2t", "10u", "10v"} <= set(fields)  # 10u and 10v share a message in the GFS files
    for name, column, offset in (("2t", "t2m", -273.15), ("10u", "u10", 0.0)):
        lat, lon, values = fields[name]
        for k, venue in enumerate(venues):
            nearest = np.argsort(_great_circle(venue.lat, venue.lon, lat, lon))[:4]
            got = float(at[column].isel(time=0, venue=k))
            if name == "10u" and ds.attrs["grid_type"] == "lambert":
                continue  # turned to east/north: checked against the speed below
            low, high = values[nearest].min() + offset, values[nearest].max() + offset
            assert low - 0.01 <= got <= high + 0.01, (path, name, venue.lat, venue.lon)
    lat, lon, u = fields["10u"]
    _, _, v = fields["10v"]
    speed = np.hypot(u, v)
    for k, venue in enumerate(venues):
        nearest = np.argsort(_great_circle(venue.lat, venue.lon, lat, lon))[:4]
        got = float(at["wind10"].isel(time=0, venue=k))
        # the speed does not depend on the rotation; interpolating components can only lower it
        assert got <= speed[nearest].max() + 0.01, (path, venue.lat, venue.lon)


@pytest.mark.slow
@pytest.mark.parametrize(("package", "relpath"), sorted(REFUSED))
def test_real_file_without_the_required_fields_is_refused_truthfully(package, relpath):
    path = real_file(package, relpath)
    with pytest.raises(ForecastError) as info:
        open_forecast(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    for fragment in REFUSED[(package, relpath)]:
        assert fragment in message, (fragment, message)
    for false_cause in ("corrupt", "not supported", "extra dimension"):
        assert false_cause not in message, message


def test_gfs_multi_field_message_gives_both_wind_components():
    # In pygrib's GFS file 10 m u and v are the two fields of one GRIB2 message.
    path = COMMITTED / "gfs_2p5deg_surface.grib2"
    ds = open_forecast(path)
    fields = _fields(path, {"10v"})
    _, lon, v = fields["10v"]
    grid = v.reshape(ds.sizes["latitude"], ds.sizes["longitude"])
    got = ds["v10"].isel(time=0)
    # the reader's grid is ascending in latitude and -180..180 in longitude
    expected = grid[::-1, :]
    order = np.argsort((lon.reshape(grid.shape)[0] + 180.0) % 360.0 - 180.0)
    np.testing.assert_allclose(got.values, expected[:, order], atol=1e-4)


GRIDS = (
    ("cfgrib", "tests/sample-data/scanning_mode_64.grib"),
    ("cfgrib", "tests/sample-data/regular_ll_sfc.grib"),
    ("cfgrib", "tests/sample-data/regular_gg_sfc.grib"),
    ("cfgrib", "tests/sample-data/reduced_gg.grib"),
    ("cfgrib", "tests/sample-data/lambert_grid.grib"),
    ("pygrib", "sampledata/reduced_latlon_surface.grib2"),
    ("pygrib", "sampledata/rotated_ll.grib1"),
    ("pygrib", "sampledata/CMC_reg_WIND_ISBL_300_ps60km_2010052400_P012.grib"),
)


@pytest.mark.slow
@pytest.mark.parametrize(("package", "relpath"), GRIDS)
def test_real_grid_keeps_every_value_at_its_point(package, relpath):
    # Whatever the grid and scanning mode, each value stays at the latitude and longitude
    # ecCodes gives its point: (lat, lon, value) triples compared as sorted lists.
    path = real_file(package, relpath)
    eccodes = load_eccodes()
    with path.open("rb") as stream:
        handle = eccodes.codes_grib_new_from_file(stream)
        try:
            lat, lon, values = (
                np.asarray(eccodes.codes_get_array(handle, key), dtype=np.float64)
                for key in ("latitudes", "longitudes", "values")
            )
            if eccodes.codes_get(handle, "bitmapPresent"):
                values[np.asarray(eccodes.codes_get_array(handle, "bitmap")) == 0] = np.nan
        finally:
            eccodes.codes_release(handle)
    contents = open_grib(path)
    ds = contents.datasets[0]
    (name,) = ds.data_vars
    data = ds[name].isel({d: 0 for d in ds[name].dims if d in ("step", "time", "number")})
    if "latitude" in data.dims:  # regular: 1-D axes
        got_lat, got_lon = xr.broadcast(data["latitude"], data["longitude"])
        got_lat, got_lon = got_lat.transpose(*data.dims), got_lon.transpose(*data.dims)
    else:
        got_lat, got_lon = data["latitude"], data["longitude"]
    got = np.stack([got_lat.values.ravel(), got_lon.values.ravel(), data.values.ravel()], 1)
    wrapped = (lon + 180.0) % 360.0 - 180.0
    expected = np.stack([lat, wrapped, values], 1)
    got = got[np.lexsort((got[:, 1], got[:, 0]))]
    expected = expected[np.lexsort((expected[:, 1], expected[:, 0]))]
    assert got.shape == expected.shape
    np.testing.assert_allclose(got[:, :2], expected[:, :2], atol=1e-6)
    np.testing.assert_allclose(got[:, 2], expected[:, 2].astype(np.float32), rtol=1e-6)
    assert ds.attrs["grid_type"] == eccodes_grid_type(path)


def eccodes_grid_type(path) -> str:
    eccodes = load_eccodes()
    with path.open("rb") as stream:
        handle = eccodes.codes_grib_new_from_file(stream)
        try:
            return str(eccodes.codes_get(handle, "gridType"))
        finally:
            eccodes.codes_release(handle)
