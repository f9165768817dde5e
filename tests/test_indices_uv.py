"""Solar geometry, ozone, UV index and the sunscreen / WHO levels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bulletin.indices import (
    IndexInputError,
    cloud_modification_factor,
    cos_solar_zenith,
    ozone_climatology_du,
    snow_albedo,
    snow_uv_factor,
    solar_zenith,
    sunscreen_level,
    uv_index,
    uv_index_clear_sky,
    who_uv_category,
)

CHONGLI = (40.96, 115.46)


@pytest.mark.parametrize(("lat", "lon"), [CHONGLI, (-33.9, 151.2), (64.1, -21.9), (0.0, 0.0)])
def test_zenith_within_a_third_of_a_degree_of_nrel_spa(lat, lon):
    from pvlib.solarposition import get_solarposition

    times = pd.date_range("2022-01-01", "2022-12-31", freq="7h", tz="UTC")
    spa = get_solarposition(times, lat, lon)["zenith"].to_numpy()
    ours = solar_zenith(times, lat, lon)
    daylight = spa < 90
    assert np.abs(ours - spa)[daylight].max() < 0.3


def test_zenith_broadcasts_time_against_a_grid_and_keeps_float32():
    times = pd.date_range("2022-02-10T00:00", periods=24, freq="h").to_numpy()
    lat = np.linspace(39.5, 41.5, 5, dtype=np.float32)[:, None]
    lon = np.linspace(115.0, 117.0, 7, dtype=np.float32)[None, :]
    grid = solar_zenith(times[:, None, None], lat, lon)
    assert grid.shape == (24, 5, 7) and grid.dtype == np.float32
    point = solar_zenith(times, float(lat[2, 0]), float(lon[0, 3]))
    np.testing.assert_allclose(grid[:, 2, 3], point, atol=1e-3)
    np.testing.assert_allclose(
        cos_solar_zenith(times[:, None, None], lat, lon), np.cos(np.radians(grid)), atol=1e-5
    )


def test_zenith_accepts_timezone_aware_times():
    local = pd.date_range("2022-02-10T12:00", periods=3, freq="h", tz="Asia/Shanghai")
    utc = local.tz_convert("UTC").tz_localize(None).to_numpy()
    np.testing.assert_array_equal(solar_zenith(local, *CHONGLI), solar_zenith(utc, *CHONGLI))
    with pytest.raises(TypeError, match="datetime64"):
        solar_zenith(np.array([1.0, 2.0]), *CHONGLI)


def test_chongli_example():
    # Solar noon 10 Feb, clear, SZA ~55.9°, 330 DU -> 2.75; x1.14 (1.7 km)
    # -> 3.1; x1.32 fresh snow -> ~4.1.
    times = pd.date_range("2022-02-10T03:30", "2022-02-10T05:30", freq="min").to_numpy()
    noon_zenith = solar_zenith(times, *CHONGLI).min()
    assert noon_zenith == pytest.approx(55.9, abs=0.5)
    mu = np.cos(np.radians(55.9))
    assert uv_index_clear_sky(mu, 330.0) == pytest.approx(2.75, abs=0.02)
    assert uv_index(mu, 330.0, 0.0, 1700.0, 0.0, False) / 1.015 == pytest.approx(3.1, abs=0.05)
    assert uv_index(mu, 330.0, 0.0, 1700.0, 0.4, True) == pytest.approx(4.1, abs=0.05)


def test_madronich_formula():
    mu = np.array([0.2, 0.5, 1.0])
    ozone = np.array([250.0, 300.0, 400.0])
    np.testing.assert_allclose(
        uv_index_clear_sky(mu, ozone), 12.5 * mu**2.42 * (ozone / 300) ** -1.23, rtol=1e-12
    )
    np.testing.assert_array_equal(uv_index_clear_sky(np.array([0.0, -0.5]), 300.0), [0.0, 0.0])


def test_van_heuklon_ozone():
    # Broenkow & Flora's van Heuklon (1979) routine: 36° N, 122° W, day 185 -> 321.2 DU.
    assert ozone_climatology_du(36.0, 185, -122.0) == pytest.approx(321.2, abs=0.05)
    feb = ozone_climatology_du(np.array([40.0, 40.96, 41.5]), 41)
    assert ((feb > 330) & (feb < 380)).all()
    with_lon = ozone_climatology_du(40.96, 41, 115.46)
    assert 330 < with_lon < 380
    assert ozone_climatology_du(-40.0, 200) > 235
    partly = ozone_climatology_du(40.0, 41, np.array([np.nan, 116.0]))
    assert np.isnan(partly[0]) and partly[1] == pytest.approx(ozone_climatology_du(40.0, 41, 116.0))
    assert ozone_climatology_du(np.float64(40.0), 41).dtype == np.float32
    with pytest.raises(IndexInputError, match="lat"):
        ozone_climatology_du(95.0, 10)


@pytest.mark.parametrize(
    ("tcc", "factor"),
    [(0.0, 1.0), (0.19, 1.0), (0.2, 0.89), (0.69, 0.89), (0.7, 0.73), (0.9, 0.73),
     (0.91, 0.31), (1.0, 0.31)],
)  # fmt: skip
def test_epa_cloud_factors(tcc, factor):
    assert cloud_modification_factor(tcc) == pytest.approx(factor)


def test_cloud_factor_missing_and_bad():
    assert np.isnan(cloud_modification_factor(np.nan))
    with pytest.raises(IndexInputError, match=r"cloud fraction 0\.\.1"):
        cloud_modification_factor(75.0)


def test_snow_albedo_and_factor():
    cover = np.array([False, True, True, False, np.nan])
    fresh = np.array([0.0, 0.0, 1.0, 1.0, 0.0])
    np.testing.assert_allclose(snow_albedo(cover, fresh)[:4], [0.05, 0.5, 0.8, 0.8])
    assert np.isnan(snow_albedo(cover, fresh)[4])
    factor = snow_uv_factor(
        np.array([0.0, 0.005, 0.3, 0.3, np.nan]), [False, False, False, True, True]
    )
    np.testing.assert_allclose(factor[:4], [1 / 0.985, 1 / 0.985, 1 / 0.85, 1 / 0.76])
    assert np.isnan(factor[4])
    assert factor[3] == pytest.approx(1.32, abs=0.005) and factor[2] == pytest.approx(
        1.18, abs=0.005
    )


def test_uv_index_missing_values_and_night():
    out = uv_index(
        np.array([0.6, 0.0, np.nan, 0.6, 0.6]), 330.0, np.array([0.1, 0.1, 0.1, np.nan, 0.1]),
        1000.0, np.array([0.0, 0.0, 0.0, 0.0, np.nan]), False,
    )  # fmt: skip
    assert out[0] > 0 and out[1] == 0
    assert np.isnan(out[2:]).all()


def test_uv_index_float32_and_dask():
    import dask.array as da

    mu = np.linspace(0, 0.8, 12, dtype=np.float32).reshape(3, 4)
    tcc = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    eager = uv_index(mu, np.float32(330), tcc, np.float32(1500), np.float32(0.2), True)
    assert eager.dtype == np.float32 and eager.shape == (3, 4)
    lazy = uv_index(da.from_array(mu, chunks=2), np.float32(330), tcc, np.float32(1500),
                    np.float32(0.2), True)  # fmt: skip
    np.testing.assert_allclose(lazy.compute(), eager)


@given(
    mu=st.floats(0, 1, allow_nan=False, allow_subnormal=False),
    o1=st.floats(200, 500, allow_nan=False, allow_subnormal=False),
    o2=st.floats(200, 500, allow_nan=False, allow_subnormal=False),
    c1=st.floats(0, 1, allow_nan=False, allow_subnormal=False),
    c2=st.floats(0, 1, allow_nan=False, allow_subnormal=False),
)
def test_uv_falls_with_ozone_and_cloud(mu, o1, o2, c1, c2):
    thin, thick = sorted((o1, o2))
    clear, cloudy = sorted((c1, c2))
    assert uv_index(mu, thick, clear, 0.0, 0.0, False) <= uv_index(mu, thin, clear, 0.0, 0.0, False)
    assert uv_index(mu, thin, cloudy, 0.0, 0.0, False) <= uv_index(mu, thin, clear, 0.0, 0.0, False)


@pytest.mark.parametrize(
    ("uvi", "level"),
    [(0.0, 1), (2.49, 1), (2.5, 2), (4.49, 2), (4.5, 3), (6.49, 3), (6.5, 4), (9.49, 4),
     (9.5, 5), (15.0, 5), (np.nan, -1)],
)  # fmt: skip
def test_sunscreen_level_rounds_half_up(uvi, level):
    assert sunscreen_level(uvi) == level


@pytest.mark.parametrize(
    ("uvi", "category"),
    [(0.0, 0), (2.49, 0), (2.5, 1), (5.49, 1), (5.5, 2), (7.49, 2), (7.5, 3), (10.49, 3),
     (10.5, 4), (20.0, 4), (np.nan, -1)],
)  # fmt: skip
def test_who_categories(uvi, category):
    assert who_uv_category(uvi) == category


@given(
    a=st.floats(0, 30, allow_nan=False, allow_subnormal=False),
    b=st.floats(0, 30, allow_nan=False, allow_subnormal=False),
)
def test_uv_levels_monotone(a, b):
    low, high = sorted((a, b))
    assert sunscreen_level(low) <= sunscreen_level(high)
    assert who_uv_category(low) <= who_uv_category(high)


def test_uv_level_rejects_negative_index():
    with pytest.raises(IndexInputError, match="uvi"):
        sunscreen_level(-3.0)


@pytest.mark.parametrize("axis", [0, 1])
def test_cos_zenith_along_an_axis_is_the_grid_formula(axis):
    # The engine's one-pass form gives exactly the numpy form, for a grid whose places vary
    # only after the time axis (compiled) and for one with a place axis before it (fallback).
    from bulletin.indices.uv import _cos_zenith, _cos_zenith_along

    times = pd.date_range("2022-02-04T00:00", periods=30, freq="h").values
    lat = np.linspace(39.5, 41.5, 7, dtype=np.float32)
    lon = np.linspace(115.0, 117.0, 9, dtype=np.float32)
    if axis == 0:
        lat3, lon3 = lat[None, :, None], lon[None, None, :]
    else:
        lat3, lon3 = lat[:, None, None], lon[None, None, :]
    shape = [1, 1, 1]
    shape[axis] = times.size
    expected = _cos_zenith(times.reshape(shape), lat3, lon3)
    got = _cos_zenith_along(times, lat3, lon3, axis)
    assert got.dtype == np.float32 and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)
