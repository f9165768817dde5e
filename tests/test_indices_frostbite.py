"""Minutes to frostbite (Tikuisis & Osczevski 2003) and the frostbite level."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bulletin.indices import IndexInputError, frostbite_level, frostbite_minutes, wind_chill

KMH_PER_MPH = 1.609344


def test_published_example_is_level_four():
    # T -30 °C, V10 43 km/h -> 5.9 min (band 3) but WCI -48.0 (band 4) -> 4.
    minutes = frostbite_minutes(-30.0, 43.0)
    wci = wind_chill(-30.0, 43.0)
    assert minutes == pytest.approx(5.9, abs=0.05)
    assert round(float(wci)) == -48
    assert frostbite_level(minutes, wci) == 4


def test_regression_formula_and_mph_form():
    t = np.array([-10.0, -20.0, -35.0])
    v = np.array([30.0, 50.0, 70.0])
    expected = (-24.5 * (0.667 * v + 4.8) + 2111.0) * (-4.8 - t) ** -1.668
    np.testing.assert_allclose(frostbite_minutes(t, v), expected, rtol=1e-12)
    # The mph form of the same regression found in public code (-26.13 mph + 1994.6) agrees
    # within 1 %.
    mph_form = (-26.13 * v / KMH_PER_MPH + 1994.6) * (-4.8 - t) ** -1.668
    np.testing.assert_allclose(frostbite_minutes(t, v), mph_form, rtol=0.01)


def test_no_frostbite_at_or_above_minus_4_8():
    minutes = frostbite_minutes(np.array([-4.8, -4.0, 5.0]), 40.0)
    assert np.isnan(minutes).all()
    assert np.isnan(frostbite_minutes(np.float32(-4.8), np.float32(40.0)))
    assert np.isfinite(frostbite_minutes(-4.9, 40.0))


def test_wind_capped_at_fit_range_top():
    at_cap = frostbite_minutes(-30.0, 80.5)
    np.testing.assert_array_equal(frostbite_minutes(-30.0, np.array([100.0, 150.0])), at_cap)
    assert frostbite_minutes(-30.0, 130.0) > 0


def test_fit_range_only_masks_what_awips_would_not_quote():
    t = np.array([-30.0, -30.0, -30.0, -12.0])
    v = np.array([20.0, 40.0, 90.0, 40.0])
    quoted = frostbite_minutes(t, v, fit_range_only=True)
    assert np.isnan(quoted[0])  # wind at or below 25 km/h
    assert quoted[1] == pytest.approx(frostbite_minutes(-30.0, 40.0))
    assert np.isnan(quoted[2])  # wind above 80.5 km/h
    assert frostbite_minutes(-12.0, 40.0) > 30 and np.isnan(quoted[3])  # beyond 30 min


@given(
    t1=st.floats(-60, -5, allow_nan=False, allow_subnormal=False),
    t2=st.floats(-60, -5, allow_nan=False, allow_subnormal=False),
    v1=st.floats(0, 120, allow_nan=False, allow_subnormal=False),
    v2=st.floats(0, 120, allow_nan=False, allow_subnormal=False),
)
def test_frostbite_sooner_when_colder_or_windier(t1, t2, v1, v2):
    cold, mild = sorted((t1, t2))
    calm, windy = sorted((v1, v2))
    assert frostbite_minutes(cold, calm) <= frostbite_minutes(mild, calm) * (1 + 1e-12)
    assert frostbite_minutes(cold, windy) <= frostbite_minutes(cold, calm) * (1 + 1e-12)


@pytest.mark.parametrize(
    ("minutes", "wci", "level"),
    [
        (np.nan, -10.0, 1), (30.01, -27.49, 1),
        (30.0, -10.0, 2), (np.nan, -27.5, 2), (10.01, -39.49, 2),
        (10.0, -10.0, 3), (40.0, -39.5, 3),
        (5.0, -10.0, 4), (40.0, -47.5, 4), (2.01, -54.49, 4),
        (2.0, -10.0, 5), (40.0, -54.5, 5), (0.5, -70.0, 5),
    ],
)  # fmt: skip
def test_level_is_the_worse_band(minutes, wci, level):
    assert frostbite_level(minutes, wci) == level


def test_every_level_reachable_from_weather_and_missing():
    t = np.array([0.0, -22.0, -28.0, -34.0, -45.0, np.nan])
    v = np.array([20.0, 30.0, 40.0, 40.0, 60.0, 30.0])
    levels = frostbite_level(frostbite_minutes(t, v), wind_chill(t, v))
    np.testing.assert_array_equal(levels, [1, 2, 3, 4, 5, -1])
    assert levels.dtype == np.int8


@given(
    m1=st.floats(0.1, 200, allow_nan=False, allow_subnormal=False),
    m2=st.floats(0.1, 200, allow_nan=False, allow_subnormal=False),
    w1=st.floats(-90, 10, allow_nan=False, allow_subnormal=False),
    w2=st.floats(-90, 10, allow_nan=False, allow_subnormal=False),
)
def test_level_monotone_in_both_drivers(m1, m2, w1, w2):
    short, long = sorted((m1, m2))
    cold, mild = sorted((w1, w2))
    assert frostbite_level(short, mild) >= frostbite_level(long, mild)
    assert frostbite_level(long, cold) >= frostbite_level(long, mild)


def test_float32_and_errors():
    out = frostbite_minutes(np.array([-20.0, -30.0], np.float32), np.float32(40.0))
    assert out.dtype == np.float32
    with pytest.raises(IndexInputError, match="minutes has a value -1"):
        frostbite_level(-1.0, -30.0)
    with pytest.raises(IndexInputError, match="t_c"):
        frostbite_minutes(250.0, 40.0)
