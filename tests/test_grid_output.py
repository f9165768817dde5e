"""The gridded product: real files from the sample forecasts, CF metadata, values equal to
compute_indices, and the ``bulletin indices --grid`` command line."""

from __future__ import annotations

import h5netcdf
import numpy as np
import pytest
import xarray as xr
import zarr

from bulletin import compute_indices, open_forecast
from bulletin.compute import LEVEL_VARIABLES
from bulletin.errors import UsageError
from bulletin.grid_output import GridOutputError, grid_indices, write_grid_indices

from .clirun import REPO, run_cli

SAMPLE_GRIB = REPO / "samples" / "forecast_ecmwf.grib2"
SAMPLE_NC = REPO / "samples" / "forecast_cf.nc"
FLOATS = ("wind_chill", "frostbite_minutes", "clothing_clo", "exposure_limit_h", "uv_index")


def _open(path):
    # Undecoded, so that the int8 levels keep -1 for missing as compute_indices gives them.
    engine = "zarr" if str(path).endswith(".zarr") else None
    return xr.open_dataset(path, engine=engine, mask_and_scale=False)


@pytest.mark.parametrize("sample", [SAMPLE_NC, SAMPLE_GRIB], ids=["netcdf", "grib"])
@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_grid_file_holds_compute_indices_with_cf_metadata(tmp_path, sample, suffix):
    forecast = open_forecast(sample)
    path = write_grid_indices(forecast, tmp_path / f"indices{suffix}", timezone="Asia/Shanghai")
    assert [p.name for p in tmp_path.iterdir()] == [f"indices{suffix}"]  # no temporary left
    expected = compute_indices(forecast, timezone="Asia/Shanghai")
    with _open(path) as written:
        assert written.attrs["Conventions"] == "CF-1.8"
        # Only computed variables, never an input field under its own or another name.
        assert not set(written.data_vars) & set(forecast.data_vars)
        assert set(written.data_vars) == set(expected.data_vars) - set(forecast.data_vars)
        assert "uv_index" in written and "sunscreen_level" in written
        for name, variable in written.data_vars.items():
            assert variable.attrs["units"] and variable.attrs["long_name"], name
            np.testing.assert_array_equal(variable.values, expected[name].values, err_msg=name)
            assert variable.dims == expected[name].dims, name
        for name in (*LEVEL_VARIABLES, "uv_category", "goggles_lens"):
            attrs = written[name].attrs
            assert written[name].dtype == np.int8, name
            assert attrs["_FillValue"] == -1, name
            values = np.asarray(attrs["flag_values"])
            meanings = attrs["flag_meanings"].split()
            assert len(values) == len(meanings) >= 4, name
            level = written[name].values
            assert np.isin(level[level >= 0], values).all(), name
        assert written["wind_chill"].attrs["standard_name"] == "wind_chill_of_air_temperature"
        assert written["latitude"].attrs["units"] == "degrees_north"
        assert written["longitude"].attrs["units"] == "degrees_east"


def test_grid_product_is_lazy_until_written():
    product = grid_indices(open_forecast(SAMPLE_NC))
    for name in (*FLOATS, *LEVEL_VARIABLES):
        assert product[name].chunks is not None, name
        assert len(product[name].chunksizes["time"]) == 1, name


@pytest.mark.parametrize("name", ["indices.csv", "-"])
def test_unknown_suffix_or_stdout_is_a_usage_error(tmp_path, name):
    forecast = open_forecast(SAMPLE_NC)
    target = name if name == "-" else tmp_path / name
    with pytest.raises(GridOutputError, match=r"\.nc or (-o indices)?\.zarr") as caught:
        write_grid_indices(forecast, target)
    assert isinstance(caught.value, UsageError) and caught.value.exit_code == 2
    assert list(tmp_path.iterdir()) == []


