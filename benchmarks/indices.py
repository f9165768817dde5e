"""Speed of the index engine against xclim and bare numpy, measured in the same run.

    python benchmarks/indices.py [--points 1e7] [--repeat 5] [--grid forecast|noise]

On a ~1e7-point float32 grid (time x latitude x longitude; :func:`make_grid`: by default
both a forecast-like grid of smooth fields and one of independent uniform noise) it times:

* a bare numpy wind-chill expression (the floor any implementation is held to);
* ``bulletin.indices.wind_chill`` on the same arrays;
* ``xclim.indices.wind_chill_index`` as users call it (default method, masking, units
  handling) and with ``method="US", mask_invalid=False``;
* ``bulletin.compute_indices`` (all six indices with levels, the composite and metadata)
  on a Dataset with the same temperature and wind plus humidity, cloud, radiation and snow;

and prints medians (wall-clock time; and the process's CPU time, user + system over all
threads, and minor page faults, from ``getrusage``) and the ratios of wall-clock times the
project targets: our wind chill / bare numpy <= 1,
all six indices / xclim wind chill default <= 2.5 (and, for information, against xclim's
US unmasked mode), for each grid. ``compute_indices`` runs on dask's threads, the others on
one: on a loaded machine the CPU times show the work done. The target is judged on the
forecast-like grid: the six indices read two look-up tables, whose cost depends on how many
neighbouring points share a table cell; the noise grid shows the worst case.

    python benchmarks/indices.py --profile [--points 1e7] [--grid forecast|noise]

instead measures the CPU time (``time.process_time``, robust on a shared machine) of the
index engine alone (:func:`bulletin.indices.combined.spectator_indices`) on one
thread, then prints the functions with the most CPU time of their own, in ns per point (the
load average is printed too: on a busy machine only same-run comparisons mean much).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import resource
import statistics
import time
import warnings

import numpy as np
import pandas as pd
import xarray as xr


def median_time(func, repeat: int) -> float:
    """Median wall-clock time of ``func()`` over ``repeat`` calls (see :func:`median_costs`)."""
    return median_costs(func, repeat)[0]


def median_costs(func, repeat: int) -> tuple[float, float, float]:
    """Medians over ``repeat`` calls of ``func()``, after one warm-up call (caches, lookup
    tables, lazy imports): wall-clock seconds, CPU seconds of the process (user + system,
    all threads; ``resource.getrusage``) and minor page faults."""
    func()
    walls, cpus, faults = [], [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter()
        func()
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        faults.append(after.ru_minflt - before.ru_minflt)
    return statistics.median(walls), statistics.median(cpus), statistics.median(faults)


GRIDS = ("forecast", "noise")


def make_grid(points: float, seed: int = 0, kind: str = "forecast") -> xr.Dataset:
    """A ~``points`` float32 grid (96 hourly steps x 100 latitudes x n longitudes over
    39.5-41.5 N, 115-117 E) of every field the indices read, over ranges typical of February
    in the Beijing/Zhangjiakou area (wider where a level needs it).

    ``kind="forecast"``: fields that vary smoothly in space and time, as a model's do: a few
    random long waves (50-500 km, 1-3 days) plus a diurnal cycle and 2 % of the range as
    point noise; radiation follows the sun and the clouds; snowfall is zero over most of the
    grid. ``kind="noise"``: every value drawn independently and uniformly over its range:
    no forecast looks like it, but it is the worst case for table look-ups (no two
    neighbours share a table cell) and for branch prediction.
    """
    n_time = 96
    n_lat = 100
    n_lon = max(1, round(points / (n_time * n_lat)))
    rng = np.random.default_rng(seed)
    shape = (n_time, n_lat, n_lon)
    times = pd.date_range("2022-02-04T12:00", periods=n_time, freq="h")
    lat = np.linspace(39.5, 41.5, n_lat)
    lon = np.linspace(115.0, 117.0, n_lon)
    hours = np.arange(n_time, dtype=np.float32)[:, None, None]
    y = np.linspace(0.0, 1.0, n_lat, dtype=np.float32)[None, :, None]
    x = np.linspace(0.0, 1.0, n_lon, dtype=np.float32)[None, None, :]
    local_hour = (hours + 8.0) % 24.0  # UTC+8
    diurnal = np.cos(2 * np.pi * (local_hour - 15.0) / 24.0).astype(np.float32)  # max 15 h

    def smooth(waves: int = 4) -> np.ndarray:
        """Sum of long waves in space and time, scaled to 0..1."""
        out = np.zeros(shape, dtype=np.float32)
        for _ in range(waves):
            kx, ky = rng.uniform(0.5, 4.0, 2) * 2 * np.pi
            period = rng.uniform(24.0, 72.0)
            phase = rng.uniform(0, 2 * np.pi, 3).astype(np.float32)
            space = np.sin(kx * x + phase[0]) * np.cos(ky * y + phase[1])
            out += space * np.sin(2 * np.pi * hours / period + phase[2]).astype(np.float32)
        out -= out.min()
        out /= out.max()
        return out

    def field(lo, hi, pattern=None):
        if kind == "noise":
            return rng.uniform(lo, hi, shape).astype(np.float32)
        pattern = smooth() if pattern is None else pattern
        pattern += rng.uniform(-0.02, 0.02, shape).astype(np.float32)
        return (lo + (hi - lo) * np.clip(pattern, 0, 1)).astype(np.float32)

    if kind not in GRIDS:
        raise ValueError(f"unknown grid kind {kind!r}; expected one of {GRIDS}")
    if kind == "noise":
        rsds = field(0, 600)
        snowfall = field(0, 0.5)
    else:
        cloud_pattern = smooth()
        tcc_values = field(0, 1, cloud_pattern.copy())
        sun = np.clip(np.cos(2 * np.pi * (local_hour - 12.0) / 24.0) * 1.4 - 0.4, 0, None)
        rsds = (600.0 * sun * (1.0 - 0.75 * tcc_values)).astype(np.float32)
        snowfall = (0.5 * np.clip(cloud_pattern * 2.0 - 1.2, 0, None)).astype(np.float32)
    t2m = field(-35, 8, smooth() * 0.8 + 0.2 * (diurnal + 1) / 2)
    dims = ("time", "latitude", "longitude")
    data = {
        "t2m": (t2m, "air_temperature", "degC"),
        "wind10": (field(1.5, 20), "wind_speed", "m s-1"),
        "rh2m": (field(15, 95), "relative_humidity", "%"),
        "tcc": (field(0, 1) if kind == "noise" else tcc_values, "cloud_area_fraction", "1"),
        "rsds": (rsds, "surface_downwelling_shortwave_flux_in_air", "W m-2"),
        "snow_depth": (field(0, 0.8), "surface_snow_thickness", "m"),
        "snowfall": (snowfall, "lwe_snowfall_rate", "mm h-1"),
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
    from bulletin.indices.combined import spectator_indices

    arrays, settings = engine_arrays(ds)
    n = ds["t2m"].size

    def run():
        return spectator_indices(**arrays, **settings)

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
        "--grid",
        choices=GRIDS,
        action="append",
        help="grid kind (repeatable; default: both, forecast first)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="CPU time of the index engine by function"
    )
    args = parser.parse_args()
    grids = args.grid or list(GRIDS)
    if args.profile:
        for kind in grids:
            print(f"--- {kind} grid")
            profile_engine(make_grid(args.points, kind=kind), args.repeat)
        return
    warnings.simplefilter("ignore")
    for kind in grids:
        run_grid(make_grid(args.points, kind=kind), kind, args.repeat)


def run_grid(ds: xr.Dataset, kind: str, repeat: int) -> None:
    """Time the five calls on ``ds`` and print the times and the target ratios."""
    import xclim.indices

    from bulletin import compute_indices
    from bulletin.indices import wind_chill

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

    costs = {
        "bare numpy wind chill": median_costs(bare_numpy, repeat),
        "bulletin.indices.wind_chill": median_costs(lambda: wind_chill(t, v_kmh), repeat),
        "xclim wind_chill_index (default: CAN, masked)": median_costs(xclim_default, repeat),
        "xclim wind_chill_index (US, unmasked)": median_costs(xclim_us, repeat),
        "bulletin.compute_indices (six indices)": median_costs(ours_all, repeat),
    }
    results = {name: wall for name, (wall, _, _) in costs.items()}
    print(f"{kind} grid: {n:.3g} float32 points {dict(ds.sizes)}; median of {repeat} runs")
    print(f"  {'':<48s} {'wall':>8s}  {'points/s':>10s}  {'CPU':>7s}  {'faults':>7s}")
    for name, (seconds, cpu, faults) in costs.items():
        print(f"  {name:<48s} {seconds:8.3f} s  {n / seconds:10.3g}  {cpu:6.3f} s  {faults:7.0f}")
    print(f"  load average (1, 5, 15 min): {os.getloadavg()}")
    ours = results["bulletin.indices.wind_chill"]
    bare = results["bare numpy wind chill"]
    xc = results["xclim wind_chill_index (default: CAN, masked)"]
    xc_us = results["xclim wind_chill_index (US, unmasked)"]
    six = results["bulletin.compute_indices (six indices)"]
    print(f"  ratio our wind chill / bare numpy:            {ours / bare:5.2f}  (target <= 1)")
    print(f"  ratio six indices / xclim wind chill default: {six / xc:5.2f}  (target <= 2.5)")
    print(f"  ratio six indices / xclim wind chill US:      {six / xc_us:5.2f}")
    cpu_six = costs["bulletin.compute_indices (six indices)"][1]
    cpu_xc = costs["xclim wind_chill_index (default: CAN, masked)"][1]
    print(f"  CPU time six indices / xclim default:         {cpu_six / cpu_xc:5.2f}  (all threads)")


if __name__ == "__main__":
    main()
