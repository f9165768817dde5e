"""The engine (all six indices in one call) against the index functions one by one, and
its independence of the chunking."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import bulletin.indices as ix
import bulletin.indices.combined as combined
from bulletin import compute_indices
from bulletin.compute import LEVEL_VARIABLES
from bulletin.errors import BulletinError
from bulletin.indices.combined import OUTPUTS, TimeAxis, spectator_indices

from .synthetic import schema_dataset

STATIC = {
    "worn_clo": 3.0,
    "fresh_snow_mm": 1.0,
    "default_visibility_m": 10_000.0,
    "kmh_per_ms": 3.6,
}
FLOATS = ("wind_chill", "frostbite_minutes", "sun_elevation", "clothing_clo", "uv_index")


def _fields(shape, seed=0, nan_fraction=0.02):
    rng = np.random.default_rng(seed)

    def field(lo, hi):
        values = rng.uniform(lo, hi, shape).astype(np.float32)
        values[rng.uniform(size=shape) < nan_fraction] = np.nan
        return values

    return {
        "t_c": field(-35, 8),
        "rh_pct": field(15, 95),
        "v10_ms": field(0, 22),
        "tcc_fraction": field(0, 1),
        "rsds_wm2": field(0, 600),
        "snow_depth_m": field(0, 0.1),
        "snowfall_mmh": np.where(rng.uniform(size=shape) < 0.7, 0, field(0, 0.6)),
        "precip_mmh": np.where(rng.uniform(size=shape) < 0.7, 0, field(0, 1)),
        "visibility_m": field(200, 20000),
    }


def _time_axis(n_time):
    times = pd.date_range("2022-02-04T12:00", periods=n_time, freq="h").values
    days = (pd.DatetimeIndex(times) + pd.Timedelta(hours=8)).normalize().values
    return times, TimeAxis.from_times(times, days, np.timedelta64(24, "h"))


def _reference(f, times, lat, lon, ozone, elevation):
    """Every output from the public index functions on (time, lat, lon) arrays."""
    v_kmh = f["v10_ms"] * np.float32(3.6)
    wci = ix.wind_chill(f["t_c"], v_kmh)
    minutes = ix.frostbite_minutes(f["t_c"], v_kmh)
    t3 = times[:, None, None]
    cos_sza = np.maximum(ix.cos_solar_zenith(t3, lat, lon), 0)
    elevation_deg = np.float32(90) - ix.solar_zenith(t3, lat, lon)
    tr = ix.mean_radiant_temperature(f["t_c"], f["rsds_wm2"], cos_sza)
    tr = np.where(np.isnan(f["rsds_wm2"]), f["t_c"], tr)
    clo = ix.required_insulation(f["t_c"], tr, f["v10_ms"], f["rh_pct"])
    dle = ix.exposure_limit_hours(f["t_c"], tr, f["v10_ms"], f["rh_pct"], 3.0)
    # Daily cold/flu risk with xarray's groupby over local days.
    dims = ("time", "y", "x")
    local_day = xr.DataArray(
        (pd.DatetimeIndex(times) + pd.Timedelta(hours=8)).normalize().values, dims="time"
    )
    local_day.name = "day"
    da = {k: xr.DataArray(v, dims=dims) for k, v in f.items()}
    by_day = {k: v.assign_coords(day=local_day).groupby("day") for k, v in da.items()}
    tmin = by_day["t_c"].min("time").values
    tmax = by_day["t_c"].max("time").values
    tmean = by_day["t_c"].mean("time").values
    rh_mean = by_day["rh_pct"].mean("time").values
    wind_max = by_day["v10_ms"].max("time").values
    precip = (da["precip_mmh"].fillna(0).astype(np.float64)).assign_coords(day=local_day)
    precip_day = precip.groupby("day").sum("time").values
    drops = []
    for k in (1, 2, 3):
        d = np.zeros_like(tmin)
        d[k:] = tmin[:-k] - tmin[k:]
        drops.append(np.nan_to_num(d))
    q = ix.specific_humidity_gkg(tmean, rh_mean)
    parts = ix.cold_risk_components(*drops, tmin, tmax, tmean, rh_mean, q, wind_max, precip_day)
    missing = np.isnan(tmin) | np.isnan(rh_mean) | np.isnan(wind_max)
    score = np.where(missing, -1, ix.cold_risk_score(parts))
    cold_level = np.where(missing, -1, ix.cold_risk_level(score))
    day_index = np.unique(local_day.values, return_inverse=True)[1].ravel()
    # Fresh snow: at least 1 mm in the 24 h ending at each step (hourly steps).
    snow = np.nan_to_num(f["snowfall_mmh"]).astype(np.float64)
    amount = np.stack([snow[max(0, i - 23) : i + 1].sum(axis=0) for i in range(len(times))])
    fresh = amount >= 1.0
    depth = np.nan_to_num(f["snow_depth_m"])
    uvi = ix.uv_index(cos_sza, ozone, f["tcc_fraction"], elevation, depth, fresh)
    bare = ix.uv_index(cos_sza, ozone, f["tcc_fraction"], elevation, 0 * depth, fresh & False)
    cover = depth >= 0.01
    eye = ix.ocular_uv(bare, ix.snow_albedo(cover, fresh))
    goggles_args = (
        eye,
        np.nan_to_num(f["snowfall_mmh"]),
        f["v10_ms"],
        cover,
        np.nan_to_num(f["visibility_m"], nan=10_000.0),
        elevation_deg,
        f["tcc_fraction"],
    )
    levels = {
        "wind_chill_level": ix.wind_chill_level(wci),
        "frostbite_level": ix.frostbite_level(minutes, wci),
        "clothing_level": ix.clothing_level(clo, dle),
        "cold_level": cold_level[day_index],
        "sunscreen_level": ix.sunscreen_level(uvi),
        "goggles_level": ix.goggles_level(*goggles_args),
    }
    return {
        "wind_chill": wci,
        "frostbite_minutes": minutes,
        "sun_elevation": np.broadcast_to(elevation_deg, wci.shape),
        "clothing_clo": clo,
        "exposure_limit_h": dle,
        "uv_index": uvi,
        "uv_category": ix.who_uv_category(uvi),
        "goggles_lens": ix.goggles_lens(*goggles_args),
        "cold_score": score[day_index],
        "spectator_level": ix.spectator_level(*levels.values()),
        **{f"cold_{k}": np.where(missing, -1, v)[day_index] for k, v in parts.items()},
        **levels,
    }


def test_fast_path_equals_the_index_functions():
    shape = (50, 6, 7)
    f = _fields(shape)
    times, time = _time_axis(shape[0])
    lat = np.linspace(39.5, 41.5, shape[1], dtype=np.float32)[None, :, None]
    lon = np.linspace(115.0, 117.0, shape[2], dtype=np.float32)[None, None, :]
    ozone = ix.ozone_climatology_du(lat, pd.DatetimeIndex(times).day_of_year.values[:, None, None])
    elevation = np.linspace(0, 2000, shape[1] * shape[2], dtype=np.float32).reshape(1, *shape[1:])
    got = spectator_indices(
        **f,
        lat=lat,
        lon=lon,
        ozone_du=ozone,
        elevation_m=elevation,
        time=time,
        time_axis=0,
        **STATIC,
    )
    expected = _reference(f, times, lat, lon, ozone, elevation)
    assert set(got) == set(OUTPUTS) == set(expected)
    for name in OUTPUTS:
        assert got[name].shape == shape, name
        if name in FLOATS or name == "exposure_limit_h":
            np.testing.assert_allclose(got[name], expected[name], rtol=1e-6, equal_nan=True)
        else:
            assert got[name].dtype == np.int8, name
            np.testing.assert_array_equal(got[name], expected[name], err_msg=name)
    # The inputs cover the interesting cases, missing values included.
    assert (got["spectator_level"] == -1).any() and (got["frostbite_level"] >= 3).any()
    assert (got["sunscreen_level"] >= 2).any() and (got["goggles_level"] >= 3).any()


@pytest.mark.parametrize(
    ("shape", "time_axis"),
    [((30, 9, 11), 0), ((4, 30, 9, 11), 1), ((12, 30), 1), ((3, 30, 12), 1)],
    ids=["grid", "members", "venue-time", "member-venue-time"],
)
def test_any_cut_of_the_non_time_axes_gives_identical_results(shape, time_axis):
    f = _fields(shape, seed=3)
    _, time = _time_axis(shape[time_axis])
    place_axis = max(i for i in range(len(shape)) if i != time_axis)
    point_shape = [1] * len(shape)
    point_shape[place_axis] = shape[place_axis]
    lat = np.linspace(39.5, 41.5, shape[place_axis], dtype=np.float32).reshape(point_shape)
    lon = np.linspace(115.0, 117.0, shape[place_axis], dtype=np.float32).reshape(point_shape)
    ozone = np.full((1,) * len(shape), 330.0, dtype=np.float32)
    arrays = {**f, "lat": lat, "lon": lon, "ozone_du": ozone}
    kwargs = {"time": time, "time_axis": time_axis, **STATIC}
    whole = spectator_indices(**arrays, **kwargs)
    for axis in (i for i in range(len(shape)) if i != time_axis):
        # Uneven pieces, strided views of the inputs as dask chunks of a larger array are.
        cuts = [0, 1, shape[axis] // 2, shape[axis]]
        pieces = []
        for start, stop in itertools.pairwise(cuts):
            part = [slice(None)] * len(shape)
            part[axis] = slice(start, stop)
            piece = {
                key: value if value.shape[axis] == 1 else value[tuple(part)]
                for key, value in arrays.items()
            }
            pieces.append(spectator_indices(**piece, **kwargs))
        for name in OUTPUTS:
            joined = np.concatenate([piece[name] for piece in pieces], axis=axis)
            np.testing.assert_array_equal(joined, whole[name], err_msg=f"{name} axis {axis}")


@pytest.mark.parametrize("slab_points", [1, 7, 60, 1 << 20])
@pytest.mark.parametrize(
    ("shape", "time_axis"),
    [((30, 9, 11), 0), ((4, 30, 9), 1), ((12, 30), 1)],
    ids=["grid", "members", "venue-time"],
)
def test_slabs_and_given_output_arrays_give_identical_results(
    monkeypatch, shape, time_axis, slab_points
):
    # The point-wise part runs slab by slab (whole rows of axis 0, or runs along axis 1);
    # outputs may be written into given arrays, here strided views of larger ones.
    f = _fields(shape, seed=4)
    _, time = _time_axis(shape[time_axis])
    point_shape = [1] * len(shape)
    point_shape[-1] = shape[-1]
    lat = np.linspace(39.5, 41.5, shape[-1], dtype=np.float32).reshape(point_shape)
    lon = np.linspace(115.0, 117.0, shape[-1], dtype=np.float32).reshape(point_shape)
    ozone = np.full((1,) * len(shape), 330.0, dtype=np.float32)
    arrays = {**f, "lat": lat, "lon": lon, "ozone_du": ozone}
    kwargs = {"time": time, "time_axis": time_axis, **STATIC}
    whole = spectator_indices(**arrays, **kwargs)
    monkeypatch.setattr(combined, "SLAB_POINTS", slab_points)
    larger = {
        name: np.full((shape[0] + 2, *shape[1:]), -99, dtype=whole[name].dtype) for name in OUTPUTS
    }
    given = {name: values[1:-1] for name, values in larger.items()}
    got = spectator_indices(**arrays, **kwargs, out=given)
    for name in OUTPUTS:
        assert got[name] is given[name], name
        np.testing.assert_array_equal(got[name], whole[name], err_msg=name)
        assert (larger[name][[0, -1]] == -99).all(), name


def test_a_bad_value_in_any_slab_is_a_clear_error(monkeypatch):
    shape = (30, 4, 5)
    f = _fields(shape, seed=6)
    _, time = _time_axis(shape[0])
    lat = np.full((1, 4, 1), 40.0, dtype=np.float32)
    lon = np.full((1, 1, 5), 116.0, dtype=np.float32)
    arrays = {**f, "lat": lat, "lon": lon, "ozone_du": np.full((1, 1, 1), 330.0, np.float32)}
    kwargs = {"time": time, "time_axis": 0, **STATIC}
    monkeypatch.setattr(combined, "SLAB_POINTS", 20)
    for name, bad in (("t_c", 80.0), ("precip_mmh", -1.0), ("snow_depth_m", 99.0)):
        values = arrays[name].copy()
        values[-1, -1, -1] = bad
        with pytest.raises(BulletinError, match=f"spectator_indices: {name} has a value {bad:g}"):
            spectator_indices(**{**arrays, name: values}, **kwargs)


def test_times_out_of_order_are_a_clear_error():
    times, _ = _time_axis(5)
    days = (pd.DatetimeIndex(times) + pd.Timedelta(hours=8)).normalize().values
    with pytest.raises(BulletinError, match="strictly ascending"):
        TimeAxis.from_times(times[::-1], days[::-1], np.timedelta64(24, "h"))
    ds = schema_dataset().isel(time=[2, 1, 0, 3])
    with pytest.raises(BulletinError, match="strictly ascending"):
        compute_indices(ds)


def _ensemble_points():
    ds = schema_dataset()
    rng = np.random.default_rng(9)
    members = xr.concat(
        [ds.assign(t2m=ds["t2m"] - 10 * k + 0 * ds["wind10"]) for k in range(3)], dim="member"
    )
    t = members["t2m"].values.copy()
    t[rng.uniform(size=t.shape) < 0.02] = np.nan
    members["t2m"].values = t
    stacked = members.stack(venue=("latitude", "longitude")).reset_index("venue")
    return stacked.assign_coords(
        latitude=("venue", stacked["latitude"].values),
        longitude=("venue", stacked["longitude"].values),
    ).transpose("venue", "member", "time")


def test_points_with_members_lazy_and_eager_agree():
    points = _ensemble_points()
    eager = compute_indices(points, timezone="Asia/Shanghai")
    lazy = compute_indices(points.chunk({"venue": 7, "time": 24}), timezone="Asia/Shanghai")
    assert lazy["spectator_level"].chunks is not None
    computed = lazy.compute()
    for name in (*LEVEL_VARIABLES, *FLOATS):
        assert eager[name].dims == computed[name].dims
        np.testing.assert_array_equal(computed[name].values, eager[name].values, err_msg=name)
    for name in LEVEL_VARIABLES:
        assert eager[name].dims == ("venue", "member", "time")
        assert (eager[name].values >= 1).any()
    # Missing temperatures are missing levels there (daily values skip them).
    missing = np.isnan(points["t2m"].values)
    assert (eager["spectator_level"].values[missing] == -1).all()
    assert (eager["spectator_level"].values[~missing] >= 1).all()
    assert eager["sun_elevation"].dims == ("time", "venue")


@pytest.mark.parametrize("time_axis", [0, 1, 2])
def test_fresh_snow_window_with_irregular_steps(time_axis):
    # Steps of 1 and 3 h: the 24 h window ending at each step sums rate x step length over the
    # steps whose intervals lie within it; NaN rates count as no snow.
    from bulletin.indices.combined import _fresh_snow

    times = pd.date_range("2022-02-04T00:00", periods=40, freq="h").delete([5, 6, 20, 21, 30, 31])
    axis = TimeAxis.from_times(times.values, times.normalize().values, np.timedelta64(24, "h"))
    rng = np.random.default_rng(3)
    # 6 x 50 = 300 columns: more than one chunk of WINDOW_COLUMNS, the last one partial.
    rates = rng.uniform(0, 0.09, (len(times), 6, 50)).astype(np.float32)
    rates[rng.uniform(size=rates.shape) < 0.05] = np.nan
    amounts = np.nan_to_num(rates).astype(np.float64) * axis.step_hours[:, None, None]
    hours_since = (times.values[-1] - times.values).astype("timedelta64[h]").astype(int)
    expected = np.stack(
        [
            amounts[(hours_since >= hours_since[i]) & (hours_since < hours_since[i] + 24)].sum(0)
            >= 1.0
            for i in range(len(times))
        ]
    )
    assert 0.1 < expected.mean() < 0.9  # both answers occur
    moved = np.moveaxis(rates, 0, time_axis)
    got = _fresh_snow(moved, time_axis, axis, 1.0)
    np.testing.assert_array_equal(np.moveaxis(got, time_axis, 0), expected)
    # A strided block (as the threaded blocks are) gives the same.
    np.testing.assert_array_equal(_fresh_snow(rates[:, :, 1:4], 0, axis, 1.0), expected[:, :, 1:4])


def test_engine_checks_each_raw_input_once_and_not_again_inside():
    from bulletin.indices._arrays import check_range, inputs_already_checked

    shape = (30, 4, 5)
    f = _fields(shape, seed=5)
    _, time = _time_axis(shape[0])
    lat = np.full((1, 4, 1), 40.0, dtype=np.float32)
    lon = np.full((1, 1, 5), 116.0, dtype=np.float32)
    arrays = {**f, "lat": lat, "lon": lon, "ozone_du": np.full((1, 1, 1), 330.0, np.float32)}
    kwargs = {"time": time, "time_axis": 0, **STATIC}
    kelvin = {**arrays, "t_c": arrays["t_c"] + np.float32(273.15)}
    with pytest.raises(BulletinError, match=r"spectator_indices: t_c has a value .* above"):
        spectator_indices(**kelvin, **kwargs)
    wet = {**arrays, "rh_pct": arrays["rh_pct"] * np.float32(3.0)}
    with pytest.raises(BulletinError, match="spectator_indices: rh_pct"):
        spectator_indices(**wet, **kwargs)
    # Inside the engine the index functions skip their own checks; outside they run.
    with inputs_already_checked():
        check_range("f", "x", np.array([500.0]), 0.0, 1.0, "u")
    with pytest.raises(BulletinError, match="f: x has a value 500"):
        check_range("f", "x", np.array([500.0]), 0.0, 1.0, "u")