def test_points_are_not_a_grid():
    # A forecast that is not on a grid is bad input (exit 1), not bad usage.
    forecast = open_forecast(SAMPLE_NC)
    points = forecast.isel(latitude=0, longitude=slice(0, 3)).rename(longitude="venue")
    with pytest.raises(GridOutputError, match="latitude/longitude grid") as caught:
        grid_indices(points)
    assert not isinstance(caught.value, UsageError) and caught.value.exit_code == 1


def test_cli_grid_writes_netcdf(tmp_path):
    out = tmp_path / "indices.nc"
    result = run_cli("indices", str(SAMPLE_GRIB), "--grid", "-o", str(out))
    assert result.returncode == 0, result.stderr
    expected = compute_indices(open_forecast(SAMPLE_GRIB))
    with _open(out) as written:
        np.testing.assert_array_equal(
            written["spectator_level"].values, expected["spectator_level"].values
        )


@pytest.mark.parametrize(
    ("target", "needle"),
    [("indices.csv", ".nc or .zarr"), ("-", "--grid writes a file")],
    ids=["unknown-suffix", "stdout"],
)
def test_cli_grid_bad_output_is_one_line_exit_2(tmp_path, target, needle):
    output = target if target == "-" else str(tmp_path / target)
    result = run_cli("indices", str(SAMPLE_NC), "--grid", "-o", output)
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and needle in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def _layouts():
    """The NetCDF sample on the two other layouts: 2-D latitude/longitude on (y, x) (the grid
    points moved a little off the regular rows, as on a projected grid) and 1-D cells."""
    forecast = open_forecast(SAMPLE_NC)
    la, lo = np.meshgrid(forecast["latitude"].values, forecast["longitude"].values, indexing="ij")
    lo = lo + 0.01 * (la - la.mean())
    structured = (
        forecast.rename({"latitude": "y", "longitude": "x"})
        .drop_vars(["y", "x"])
        .assign_coords(latitude=(("y", "x"), la), longitude=(("y", "x"), lo))
        .assign_attrs(grid_type="lambert")
    )
    cells = structured.stack(cell=("y", "x")).drop_vars(["cell", "y", "x"])
    cells = cells.transpose("time", "cell").assign_attrs(grid_type="reduced_gg")
    return {"structured": structured, "cells": cells}


@pytest.mark.parametrize("layout", ["structured", "cells"])
@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_grid_file_on_2d_and_cell_layouts_carries_the_coordinates(tmp_path, layout, suffix):
    forecast = _layouts()[layout]
    path = write_grid_indices(forecast, tmp_path / f"indices{suffix}", timezone="Asia/Shanghai")
    expected = compute_indices(forecast, timezone="Asia/Shanghai")
    horizontal = forecast["latitude"].dims
    with _open(path) as written:
        assert written.attrs["grid_type"] == forecast.attrs["grid_type"]
        for name in ("latitude", "longitude"):
            assert written[name].dims == horizontal, name
            np.testing.assert_array_equal(written[name].values, forecast[name].values)
        assert written["latitude"].attrs["standard_name"] == "latitude"
        assert written["longitude"].attrs["units"] == "degrees_east"
        for name in ("spectator_level", "wind_chill", "uv_index"):
            variable = written[name]
            assert variable.dims == ("time", *horizontal), name
            np.testing.assert_array_equal(variable.values, expected[name].values, err_msg=name)
    # The CF "coordinates" attribute names the latitude/longitude of each variable (CF 1.8
    # section 5), as the file holds it (read without xarray's decoding).
    if suffix == ".nc":
        with h5netcdf.File(path, "r") as raw:
            names = set(raw["spectator_level"].attrs["coordinates"].split())
    else:
        names = set(
            zarr.open_group(str(path), mode="r")["spectator_level"].attrs["coordinates"].split()
        )
    assert {"latitude", "longitude"} <= names


def test_grid_product_on_cells_is_chunked_along_the_cells():
    product = grid_indices(_layouts()["cells"])
    assert product["spectator_level"].chunks is not None
    assert len(product["spectator_level"].chunksizes["time"]) == 1
