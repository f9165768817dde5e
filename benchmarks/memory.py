"""Peak memory of ``bulletin indices`` against the size of the forecast and of the venue file.

Writes a CF NetCDF forecast of ``--grid``x``--grid`` points (float32 ``tas``, ``hurs``,
``uas``, ``vas``, ``clt``: 5 x 401 x 401 x 120 x 4 bytes = 386 MB at the defaults), chunked
one time step per chunk as a model writes it, and the same with twice the steps; then runs
``bulletin indices FILE --venue ... -o x.csv`` for 8 venues in a child process on each and
reports the child's peak resident set size (``ru_maxrss`` from ``os.wait4``). With ``--venue-rows`` it also runs venue CSV
files of that many rows (``--venues-file FILE``).

    python benchmarks/memory.py                   # 120 and 240 steps, 8 venues
    python benchmarks/memory.py --venue-rows 10000 100000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

#: The venue catalogue ids near Beijing, Yanqing and Zhangjiakou that the grid covers.
VENUES = (
    "big-air-shougang",
    "national-stadium",
    "national-alpine-skiing-centre",
    "national-sliding-centre",
    "genting-snow-park",
    "national-ski-jumping-centre",
    "national-cross-country-skiing-centre",
    "national-biathlon-centre",
)


def write_forecast(path: Path, *, steps: int, grid: int) -> None:
    """A CF forecast over 39-42 N, 114-117 E (the catalogue's venues lie inside), written
    one time step per HDF5 chunk, a variable at a time so the writer's memory stays small."""
    lat = np.linspace(39.0, 42.0, grid)
    lon = np.linspace(114.0, 117.0, grid)
    times = pd.date_range("2022-02-04T00:00", periods=steps, freq="h")
    specs = {
        "tas": ("air_temperature", "K", 263.0, 6.0),
        "hurs": ("relative_humidity", "%", 60.0, 20.0),
        "uas": ("eastward_wind", "m s-1", 2.0, 4.0),
        "vas": ("northward_wind", "m s-1", -1.0, 4.0),
        "clt": ("cloud_area_fraction", "%", 50.0, 30.0),
    }
    rng = np.random.default_rng(0)
    template = xr.Dataset(
        coords={
            "time": ("time", times.values, {"standard_name": "time"}),
            "lat": ("lat", lat, {"standard_name": "latitude", "units": "degrees_north"}),
            "lon": ("lon", lon, {"standard_name": "longitude", "units": "degrees_east"}),
        },
        attrs={"Conventions": "CF-1.8", "title": "benchmarks/memory.py synthetic forecast"},
    )
    template.to_netcdf(path, engine="netcdf4", mode="w")
    for name, (standard_name, units, mean, spread) in specs.items():
        low, high = (0.0, 100.0) if units == "%" else (-np.inf, np.inf)
        values = np.empty((steps, grid, grid), dtype=np.float32)
        for step in range(steps):
            values[step] = np.clip(mean + spread * rng.standard_normal((grid, grid)), low, high)
        var = xr.Dataset(
            {
                name: (
                    ("time", "lat", "lon"),
                    values,
                    {"standard_name": standard_name, "units": units},
                )
            },
            coords=template.coords,
        )
        var.to_netcdf(
            path,
            engine="netcdf4",
            mode="a",
            encoding={name: {"chunksizes": (1, grid, grid), "zlib": False}},
        )
        del values, var


def peak_rss_of(command: list[str]) -> tuple[float, float, int]:
    """Run ``command``; return (its peak RSS in MiB, wall seconds, exit code). ``os.wait4``
    gives the resource usage of that one child (``ru_maxrss``, KiB on Linux)."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    stderr = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if child.returncode and stderr.strip():
        print(stderr.strip().splitlines()[-1], file=sys.stderr)
    return usage.ru_maxrss / 1024.0, wall, child.returncode


def bulletin(*args: str) -> list[str]:
    return [sys.executable, "-m", "bulletin", "-q", *args]


def venue_file(path: Path, rows: int) -> None:
    """``rows`` venues on the grid (id, name, name_zh, lat, lon, elevation_m, timezone)."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "id": [f"v{i:07d}" for i in range(rows)],
            "name": [f"Venue {i}" for i in range(rows)],
            "name_zh": [f"场馆{i}" for i in range(rows)],
            "lat": rng.uniform(39.5, 41.5, rows).round(4),
            "lon": rng.uniform(114.5, 116.5, rows).round(4),
            "elevation_m": rng.uniform(100, 2000, rows).round(0),
            "timezone": "Asia/Shanghai",
        }
    )
    frame.to_csv(path, index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grid", type=int, default=401, help="points per side (401)")
    parser.add_argument("--steps", type=int, default=120, help="time steps of the first file")
    parser.add_argument("--venue-rows", type=int, nargs="*", default=[], metavar="N")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the files here")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bulletin-memory-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, files in {workdir}")
    venue_args = [item for v in VENUES for item in ("--venue", v)]
    for steps in (args.steps, 2 * args.steps):
        path = workdir / f"forecast_{args.grid}x{args.grid}x{steps}.nc"
        if not path.exists():
            write_forecast(path, steps=steps, grid=args.grid)
        size = path.stat().st_size / 1e6
        out = workdir / f"indices_{steps}.csv"
        peak, wall, code = peak_rss_of(
            bulletin("indices", str(path), *venue_args, "-o", str(out), "--no-summary")
        )
        print(
            f"{args.grid}x{args.grid}x{steps} ({size:.0f} MB), {len(VENUES)} venues: "
            f"peak RSS {peak:.0f} MiB, {wall:.1f} s, exit {code}"
        )
    path = workdir / f"forecast_{args.grid}x{args.grid}x{args.steps}.nc"
    for rows in args.venue_rows:
        venues = workdir / f"venues_{rows}.csv"
        venue_file(venues, rows)
        out = workdir / f"indices_rows_{rows}.csv"
        peak, wall, code = peak_rss_of(
            bulletin(
                "indices", str(path), "--venues-file", str(venues), "-o", str(out), "--no-summary"
            )
        )
        print(f"venue file of {rows} rows: peak RSS {peak:.0f} MiB, {wall:.1f} s, exit {code}")


if __name__ == "__main__":
    main()
