"""compute_indices: metadata, laziness, fallbacks, ensembles and the daily cold/flu index."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bulletin import compute_indices
from bulletin import indices as ix
from bulletin.compute import LEVEL_VARIABLES
from bulletin.errors import ForecastError

from .synthetic import schema_dataset


def test_every_index_has_units_long_name_and_references():
    out = compute_indices(schema_dataset())
    for name in ("wind_chill", "frostbite_minutes", "clothing_clo", "exposure_limit_h", "uv_index"):
        attrs = out[name].attrs
        assert attrs["units"] and attrs["long_name"] and attrs["references"], name
    for name in LEVEL_VARIABLES:
        assert out[name].dtype == np.int8
        assert "flag_values" in out[name].attrs and "flag_meanings" in out[name].attrs
        assert out[name].attrs["references"]
        assert out[name].dims == out["t2m"].dims
    assert out["wind_chill"].attrs["units"] == "degC"


def test_formulas_are_the_index_functions():
    ds = schema_dataset()
    out = compute_indices(ds)
    t = ds["t2m"].values
    v = ds["wind10"].values * 3.6
    np.testing.assert_allclose(out["wind_chill"].values, ix.wind_chill(t, v), rtol=1e-5)
    np.testing.assert_array_equal(
        out["wind_chill_level"].values, ix.wind_chill_level(out["wind_chill"].values)
    )
    fb = ix.frostbite_minutes(t, v)
    np.testing.assert_allclose(out["frostbite_minutes"].values, fb, rtol=1e-5)
    assert np.isnan(out["frostbite_minutes"].values[t >= -4.8]).all()


#: Every per-point output of compute_indices, floats and levels.
ALL_OUTPUTS = (
    "wind_chill",
    "frostbite_minutes",
    "sun_elevation",
    "clothing_clo",
    "exposure_limit_h",
    "cold_score",
    "uv_index",
    "uv_category",
    "goggles_lens",
    *LEVEL_VARIABLES,
)


@pytest.mark.parametrize(
    "chunks",
    [{"time": 24, "latitude": 3}, {"time": 7}, {"longitude": 1}, {"time": 50, "longitude": 4}],
    ids=["time-and-latitude", "time", "longitude", "time-and-longitude"],
)
def test_lazy_under_dask_and_identical_to_eager(chunks):
    ds = schema_dataset()
    eager = compute_indices(ds)
    lazy = compute_indices(ds.chunk(chunks))
    for name in ALL_OUTPUTS:
        assert lazy[name].chunks is not None, f"{name} was computed eagerly"
        assert eager[name].chunks is None, f"{name} of numpy input is not numpy"
    computed = lazy.compute()
    for name in ALL_OUTPUTS:
        assert computed[name].dtype == eager[name].dtype, name
        np.testing.assert_array_equal(computed[name].values, eager[name].values, err_msg=name)


@pytest.mark.parametrize("path", ["samples/forecast_cf.nc", "samples/forecast_ecmwf.grib2"])
def test_sample_forecasts_eager_and_chunked_are_identical(path):
    from bulletin import open_forecast

    eager = compute_indices(open_forecast(path), timezone="Asia/Shanghai")
    chunked = open_forecast(path, chunks={"time": 10, "latitude": 4})
    lazy = compute_indices(chunked, timezone="Asia/Shanghai").compute()
    for name in ALL_OUTPUTS:
        np.testing.assert_array_equal(lazy[name].values, eager[name].values, err_msg=name)
    assert (eager["frostbite_level"].values >= 2).any()


@pytest.mark.slow
def test_numpy_inputs_are_computed_here_when_a_distributed_client_is_the_default():
    # bulletin daily opens a client of worker processes; numpy-backed inputs (the venue
    # points) must still fill this process's arrays, not copies on the workers.
    from distributed import Client, LocalCluster

    ds = schema_dataset()
    eager = compute_indices(ds)
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster),
    ):
        under_client = compute_indices(ds)
    for name in ALL_OUTPUTS:
        np.testing.assert_array_equal(under_client[name].values, eager[name].values, name)


def test_points_with_venue_coordinates():
    ds = schema_dataset()
    grid = compute_indices(ds, timezone="Asia/Shanghai")
    stacked = ds.stack(venue=("latitude", "longitude")).reset_index("venue")
    points = stacked.assign_coords(
        latitude=("venue", stacked["latitude"].values),
        longitude=("venue", stacked["longitude"].values),
    )
    at_points = compute_indices(points, timezone="Asia/Shanghai")
    expected = grid.stack(venue=("latitude", "longitude"))
    for name in ALL_OUTPUTS:
        np.testing.assert_array_equal(
            at_points[name].transpose("time", "venue").values,
            expected[name].transpose("time", "venue").values,
            err_msg=name,
        )


def test_only_required_fields_use_documented_fallbacks():
    ds = schema_dataset()[["t2m", "rh2m", "wind10"]]
    out = compute_indices(ds)
    assert "clear sky assumed" in out["uv_index"].attrs["comment"]
    assert "ozone climatology" in out["uv_index"].attrs["comment"]
    assert (out["uv_index"].values >= 0).all()
    # Night: no sun, no UV.
    night = out["sun_elevation"].values <= 0
    assert night.any() and (out["uv_index"].values[night] == 0).all()
    assert out["clothing_clo"].attrs["comment"].endswith("(no solar radiation in the forecast)")


def test_missing_required_field_is_a_clear_error():
    ds = schema_dataset().drop_vars("rh2m")
    with pytest.raises(ForecastError, match="rh2m"):
        compute_indices(ds)
    with pytest.raises(ForecastError, match="empty time axis"):
        compute_indices(schema_dataset().isel(time=slice(0, 0)))


def test_partial_nans_are_missing_levels_only_there():
    ds = schema_dataset()
    t = ds["t2m"].values.copy()
    t[5, 1, 2] = np.nan
    ds["t2m"].values = t
    out = compute_indices(ds)
    assert out["wind_chill_level"].values[5, 1, 2] == -1
    assert out["spectator_level"].values[5, 1, 2] == -1
    assert out["wind_chill_level"].values[5, 1, 1] >= 0
    assert (out["spectator_level"].values >= -1).all()
    assert (np.delete(out["spectator_level"].values.ravel(), 5 * 30 + 1 * 6 + 2) >= 1).all()


def test_ensemble_probabilities():
    ds = schema_dataset()
    members = xr.concat(
        [
            ds + 0,
            ds.assign(t2m=ds["t2m"] - 15),
            ds.assign(t2m=ds["t2m"] - 30),
            ds.assign(wind10=ds["wind10"] * 2),
        ],
        dim="member",
    )
    members = members.assign_coords(member=[0, 1, 2, 3])
    out = compute_indices(members)
    for name in LEVEL_VARIABLES:
        prob = out[f"p_{name}_ge3"]
        assert prob.dims == ds["t2m"].dims
        expected = (out[name] >= 3).mean("member")
        np.testing.assert_allclose(prob.values, expected.values, rtol=1e-6)
        assert float(prob.min()) >= 0 and float(prob.max()) <= 1
    assert float(out["p_wind_chill_level_ge3"].max()) > 0


def test_cold_wave_raises_the_cold_risk_on_its_day():
    times = pd.date_range("2022-02-04T16:00", periods=72, freq="h")  # local days 5, 6, 7 Feb
    hours = np.arange(72)
    diurnal = 3 * np.sin(2 * np.pi * (hours - 9) / 24)
    base = np.where(hours < 48, 0.0, -12.0) + diurnal  # a 12 K drop of the minimum on day 3
    ds = schema_dataset(times=times, t2m=base[:, None, None] + np.zeros((72, 5, 6)))
    out = compute_indices(ds, timezone="Asia/Shanghai")
    day3 = out.isel(time=slice(48, 72))
    day1 = out.isel(time=slice(0, 24))
    assert (day3["cold_cooling"] == 4).all()  # cold wave (GB/T 20484): drop >= 8 K in 24 h
    assert (day1["cold_cooling"] == 0).all()
    assert int(day3["cold_level"].min()) > int(day1["cold_level"].max())
    # Every step of a local day carries the same daily level.
    assert (day3["cold_level"].std("time") == 0).all()


def test_timezone_defaults_to_solar_offset():
    out = compute_indices(schema_dataset())
    assert out.attrs["local_day_timezone"] == "8:00:00"
