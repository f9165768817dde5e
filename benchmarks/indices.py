"""Speed of the index engine against xclim and bare numpy, measured in the same run.

    python benchmarks/indices.py [--points 1e7] [--repeat 5]

On one ~1e7-point float32 grid (time x latitude x longitude) it times:

* a bare numpy wind-chill expression (the floor any implementation is held to);
* ``bulletin.indices.wind_chill`` on the same arrays;
* ``xclim.indices.wind_chill_index`` as users call it (default method, masking, units
  handling) and with ``method="US", mask_invalid=False``;
* ``bulletin.compute_indices`` (all six indices with levels, the composite and metadata)
  on a Dataset with the same temperature and wind plus humidity, cloud, radiation and snow;

and prints medians and the two ratios the project targets: our wind chill / bare numpy <= 1,
all six indices / xclim wind chill <= 2.

    python benchmarks/indices.py --profile [--points 1e7]

instead measures the CPU time (``time.process_time``, robust on a shared machine) of the
index engine alone (:func:`bulletin.indices.combined.spectator_indices_blocked`) on one
thread, then prints the functions with the most CPU time of their own, in ns per point (the
load average is printed too: on a busy machine only same-run comparisons mean much).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import time
import warnings

import numpy as np
import pandas as pd
import xarray as xr


def median_time(func, repeat: int) -> float:
    func()  # warm-up: caches, lookup tables, lazy imports
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def make_grid(points: float, seed: int = 0) -> xr.Dataset:
    n_time = 96
    n_lat = 100
    n_lon = max(1, round(points / (n_time * n_lat)))
    rng = np.random.default_rng(seed)
    shape = (n_time, n_lat, n_lon)
    times = pd.date_range("2022-02-04T12:00", periods=n_time, freq="h")
    lat = np.linspace(39.5, 41.5, n_lat)
    lon = np.linspace(115.0, 117.0, n_lon)

    def field(lo, hi):
        return rng.uniform(lo, hi, shape).astype(np.float32)

    dims = ("time", "latitude", "longitude")
    data = {
        "t2m": (field(-35, 8), "air_temperature", "degC"),
        "wind10": (field(1.5, 20), "wind_speed", "m s-1"),
        "rh2m": (field(15, 95), "relative_humidity", "%"),
        "tcc": (field(0, 1), "cloud_area_fraction", "1"),
        "rsds": (field(0, 600), "surface_downwelling_shortwave_flux_in_air", "W m-2"),
        "snow_depth": (field(0, 0.8), "surface_snow_thickness", "m"),
        "snowfall": (field(0, 0.5), "lwe_snowfall_rate", "mm h-1"),
    }
    ds = xr.Dataset(
        {k: (dims, v, {"standard_name": s, "units": u}) for k, (v, s, u) in data.items()},
        coords={"time": times, "latitude": lat, "longitude": lon},
    )
    return ds


def engine_arrays(ds: xr.Dataset) -> tuple[dict[str, np.ndarray], dict]:
    """The raw arrays and settings that ``compute_indices`` hands to the index engine."""
    from bulletin.compute import (
        DEFAULT_VISIBILITY_M,
        FRESH_SNOW_MM_24H,
        FRESH_SNOW_WINDOW,
        KMH_PER_MS,
        WORN_CLO,
        local_times,
    )
    from bulletin.indices import ozone_climatology_du
    from bulletin.indices.combined import TimeAxis

    times = ds["time"].values
    days = local_times(times, "Asia/Shanghai").normalize().values
    lat = ds["latitude"].values[None, :, None]
    day_of_year = ds["time"].dt.dayofyear.values[:, None, None]
    arrays = {
        "t_c": ds["t2m"].values,
        "rh_pct": ds["rh2m"].values,
        "v10_ms": ds["wind10"].values,
        "lat": lat,
        "lon": ds["longitude"].values[None, None, :],
        "ozone_du": np.asarray(ozone_climatology_du(lat, day_of_year), dtype=np.float32),
        "tcc_fraction": ds["tcc"].values,
        "rsds_wm2": ds["rsds"].values,
        "snow_depth_m": ds["snow_depth"].values,
        "snowfall_mmh": ds["snowfall"].values,
    }
    settings = {
        "time": TimeAxis.from_times(times, days, FRESH_SNOW_WINDOW),
        "time_axis": 0,
        "worn_clo": WORN_CLO,
        "fresh_snow_mm": FRESH_SNOW_MM_24H,
        "default_visibility_m": DEFAULT_VISIBILITY_M,
        "kmh_per_ms": KMH_PER_MS,
    }
    return arrays, settings


def profile_engine(ds: xr.Dataset, repeat: int, top: int = 25) -> None:
    """Single-thread CPU time of the index engine per point, then its profile by function."""
    from bulletin.indices.combined import spectator_indices_blocked

    arrays, settings = engine_arrays(ds)
    n = ds["t2m"].size

    def run():
        return spectator_indices_blocked(arrays, workers=1, **settings)

    run()  # warm-up: compiled kernels, lookup tables
    seconds = []
    for _ in range(repeat):
        start = time.process_time()
        run()
        seconds.append(time.process_time() - start)
    print(f"grid: {n:.3g} points; index engine on one thread, CPU time per point:")
    print(
        f"  min {min(seconds) / n * 1e9:.1f} ns, median {statistics.median(seconds) / n * 1e9:.1f} ns"
    )
    print(f"  load average (1, 5, 15 min): {os.getloadavg()}")
    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    rows = sorted(stats.items(), key=lambda item: -item[1][2])[:top]
    print("  own ns/pt  cum ns/pt  function (one profiled run; the profiler adds a little)")
    for (path, line, name), (_, _, own, cumulative, _) in rows:
        where = f"{path.rsplit('/', 1)[-1]}:{line}({name})" if line else name
        print(f"  {own / n * 1e9:9.1f}  {cumulative / n * 1e9:9.1f}  {where}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=float, default=1e7)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--profile", action="store_true", help="CPU time of the index engine by function"
    )
    args = parser.parse_args()
    if args.profile:
        profile_engine(make_grid(args.points), args.repeat)
        return

    import xclim.indices

    from bulletin import compute_indices
    from bulletin.indices import wind_chill

    ds = make_grid(args.points)
    n = ds["t2m"].size
    t = ds["t2m"].values
    v_kmh = ds["wind10"].values * np.float32(3.6)

    def bare_numpy():
        v16 = v_kmh**0.16
        return 13.12 + 0.6215 * t - 11.37 * v16 + 0.3965 * t * v16

    tas = ds["t2m"].assign_attrs(units="degC")
    wind = (ds["wind10"] * 3.6).assign_attrs(units="km/h", standard_name="wind_speed")

    def xclim_default():
        return xclim.indices.wind_chill_index(tas, wind).values

    def xclim_us():
        return xclim.indices.wind_chill_index(tas, wind, method="US", mask_invalid=False).values

    def ours_all():
        out = compute_indices(ds)
        return out["spectator_level"].values

    warnings.simplefilter("ignore")
    results = {
        "bare numpy wind chill": median_time(bare_numpy, args.repeat),
        "bulletin.indices.wind_chill": median_time(lambda: wind_chill(t, v_kmh), args.repeat),
        "xclim wind_chill_index (default: CAN, masked)": median_time(xclim_default, args.repeat),
        "xclim wind_chill_index (US, unmasked)": median_time(xclim_us, args.repeat),
        "bulletin.compute_indices (six indices)": median_time(ours_all, args.repeat),
    }
    print(f"grid: {n:.3g} float32 points {dict(ds.sizes)}; median of {args.repeat} runs")
    for name, seconds in results.items():
        print(f"  {name:<48s} {seconds:8.3f} s  {n / seconds:10.3g} points/s")
    ours = results["bulletin.indices.wind_chill"]
    bare = results["bare numpy wind chill"]
    xc = results["xclim wind_chill_index (default: CAN, masked)"]
    xc_us = results["xclim wind_chill_index (US, unmasked)"]
    six = results["bulletin.compute_indices (six indices)"]
    print(f"ratio our wind chill / bare numpy:            {ours / bare:5.2f}  (target <= 1)")
    print(f"ratio six indices / xclim wind chill default: {six / xc:5.2f}  (target <= 2)")
    print(f"ratio six indices / xclim wind chill US:      {six / xc_us:5.2f}")


if __name__ == "__main__":
    main()
