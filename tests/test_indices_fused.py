"""The compiled single-pass engine (``engine="fused"``) against the numpy engine."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bulletin.indices as ix
from bulletin.errors import BulletinError
from bulletin.indices._fused import spectator_indices_fused
from bulletin.indices.combined import OUTPUTS, spectator_indices, spectator_indices_blocked

from .test_indices_combined import STATIC, _fields, _time_axis

#: The float outputs may differ where the C library's exp/log/acos/asin/cos and numpy's
#: vectorised ones round differently (a few float32 ulps, more after cancellation in the
#: wind chill formula near 0 °C-like); every level must be identical.
RTOL, ATOL = 2e-5, 1e-4


def _assert_same(got, expected):
    assert set(got) == set(OUTPUTS)
    for name in OUTPUTS:
        g, e = got[name], np.asarray(expected[name])
        assert g.shape == e.shape and g.dtype == e.dtype, name
        if e.dtype.kind == "f":
            np.testing.assert_allclose(g, e, rtol=RTOL, atol=ATOL, equal_nan=True, err_msg=name)
        else:
            np.testing.assert_array_equal(g, e, err_msg=name)


@pytest.fixture(scope="module")
def grid():
    shape = (60, 6, 7)
    fields = _fields(shape, seed=5)
    times, time = _time_axis(shape[0])
    lat = np.linspace(39.5, 41.5, shape[1], dtype=np.float32)[None, :, None]
    lon = np.linspace(115.0, 117.0, shape[2], dtype=np.float32)[None, None, :]
    day = pd.DatetimeIndex(times).day_of_year.values[:, None, None]
    arrays = {
        **fields,
        "lat": lat,
        "lon": lon,
        "ozone_du": ix.ozone_climatology_du(lat, day),
        "elevation_m": np.linspace(0, 2000, 42, dtype=np.float32).reshape(1, 6, 7),
    }
    return arrays, {"time": time, "time_axis": 0, **STATIC}


def test_fused_engine_equals_the_numpy_engine(grid):
    arrays, kwargs = grid
    expected = spectator_indices(**arrays, **kwargs)
    got = spectator_indices_fused(arrays, workers=2, **kwargs)
    assert got is not None
    _assert_same(got, expected)
    # The inputs reach the interesting cases, missing values and every level included.
    assert (got["spectator_level"] == -1).any() and (got["spectator_level"] == 4).any()
    assert set(np.unique(got["cold_level"])) >= {2, 3, 4}
    assert (got["goggles_lens"] == 3).any() and (got["sunscreen_level"] >= 2).any()
    # Through the public entry point, on one thread.
    blocked = spectator_indices_blocked(arrays, workers=1, engine="fused", **kwargs)
    _assert_same(blocked, expected)


@pytest.mark.parametrize(
    ("shape", "time_axis", "optional"),
    [
        ((4, 30, 9, 11), 1, ("tcc_fraction", "snow_depth_m", "precip_mmh")),
        ((12, 30), 1, ("rsds_wm2", "snowfall_mmh", "visibility_m", "uv_index_model")),
        ((3, 30, 300), 1, ("rsds_wm2", "snowfall_mmh", "snow_depth_m", "tcc_fraction")),
    ],
    ids=["members", "venue-time", "member-time-venue"],
)
def test_layouts_and_absent_fields(shape, time_axis, optional):
    # Time in the middle or last, grids wider than one chunk of points, and each optional
    # field either given or left to its fallback.
    fields = _fields(shape, seed=11)
    fields["uv_index_model"] = np.abs(fields["rsds_wm2"]) / np.float32(60)
    _, time = _time_axis(shape[time_axis])
    place_axis = len(shape) - 1
    point_shape = [1] * len(shape)
    point_shape[place_axis] = shape[place_axis]
    arrays = {
        **{name: fields[name] for name in ("t_c", "rh_pct", "v10_ms", *optional)},
        "lat": np.linspace(39.5, 41.5, shape[place_axis]).reshape(point_shape),
        "lon": np.linspace(115.0, 117.0, shape[place_axis]).reshape(point_shape),
        "ozone_du": np.full((1,) * len(shape), 330.0, dtype=np.float32),
    }
    kwargs = {"time": time, "time_axis": time_axis, **STATIC}
    expected = spectator_indices(**arrays, **kwargs)
    got = spectator_indices_fused(arrays, workers=2, **kwargs)
    assert got is not None
    _assert_same(got, expected)


def test_out_of_range_input_gives_the_numpy_engines_error(grid):
    arrays, kwargs = grid
    hot = arrays["t_c"].copy()
    hot[3, 2, 1] = 75.0
    bad = {**arrays, "t_c": hot}
    assert spectator_indices_fused(bad, workers=1, **kwargs) is None
    with pytest.raises(BulletinError) as numpy_error:
        spectator_indices_blocked(bad, **kwargs)
    with pytest.raises(BulletinError) as fused_error:
        spectator_indices_blocked(bad, engine="fused", **kwargs)
    assert str(fused_error.value) == str(numpy_error.value)
    assert "75" in str(fused_error.value)


def test_float64_fields_use_the_numpy_engine(grid):
    arrays, kwargs = grid
    wide = {**arrays, "rh_pct": arrays["rh_pct"].astype(np.float64)}
    got = spectator_indices_blocked(wide, engine="fused", **kwargs)
    expected = spectator_indices_blocked(wide, **kwargs)
    for name in OUTPUTS:
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)
    with pytest.raises(ValueError, match="engine"):
        spectator_indices_blocked(wide, engine="gpu", **kwargs)
