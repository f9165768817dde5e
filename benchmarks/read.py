"""Reading a big global GRIB2 file to venues: wall time and peak memory.

Writes, with ecCodes, a 0.25 degree global GRIB2 file (1440 x 721 points) of the fields the
venue table needs - 2 m temperature and dew point, 10 m u and v, total cloud cover - over
49 hourly steps (0-48 h), one message per field and step, 16-bit simple packing, into a
temporary folder. Then, each in a child process of its own so its peak resident set size
(``ru_maxrss`` from ``os.wait4``) is its alone:

* ``bulletin``: ``open_forecast`` + ``venue_table`` for 100 venues spread over the globe (the
  reader streams one field at a time: each message is decoded when its chunk is computed);
* ``cfgrib``: the same file opened with cfgrib alone (``xarray.open_dataset(engine="cfgrib")``
  for each field) and the nearest grid values at the same venues loaded - the peer a user
  would otherwise reach for.

    python benchmarks/read.py               # 49 steps, 100 venues
    python benchmarks/read.py --steps 13 --keep /tmp/bench
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NI, NJ = 1440, 721
#: shortName -> (mean, amplitude) of the written field.
FIELDS = {
    "2t": (275.0, 20.0),
    "2d": (268.0, 15.0),
    "10u": (2.0, 6.0),
    "10v": (-1.0, 6.0),
    "tcc": (0.5, 0.5),
}
TARGET_PEAK_RSS_MIB = 1024.0


def write_file(path: Path, steps: int) -> None:
    """The 0.25 degree file, one message per field and step, written message by message."""
    from bulletin.readers.eccodes_loader import load_eccodes

    eccodes = load_eccodes()
    lat = np.linspace(90.0, -90.0, NJ)[:, None]
    lon = np.arange(NI)[None, :] * 0.25
    base = np.cos(np.radians(lat)) * np.cos(np.radians(lon))
    with path.open("wb") as stream:
        for step in range(steps):
            phase = np.sin(2 * np.pi * step / 24.0)
            for name, (mean, amplitude) in FIELDS.items():
                handle = eccodes.codes_grib_new_from_samples("regular_ll_sfc_grib2")
                try:
                    for key, value in (
                        ("Ni", NI),
                        ("Nj", NJ),
                        ("latitudeOfFirstGridPointInDegrees", 90.0),
                        ("longitudeOfFirstGridPointInDegrees", 0.0),
                        ("latitudeOfLastGridPointInDegrees", -90.0),
                        ("longitudeOfLastGridPointInDegrees", 359.75),
                        ("iDirectionIncrementInDegrees", 0.25),
                        ("jDirectionIncrementInDegrees", 0.25),
                        ("dataDate", 20220204),
                        ("dataTime", 0),
                        ("shortName", name),
                        ("stepRange", str(step)),
                        ("bitsPerValue", 16),
                    ):
                        eccodes.codes_set(handle, key, value)
                    values = mean + amplitude * base * (0.8 + 0.2 * phase)
                    if name == "tcc":
                        values = np.clip(values, 0.0, 1.0)
                    eccodes.codes_set_values(handle, values.ravel())
                    eccodes.codes_write(handle, stream)
                finally:
                    eccodes.codes_release(handle)


def venues(count: int):
    from bulletin.venues import Venue

    rng = np.random.default_rng(0)
    lats = rng.uniform(-60.0, 70.0, count)
    lons = rng.uniform(-180.0, 180.0, count)
    return [
        Venue(f"v{i:03d}", f"Venue {i}", float(a), float(o), 500.0, timezone="UTC")
        for i, (a, o) in enumerate(zip(lats, lons, strict=True))
    ]


def run_bulletin(path: Path, count: int) -> str:
    from bulletin.extract import venue_table
    from bulletin.forecast import open_forecast

    table = venue_table(open_forecast(path), venues(count), lapse_rate_correction=False)
    return f"{len(table)} rows, mean temperature {table['temperature_degC'].mean():.2f} C"


def run_cfgrib(path: Path, count: int) -> str:
    import xarray as xr

    from bulletin.readers.eccodes_loader import load_cfgrib

    load_cfgrib()
    points = venues(count)
    lat = xr.DataArray([v.lat for v in points], dims="venue")
    lon = xr.DataArray([v.lon % 360.0 for v in points], dims="venue")
    with tempfile.TemporaryDirectory() as index_dir:
        loaded = []
        for name in FIELDS:
            ds = xr.open_dataset(
                path,
                engine="cfgrib",
                backend_kwargs={
                    "filter_by_keys": {"shortName": name},
                    "indexpath": str(Path(index_dir) / "{short_hash}.idx"),
                },
            )
            (variable,) = ds.data_vars
            loaded.append(ds[variable].sel(latitude=lat, longitude=lon, method="nearest").load())
    return f"{len(loaded)} fields x {loaded[0].shape} at the venues"


def measure(mode: str, path: Path, count: int) -> tuple[float, float, str]:
    """(peak RSS MiB, wall s, summary line) of ``mode`` run in a child process; the child
    reports its own ``ru_maxrss`` (KiB on Linux)."""
    command = [sys.executable, __file__, "--child", mode, "--file", str(path)]
    command += ["--venues", str(count)]
    start = time.perf_counter()
    child = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if child.returncode:
        raise SystemExit(f"{mode} failed: {child.stderr.strip().splitlines()[-1]}")
    lines = child.stdout.splitlines()
    peak_kib = [float(line.split()[1]) for line in lines if line.startswith("peak_rss_kib ")]
    summary = [line for line in lines if not line.startswith("peak_rss_kib ")]
    return peak_kib[-1] / 1024.0, wall, summary[-1] if summary else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=49)
    parser.add_argument("--venues", type=int, default=100)
    parser.add_argument("--keep", type=Path, default=None, help="write the file in this folder")
    parser.add_argument("--child", choices=("bulletin", "cfgrib"), help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        import resource

        runner = run_bulletin if args.child == "bulletin" else run_cfgrib
        print(runner(args.file, args.venues))
        print(f"peak_rss_kib {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")
        return

    with tempfile.TemporaryDirectory(prefix="bulletin-read-") as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"global_0p25_{args.steps}steps.grib2"
        if not path.exists():
            start = time.perf_counter()
            write_file(path, args.steps)
            print(
                f"wrote {path} ({path.stat().st_size / 1e6:.0f} MB, "
                f"{len(FIELDS) * args.steps} messages) in {time.perf_counter() - start:.1f} s"
            )
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.venues} venues")
        results = {mode: measure(mode, path, args.venues) for mode in ("bulletin", "cfgrib")}
        for mode, (peak, wall, summary) in results.items():
            print(f"{mode:8s} wall {wall:6.1f} s  peak RSS {peak:7.0f} MiB  ({summary})")
        ratio = results["bulletin"][1] / results["cfgrib"][1]
        peak = results["bulletin"][0]
        verdict = "met" if peak < TARGET_PEAK_RSS_MIB else "NOT met"
        print(
            f"bulletin / cfgrib wall time: {ratio:.2f}; peak RSS target "
            f"< {TARGET_PEAK_RSS_MIB:.0f} MiB {verdict}"
        )


if __name__ == "__main__":
    main()
