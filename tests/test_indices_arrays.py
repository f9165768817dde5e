"""Array plumbing shared by every index: dtypes, scalars, NaN, dask and error messages."""

from __future__ import annotations

import numpy as np
import pytest

import bulletin.indices as ix
from bulletin.errors import BulletinError
from bulletin.indices._arrays import check_range, float_dtype


def test_float_dtype_rules():
    f32 = np.ones(2, np.float32)
    assert float_dtype(f32, 3.0) == np.float32
    assert float_dtype(f32, np.ones(2)) == np.float64
    assert float_dtype(np.arange(3)) == np.float64
    assert float_dtype(2, 3.5) == np.float64


def test_python_numbers_do_not_promote_float32():
    t32 = np.array([-10.0, -20.0], np.float32)
    assert ix.wind_chill(t32, 20.0).dtype == np.float32
    assert ix.required_insulation(t32, t32, 3, 60.0).dtype == np.float32
    assert ix.uv_index(np.float32([0.5]), 330.0, 0.2, 1700.0, 0.3, True).dtype == np.float32
    assert ix.wind_chill(t32.astype(np.float64), 20.0).dtype == np.float64
    assert ix.wind_chill(-10.0, 20.0).dtype == np.float64


def test_scalars_give_zero_dimensional_arrays():
    for value in (
        ix.wind_chill(-10, 20),
        ix.wind_chill_level(-30.0),
        ix.required_insulation(-10.0, -10.0, 3.0, 60.0),
        ix.uv_index(0.5, 330.0, 0.2, 1000.0, 0.1, True),
        ix.spectator_level(3, 2, 5, 2, 1, 1),
    ):
        assert isinstance(value, np.ndarray) and value.shape == ()
    parts = ix.cold_risk_components(0, 0, 0, 1, 5, 3, 50, 3, 2, 0)
    assert all(v.shape == () for v in parts.values())


def test_empty_arrays_pass_through():
    empty = np.empty((0, 3), np.float32)
    assert ix.wind_chill(empty, empty).shape == (0, 3)
    assert ix.required_insulation(empty, empty, empty, empty).shape == (0, 3)
    assert ix.goggles_level(empty, empty, empty, empty, empty, empty, empty).dtype == np.int8


def test_errors_are_bulletin_errors_on_one_line():
    with pytest.raises(BulletinError) as info:
        ix.required_insulation(-10.0, -10.0, 3.0, 250.0)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("required_insulation: rh_pct has a value 250 %")
    assert isinstance(info.value, ix.IndexInputError)


def test_check_range_ignores_nan():
    check_range("f", "x", np.array([np.nan, 1.0]), 0.0, 2.0, "u")
    with pytest.raises(ix.IndexInputError, match=r"f: x has a value 3 u above the possible"):
        check_range("f", "x", np.array([np.nan, 3.0]), 0.0, 2.0, "u")


def test_dask_errors_surface_at_compute_time():
    import dask.array as da

    lazy = ix.wind_chill(da.from_array(np.array([-5.0, 400.0]), chunks=1), 10.0)
    with pytest.raises(ix.IndexInputError, match="t_c"):
        lazy.compute()
