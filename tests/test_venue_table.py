"""The venue path: input fields to the venues first, indices at those points only."""

from __future__ import annotations

from pathlib import Path

import dask.array
import numpy as np
import pytest
import xarray as xr

from bulletin import compute_indices, load_catalogue, open_forecast, venue_table
from bulletin.errors import ForecastError
from bulletin.extract import extract_venues
from bulletin.schema import FIELDS, FIELDS_BY_NAME
from bulletin.venues import Venue

from .synthetic import schema_dataset

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SAMPLE_FILES = ("forecast_cf.nc", "forecast_ecmwf.grib2")

VENUES = [
    Venue("high", "High", 40.55, 115.52, 1650.0),
    Venue("low", "Low", 40.1, 116.1, 60.0, timezone="Asia/Tokyo"),
    Venue("corner", "Corner", 41.0, 116.25, 300.0),
]


def ensemble():
    ds = schema_dataset()
    return xr.concat([ds, ds.assign(t2m=ds["t2m"] - 20)], dim="member").assign_coords(member=[0, 1])


def with_model_uv(ds: xr.Dataset) -> xr.Dataset:
    field = FIELDS_BY_NAME["uv_index_model"]
    uv = (ds["rsds"] / 40.0).astype(np.float32)
    return ds.assign(
        uv_index_model=uv.assign_attrs(standard_name=field.standard_name, units=field.units)
    )


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_sample_table_is_the_same_from_indices_from_the_forecast_and_chunked(name):
    venues = list(load_catalogue())
    forecast = open_forecast(SAMPLES / name)
    table = venue_table(forecast, venues)
    assert len(table) == len(venues) * forecast.sizes["time"]
    assert venue_table(compute_indices(forecast), venues).equals(table)
    chunked = open_forecast(SAMPLES / name, chunks={"time": 24, "latitude": 7})
    assert venue_table(chunked, venues).equals(table)


def test_ensemble_table_is_the_same_from_indices_and_chunked():
    members = ensemble()
    table = venue_table(members, VENUES)
    assert table.columns[3] == "member"
    assert venue_table(compute_indices(members), VENUES).equals(table)
    chunked = members.chunk({"member": 1, "time": 24, "latitude": 2, "longitude": 3})
    assert venue_table(chunked, VENUES).equals(table)
    assert venue_table(compute_indices(chunked), VENUES).equals(table)


def test_computed_outputs_never_take_an_input_name():
    ds = with_model_uv(schema_dataset())
    out = compute_indices(ds)
    computed = set(out.data_vars) - set(ds.data_vars)
    assert "uv_index" in computed
    assert not computed & {f.name for f in FIELDS}


def test_the_model_uv_product_is_the_venue_uv_with_or_without_the_grid_step():
    ds = with_model_uv(schema_dataset())
    table = venue_table(ds, VENUES)
    points = extract_venues(ds, VENUES)
    order = np.argsort([0, 2, 1])  # rows are grouped by timezone: high, corner, low
    expected = points["uv_index_model"].transpose("venue", "time").values[order].reshape(-1)
    np.testing.assert_allclose(table["uv_index"], np.round(expected.astype(float), 1))
    assert venue_table(compute_indices(ds), VENUES).equals(table)
    # Without the model product the parametric UV is used, and it differs.
    parametric = venue_table(ds.drop_vars("uv_index_model"), VENUES)
    assert not parametric["uv_index"].equals(table["uv_index"])


def test_points_have_time_and_venue_dims_and_the_schema_dtype():
    points = extract_venues(schema_dataset(), VENUES)
    assert points["t2m"].dims == ("time", "venue")
    assert points["orography"].dims == ("venue",)
    assert points["t2m"].dtype == np.float32
    assert list(points["venue"].values) == ["high", "low", "corner"]
    np.testing.assert_array_equal(points["latitude"].values, [v.lat for v in VENUES])
    members = extract_venues(ensemble().chunk({"time": 24}), VENUES)
    assert members["t2m"].dims == ("member", "time", "venue")
    assert all(isinstance(members[name].data, np.ndarray) for name in members.data_vars)


def test_only_the_cells_around_the_venues_are_read():
    ds = schema_dataset()
    lat, lon = ds["latitude"].values, ds["longitude"].values
    read: set[tuple[int, int]] = set()

    def record(block, block_info=None):
        (_, _), (la, _), (lo, _) = block_info[0]["array-location"]
        read.add((la, lo))
        return block

    # One chunk per grid cell, every cell's reading recorded.
    cells = dask.array.from_array(ds["t2m"].values, chunks=(-1, 1, 1))
    t2m = dask.array.map_blocks(record, cells, dtype=np.float32)
    lazy = ds.assign(t2m=(ds["t2m"].dims, t2m, ds["t2m"].attrs))
    venues = VENUES[:2]
    points = extract_venues(lazy, venues)
    expected = set()
    for v in venues:
        i = np.searchsorted(lat, v.lat) - 1
        j = np.searchsorted(lon, v.lon) - 1
        expected |= {(i, j), (i, j + 1), (i + 1, j), (i + 1, j + 1)}
    assert read == expected
    np.testing.assert_array_equal(points["t2m"].values, extract_venues(ds, venues)["t2m"].values)


