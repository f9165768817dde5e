"""One HDF5 library per process: the bulletin never loads netCDF4.

netCDF4's wheel bundles its own HDF5 build beside h5py's (which pvlib imports at import time
and h5netcdf reads with); with both loaded, short scripts that read and write NetCDF aborted
at exit with "double free or corruption" or "munmap_chunk(): invalid pointer"
(Unidata/netcdf4-python#694 and #1214, pydata/xarray#1409). The scripts below do the
bulletin's NetCDF work (read a netCDF-4 forecast, compute the indices at venues and on the
grid, write the gridded product, read it back) in fresh interpreters with glibc's heap checks
on (mallopt(3): ``MALLOC_CHECK_=3`` aborts on a bad free instead of carrying on), and then
list the HDF5 libraries mapped into the process (/proc/self/maps).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap

import pytest

from .clirun import REPO

RUNS = 2

SCRIPT = """
    import json, re, sys
    import xarray as xr
    import bulletin
    from bulletin import open_forecast
    from bulletin.grid_output import write_grid_indices
    ds = open_forecast(sys.argv[1], chunks={})
    bulletin.compute_indices(ds.isel(latitude=slice(0, 4), longitude=slice(0, 4))).load()
    write_grid_indices(ds.isel(time=slice(0, 12)), sys.argv[2])
    xr.open_dataset(sys.argv[2], engine="h5netcdf").load()  # left open at exit
    mapped = {line.split()[-1] for line in open("/proc/self/maps") if "libhdf5" in line}
    print(json.dumps({"mapped": sorted(mapped), "netCDF4": "netCDF4" in sys.modules}))
"""

# libhdf5.so.N or a wheel's renamed libhdf5-<hash>.so.N; not libhdf5_hl (the same build's
# high-level library).
_HDF5_CORE = re.compile(r"/libhdf5(-[0-9a-f]+)?\.so")


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="needs Linux /proc")
def test_bulletin_netcdf_work_loads_one_hdf5_build_and_exits_cleanly(tmp_path):
    env = {**os.environ, "MALLOC_CHECK_": "3", "MALLOC_PERTURB_": "165"}
    for run in range(RUNS):
        out = tmp_path / f"out{run}.nc"
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                textwrap.dedent(SCRIPT),
                str(REPO / "samples" / "forecast_cf.nc"),
                str(out),
            ],
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
        report = json.loads(done.stdout.strip().splitlines()[-1])
        builds = [path for path in report["mapped"] if _HDF5_CORE.search(path)]
        assert len(builds) == 1, report["mapped"]
        assert not report["netCDF4"]
        assert out.stat().st_size > 0
