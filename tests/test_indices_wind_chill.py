"""Wind chill index and its ECCC levels: published charts, worked examples, peer libraries."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bulletin.indices import IndexInputError, wind_chill, wind_chill_f, wind_chill_level

KMH_PER_MPH = 1.609344


def round_half_away(x):
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


# Rows of the NWS wind chill chart (°F; winds 5..60 mph in 5 mph steps).
NWS_WINDS_MPH = np.arange(5, 65, 5.0)
NWS_CHART_ROWS_F = {
    40: [36, 34, 32, 30, 29, 28, 28, 27, 26, 26, 25, 25],
    0: [-11, -16, -19, -22, -24, -26, -27, -29, -30, -31, -32, -33],
    -45: [-63, -72, -77, -81, -84, -87, -89, -91, -93, -95, -97, -98],
}
# Rows of the ECCC wind chill chart (°C; winds 5, 10, 15, 20, 25, 30, 40, 50, 60 km/h).
ECCC_WINDS_KMH = np.array([5, 10, 15, 20, 25, 30, 40, 50, 60.0])
ECCC_CHART_ROWS_C = {
    -10: [-13, -15, -17, -18, -19, -20, -21, -22, -23],
    -30: [-36, -39, -41, -43, -44, -46, -48, -49, -50],
}


@pytest.mark.parametrize("t_f", sorted(NWS_CHART_ROWS_F))
def test_nws_chart_rows_in_fahrenheit(t_f):
    wct = wind_chill_f(np.full(NWS_WINDS_MPH.shape, float(t_f)), NWS_WINDS_MPH)
    np.testing.assert_array_equal(round_half_away(wct), NWS_CHART_ROWS_F[t_f])


def test_metric_formula_is_the_nws_regression_within_a_tenth_of_a_degree_f():
    t_f = np.arange(40, -50, -5.0)[:, None]
    v = NWS_WINDS_MPH[None, :]
    metric = wind_chill((t_f - 32) * 5 / 9, v * KMH_PER_MPH) * 9 / 5 + 32
    assert np.abs(metric - wind_chill_f(t_f, v)).max() < 0.1


@pytest.mark.parametrize("t_c", sorted(ECCC_CHART_ROWS_C))
def test_eccc_chart_rows(t_c):
    wci = wind_chill(np.full(ECCC_WINDS_KMH.shape, float(t_c)), ECCC_WINDS_KMH)
    np.testing.assert_array_equal(round_half_away(wci), ECCC_CHART_ROWS_C[t_c])


@pytest.mark.parametrize(
    ("t_c", "v_ms", "wci", "level"),
    [(-18, 8, -29.75, 3), (-25, 10, -40.18, 4), (-30, 12, -48.02, 5)],
)
def test_worked_examples(t_c, v_ms, wci, level):
    value = wind_chill(t_c, v_ms * 3.6)
    assert value == pytest.approx(wci, abs=0.01)
    assert wind_chill_level(value) == level


def test_library_anchors():
    # MetPy docs/tests: windchill(-5 degC, 35 m/s) = -18.9357 degC.
    assert wind_chill(-5.0, 35 * 3.6) == pytest.approx(-18.9357, abs=1e-3)
    # pythermalcomfort wind_chill_temperature (°C, km/h, rounded to 0.1).
    for t, v, expected in [(-20, 5, -24.3), (-20, 15, -29.1), (-20, 60, -36.5), (-5, 5.5, -7.5)]:
        assert round(float(wind_chill(t, v)), 1) == expected
    # MetPy: T = [40, -10, -45, 20] °F, V = [5, 55, 25, 15] mph -> [36, -46, -84, 6] °F.
    t_f = np.array([40, -10, -45, 20.0])
    v = np.array([5, 55, 25, 15.0])
    np.testing.assert_array_equal(round_half_away(wind_chill_f(t_f, v)), [36, -46, -84, 6])
    # thermofeel: 270 K, 10 m/s -> 261.92338925380074 K.
    assert wind_chill(270 - 273.15, 36.0) + 273.15 == pytest.approx(261.92338925380074, abs=1e-9)


@pytest.fixture(scope="module")
def cold_sample():
    rng = np.random.default_rng(7)
    t = rng.uniform(-45, 10, 400)
    v_kmh = rng.uniform(5, 100, 400)
    return t, v_kmh


def test_agrees_with_xclim_us(cold_sample):
    import xarray as xr
    from xclim.indices import wind_chill_index

    t, v = cold_sample
    tas = xr.DataArray(t, dims="x", attrs={"units": "degC"})
    ws = xr.DataArray(v, dims="x", attrs={"units": "km/h"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = wind_chill_index(tas, ws, method="US", mask_invalid=False).values
    np.testing.assert_allclose(wind_chill(t, v), ref, atol=1e-9)


def test_agrees_with_metpy_thermofeel_and_pythermalcomfort(cold_sample):
    from metpy.calc import windchill
    from metpy.units import units
    from pythermalcomfort.models import wind_chill_temperature
    from thermofeel import calculate_wind_chill

    t, v = cold_sample
    ours = wind_chill(t, v)
    metpy = windchill(t * units.degC, v * units("km/h"), mask_undefined=False).to("degC")
    np.testing.assert_allclose(ours, metpy.magnitude, atol=1e-6)
    thermofeel = calculate_wind_chill(t + 273.15, v / 3.6) - 273.15
    np.testing.assert_allclose(ours, thermofeel, atol=1e-9)
    ptc = wind_chill_temperature(tdb=t, v=v, round_output=False).wct
    np.testing.assert_allclose(ours, ptc, atol=1e-9)


def test_nws_no_chill_region_matches_metpy_mask():
    from metpy.calc import windchill
    from metpy.units import units

    t = np.array([-10.0, -10.0, 10.0, 10.5, 5.0, -20.0])
    v = np.array([4.8, 4.83, 20.0, 20.0, 3 * KMH_PER_MPH, 0.0])
    masked = np.ma.getmaskarray(windchill(t * units.degC, v * units("km/h")).magnitude)
    ours = wind_chill(t, v)
    np.testing.assert_array_equal(ours[masked], t[masked])
    assert (ours[~masked] < t[~masked]).all()


def test_eccc_light_wind_branch():
    t = np.array([-20.0, -5.0, -30.0])
    light = wind_chill(t, 0.0, light_wind="eccc")
    np.testing.assert_array_equal(light, t)  # no wind: the air temperature
    at_five = wind_chill(t, 5.0, light_wind="eccc")
    just_below = wind_chill(t, 5.0 - 1e-9, light_wind="eccc")
    np.testing.assert_allclose(just_below, at_five, atol=0.01)  # continuous at 5 km/h
    expected = t + (-1.59 + 0.1345 * t) / 5.0 * 3.0
    np.testing.assert_allclose(wind_chill(t, 3.0, light_wind="eccc"), expected)
    with pytest.raises(ValueError, match="light_wind"):
        wind_chill(-5.0, 10.0, light_wind="metric")


def test_agrees_with_xclim_canadian_method_below_zero():
    import xarray as xr
    from xclim.indices import wind_chill_index

    t = np.linspace(-40, -1, 40)
    v = np.linspace(0.5, 60, 40)
    tas = xr.DataArray(t, dims="x", attrs={"units": "degC"})
    ws = xr.DataArray(v, dims="x", attrs={"units": "km/h"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = wind_chill_index(tas, ws, method="CAN").values
    np.testing.assert_allclose(wind_chill(t, v, light_wind="eccc"), ref, atol=1e-9)


@given(
    t=st.floats(-60, 10, allow_nan=False, allow_subnormal=False),
    v1=st.floats(4.83, 200, allow_nan=False, allow_subnormal=False),
    v2=st.floats(4.83, 200, allow_nan=False, allow_subnormal=False),
)
def test_wind_chill_below_air_temperature_and_non_increasing_with_wind(t, v1, v2):
    low, high = sorted((v1, v2))
    w_low, w_high = wind_chill(t, low), wind_chill(t, high)
    assert w_low <= t + 1e-9
    assert w_high <= w_low + 1e-9


@given(
    t=st.floats(-60, 50, allow_nan=False, allow_subnormal=False),
    v=st.floats(0, 200, allow_nan=False, allow_subnormal=False),
)
def test_wind_chill_never_above_air_temperature(t, v):
    assert wind_chill(t, v) <= t + 1e-9


def test_dtype_shapes_and_missing_values():
    t32 = np.array([[-10.0, np.nan, 3.0]], dtype=np.float32)
    v32 = np.array([[20.0], [np.nan]], dtype=np.float32)
    out = wind_chill(t32, v32)
    assert out.dtype == np.float32 and out.shape == (2, 3)
    assert np.isnan(out[0, 1]) and np.isnan(out[1]).all()
    assert np.isfinite(out[0, [0, 2]]).all()
    scalar = wind_chill(-10, 20)
    assert isinstance(scalar, np.ndarray) and scalar.shape == ()


def test_dask_inputs_stay_lazy_and_match_numpy():
    import dask.array as da

    rng = np.random.default_rng(3)
    t = rng.uniform(-40, 5, (6, 8)).astype(np.float32)
    v = rng.uniform(0, 80, (6, 8)).astype(np.float32)
    lazy = wind_chill(da.from_array(t, chunks=(3, 4)), v)
    assert isinstance(lazy, da.Array) and lazy.dtype == np.float32
    np.testing.assert_array_equal(lazy.compute(), wind_chill(t, v))
    levels = wind_chill_level(lazy)
    assert isinstance(levels, da.Array) and levels.dtype == np.int8
    np.testing.assert_array_equal(levels.compute(), wind_chill_level(wind_chill(t, v)))


def test_impossible_inputs_raise_one_line_errors():
    with pytest.raises(IndexInputError, match=r"t_c has a value 263\.15 °C above") as info:
        wind_chill(np.array([263.15, -5.0]), 10.0)  # kelvin passed as °C
    assert "\n" not in str(info.value)
    with pytest.raises(IndexInputError, match="v10_kmh has a value -3"):
        wind_chill(-5.0, -3.0)


@pytest.mark.parametrize(
    ("wci", "level"),
    [
        (0.5, 0), (0.49, 1), (0.0, 1), (-9.49, 1), (-9.5, 2), (-27.49, 2), (-27.5, 3),
        (-39.49, 3), (-39.5, 4), (-47.49, 4), (-47.5, 5), (-54.49, 5), (-54.5, 6), (-80.0, 6),
    ],
)  # fmt: skip
def test_level_band_edges(wci, level):
    assert wind_chill_level(wci) == level


def test_every_level_reachable_and_nan_missing():
    levels = wind_chill_level(np.array([5, -5, -20, -30, -45, -50, -60, np.nan]))
    np.testing.assert_array_equal(levels, [0, 1, 2, 3, 4, 5, 6, -1])
    assert levels.dtype == np.int8


@given(
    a=st.floats(-100, 40, allow_nan=False, allow_subnormal=False),
    b=st.floats(-100, 40, allow_nan=False, allow_subnormal=False),
)
def test_level_monotone(a, b):
    low, high = sorted((a, b))
    assert wind_chill_level(low) >= wind_chill_level(high)