def test_a_venue_on_a_grid_line_takes_no_missing_value_from_beyond_it():
    ds = schema_dataset()
    ds["visibility"][:, :, -2] = np.nan  # the column just inside the east edge
    edge = Venue("edge", "Edge", 40.5, float(ds["longitude"][-1]), 500.0)
    points = extract_venues(ds, [edge], lapse_rate_correction=False)
    column = ds["visibility"].isel(longitude=-1).interp(latitude=40.5).values
    np.testing.assert_allclose(points["visibility"].isel(venue=0).values, column, rtol=1e-6)
    inside = Venue("inside", "Inside", 40.5, float(ds["longitude"][-2]) + 0.01, 500.0)
    assert np.isnan(extract_venues(ds, [inside])["visibility"].values).all()


def test_a_forecast_without_temperature_is_a_clear_error():
    ds = schema_dataset().drop_vars("t2m")
    with pytest.raises(ForecastError, match=r"lacks required variable.*t2m"):
        venue_table(ds, VENUES)


#: CF standard names of the schema's wind fields (CF standard name table).
WIND_STANDARD_NAMES = {
    "u10": "eastward_wind",
    "v10": "northward_wind",
    "gust10": "wind_speed_of_gust",
}


def with_wind(ds: xr.Dataset, u, v, gust=None, gust_units="m s-1") -> xr.Dataset:
    """``ds`` with u10/v10 (and gust10) fields, each a constant or an array on the grid."""
    shape = ds["t2m"].shape
    fields = {"u10": u, "v10": v}
    if gust is not None:
        fields["gust10"] = gust
    out = ds
    for name, value in fields.items():
        units = gust_units if name == "gust10" else "m s-1"
        attrs = {"standard_name": WIND_STANDARD_NAMES[name], "units": units}
        data = np.broadcast_to(np.asarray(value, dtype=np.float32), shape)
        out = out.assign({name: (ds["t2m"].dims, data.copy(), attrs)})
    return out


@pytest.mark.parametrize(
    ("u", "v", "expected"),
    [
        (0.0, -5.0, 360.0),
        (5.0, 0.0, 270.0),
        (0.0, 5.0, 180.0),
        (-5.0, 0.0, 90.0),
        (-3.0, -3.0, 45.0),
    ],
    ids=["from-north", "from-west", "from-south", "from-east", "from-north-east"],
)
def test_wind_direction_is_where_the_wind_comes_from(u, v, expected):
    table = venue_table(with_wind(schema_dataset(), u, v), VENUES)
    assert (table["wind_direction_deg"] == expected).all()
    metpy_calc = pytest.importorskip("metpy.calc")
    units = pytest.importorskip("metpy.units").units
    reference = metpy_calc.wind_direction(u * units("m/s"), v * units("m/s")).m_as("degree")
    assert expected == pytest.approx(float(reference))


def test_wind_components_are_interpolated_not_angles_and_calm_has_no_direction():
    ds = schema_dataset()
    lon = ds["longitude"].values
    # Wind from 350 degrees on one grid column, from 10 degrees on the next: between them the
    # mean vector comes from the north (a mean of the angles would say south).
    column = np.searchsorted(lon, 115.6)
    u = np.zeros(ds["t2m"].shape, dtype=np.float32)
    v = np.full(ds["t2m"].shape, -5.0, dtype=np.float32)
    u[..., column - 1] = 5.0 * np.sin(np.radians(350.0)) * -1
    u[..., column] = 5.0 * np.sin(np.radians(10.0)) * -1
    v[..., column - 1 : column + 1] = -5.0 * np.cos(np.radians(10.0))
    middle = Venue("middle", "Middle", 40.5, float(lon[column - 1] + lon[column]) / 2, 500.0)
    table = venue_table(with_wind(ds, u, v), [middle])
    assert (table["wind_direction_deg"] == 360.0).all()
    calm = venue_table(with_wind(ds, 0.2, -0.2), [middle])
    assert calm["wind_direction_deg"].isna().all()
    assert ",," in calm.to_csv(index=False).splitlines()[1]  # an empty cell, not "nan"


def test_gust_in_kmh_and_empty_columns_without_wind_fields():
    ds = schema_dataset()
    table = venue_table(with_wind(ds, 3.0, 4.0, gust=10.0), VENUES)
    assert (table["wind_gust_kmh"] == 36.0).all()
    assert (table["wind_direction_deg"] == 217.0).all()  # atan2: from 216.87 degrees
    assert str(table["wind_direction_deg"].dtype) == "Int16"
    knots = venue_table(with_wind(ds, 3.0, 4.0, gust=10.0, gust_units="knot"), VENUES)
    assert (knots["wind_gust_kmh"] == 18.5).all()  # 10 kn = 18.52 km/h
    plain = venue_table(ds, VENUES)
    assert plain["wind_direction_deg"].isna().all() and plain["wind_gust_kmh"].isna().all()
    header = plain.to_csv(index=False).splitlines()[0].split(",")
    at = header.index("wind_speed_10m_kmh")
    assert header[at + 1 : at + 3] == ["wind_direction_deg", "wind_gust_kmh"]
    # The columns are the only difference the wind fields make.
    with_fields = table.drop(columns=["wind_direction_deg", "wind_gust_kmh"])
    assert with_fields.equals(plain.drop(columns=["wind_direction_deg", "wind_gust_kmh"]))
