"""Short scripts that read and write NetCDF in this environment end cleanly.

netCDF4's and h5py's wheels each bundle their own HDF5 library, and both are loaded in every
process that computes indices (netCDF4 reads the CF files, pvlib imports h5py, h5netcdf writes
the gridded product). The scripts below do what the bulletin does with them, in fresh
interpreters, several times over, with glibc's heap checks on (mallopt(3): ``MALLOC_CHECK_=3``
aborts on a double free or a bad pointer instead of carrying on), and must exit 0 without
"double free or corruption" or "munmap_chunk(): invalid pointer".
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from .clirun import REPO

RUNS = 4

SCRIPTS = {
    "xarray-read-write-read": """
        import sys
        import pvlib  # imports h5py: both HDF5 libraries are loaded
        import xarray as xr
        ds = xr.open_dataset(sys.argv[1])
        ds.isel(time=slice(0, 3)).to_netcdf(sys.argv[2])
        xr.open_dataset(sys.argv[2]).load()  # left open at exit
    """,
    "bulletin-grid-product": """
        import sys
        import xarray as xr
        from bulletin import open_forecast
        from bulletin.grid_output import write_grid_indices
        ds = open_forecast(sys.argv[1], chunks={})
        write_grid_indices(ds.isel(time=slice(0, 12)), sys.argv[2])
        xr.open_dataset(sys.argv[2]).load()  # read back by netCDF4, left open at exit
    """,
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_netcdf_scripts_exit_cleanly_with_both_hdf5_libraries(tmp_path, name):
    code = textwrap.dedent(SCRIPTS[name])
    env = {**os.environ, "MALLOC_CHECK_": "3", "MALLOC_PERTURB_": "165"}
    for run in range(RUNS):
        out = tmp_path / f"out{run}.nc"
        done = subprocess.run(
            [sys.executable, "-c", code, str(REPO / "samples" / "forecast_cf.nc"), str(out)],
            capture_output=True,
            text=True,
            cwd=REPO,
            env=env,
            timeout=300,
            check=False,
        )
        assert "double free" not in done.stderr and "invalid pointer" not in done.stderr, (
            run,
            done.stderr[-2000:],
        )
        assert done.returncode == 0, (run, done.returncode, done.stderr[-2000:])
        assert out.stat().st_size > 0
