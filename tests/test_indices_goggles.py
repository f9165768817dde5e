"""Goggles index: ocular UV, the level rules and the single lens category."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bulletin.indices import IndexInputError, goggles_lens, goggles_level, ocular_uv

# Daylight, no snow, no wind, good visibility, half cloud: nothing asks for goggles.
PLAIN = dict(
    uvi_eye=0.5, snowfall_mmh=0.0, v10_ms=2.0, snow_cover=False, visibility_m=20000.0,
    sun_elevation_deg=25.0, tcc_fraction=0.5,
)  # fmt: skip


def level(**changes):
    return int(goggles_level(**{**PLAIN, **changes}))


def lens(**changes):
    return int(goggles_lens(**{**PLAIN, **changes}))


def test_ocular_uv_adds_the_reflected_part():
    np.testing.assert_allclose(ocular_uv(np.array([2.0, 3.0]), np.array([0.8, 0.05])), [3.6, 3.15])
    with pytest.raises(IndexInputError, match="snow_albedo"):
        ocular_uv(2.0, 1.5)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, 1),
        ({"uvi_eye": 2.0}, 2), ({"uvi_eye": 4.0}, 3), ({"uvi_eye": 6.0}, 4),
        ({"snowfall_mmh": 0.1}, 2),
        ({"v10_ms": 8.0, "snow_cover": True}, 2),  # blowing snow
        ({"v10_ms": 8.0}, 1),  # wind without snow on the ground
        ({"visibility_m": 999.0}, 2),  # flat light
        ({"snow_cover": True, "tcc_fraction": 0.29}, 2),  # glare lifts level 1 to 2
        ({"snow_cover": True, "tcc_fraction": 0.3}, 1),
        ({"uvi_eye": 6.0, "snowfall_mmh": 1.0, "visibility_m": 100.0}, 4),  # capped at 4
    ],
)  # fmt: skip
def test_level_rules(changes, expected):
    assert level(**changes) == expected


def test_night_is_level_one_or_two():
    night = {"sun_elevation_deg": -10.0, "uvi_eye": 0.0}
    assert level(**night) == 1
    assert level(**night, visibility_m=200.0) == 1  # flat light counts in daylight only
    assert level(**night, snowfall_mmh=0.5) == 2
    assert level(**night, snow_cover=True, tcc_fraction=0.0) == 1  # no glare at night


@pytest.mark.parametrize(
    ("changes", "category"),
    [
        ({"sun_elevation_deg": -1.0}, 0),
        ({"visibility_m": 500.0}, 1),
        ({"tcc_fraction": 0.75}, 1),
        ({}, 2),
        ({"snow_cover": True, "tcc_fraction": 0.1, "uvi_eye": 5.9}, 3),
        ({"snow_cover": True, "tcc_fraction": 0.1, "uvi_eye": 6.0}, 4),
        ({"snow_cover": True, "tcc_fraction": 0.1, "uvi_eye": 6.0, "visibility_m": 800.0}, 1),
        ({"snow_cover": True, "tcc_fraction": 0.1, "sun_elevation_deg": 0.0}, 0),
    ],
)
def test_lens_mapping(changes, category):
    assert lens(**changes) == category


def test_missing_drivers_give_missing_outputs():
    for name in PLAIN:
        if name == "snow_cover":
            continue
        assert level(**{name: np.nan}) == -1
        assert lens(**{name: np.nan}) == -1
    assert level(snow_cover=np.nan) == -1
    assert level(snow_cover=0.7, v10_ms=9.0) == 2  # a cover fraction counts from 0.5


def test_arrays_dtype_and_dask():
    import dask.array as da

    rng = np.random.default_rng(8)
    args = dict(
        uvi_eye=rng.uniform(0, 9, (5, 6)).astype(np.float32),
        snowfall_mmh=rng.uniform(0, 0.3, (5, 6)).astype(np.float32),
        v10_ms=rng.uniform(0, 15, (5, 6)).astype(np.float32),
        snow_cover=rng.uniform(0, 1, (5, 6)) > 0.5,
        visibility_m=rng.uniform(100, 20000, (5, 6)).astype(np.float32),
        sun_elevation_deg=np.linspace(-10, 40, 6, dtype=np.float32),
        tcc_fraction=rng.uniform(0, 1, (5, 6)).astype(np.float32),
    )
    eager_level, eager_lens = goggles_level(**args), goggles_lens(**args)
    assert eager_level.dtype == np.int8 and eager_level.shape == (5, 6)
    assert set(np.unique(eager_level)) <= {1, 2, 3, 4}
    assert set(np.unique(eager_lens)) <= {0, 1, 2, 3, 4}
    lazy = {**args, "uvi_eye": da.from_array(args["uvi_eye"], chunks=(2, 3))}
    np.testing.assert_array_equal(goggles_level(**lazy).compute(), eager_level)
    np.testing.assert_array_equal(goggles_lens(**lazy).compute(), eager_lens)


@given(
    u1=st.floats(0, 20, allow_nan=False, allow_subnormal=False),
    u2=st.floats(0, 20, allow_nan=False, allow_subnormal=False),
    snow=st.booleans(),
    cloud=st.floats(0, 1, allow_nan=False, allow_subnormal=False),
    elevation=st.floats(-30, 60, allow_nan=False, allow_subnormal=False),
)
def test_level_monotone_in_ocular_uv(u1, u2, snow, cloud, elevation):
    low, high = sorted((u1, u2))
    common = dict(snow_cover=snow, tcc_fraction=cloud, sun_elevation_deg=elevation)
    assert level(uvi_eye=low, **common) <= level(uvi_eye=high, **common)
