"""Venue weights on a big unstructured grid: the inverse-distance path of
:mod:`bulletin.interpolation` against the triangulation a barycentric method would need.

Cells are spread uniformly over the sphere (as many as an O1280 reduced Gaussian grid has,
6 599 680, by default) and 100 venues drawn at random. Timed, in this process, one after the
other on the same cells:

* ``bulletin``: :func:`bulletin.interpolation.venue_weights` (unit vectors, k-d tree, the 16
  nearest cells and the footprint test for each venue);
* ``delaunay``: the spherical Delaunay triangulation of the same cells, computed as the convex
  hull of their unit vectors (``scipy.spatial.ConvexHull``, Qhull), the step barycentric
  interpolation on the sphere cannot do without - before any venue is located in it.

    python benchmarks/interpolation.py                 # 6.6 million cells
    python benchmarks/interpolation.py --cells 1000000
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import xarray as xr
from scipy.spatial import ConvexHull

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bulletin.interpolation import unit_vectors, venue_weights  # noqa: E402


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=6_599_680)
    parser.add_argument("--venues", type=int, default=100)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    lat = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, args.cells)))
    lon = rng.uniform(-180.0, 180.0, args.cells)
    cells = xr.Dataset(coords={"latitude": ("cell", lat), "longitude": ("cell", lon)})
    venue_lat = rng.uniform(-80.0, 80.0, args.venues)
    venue_lon = rng.uniform(-180.0, 180.0, args.venues)
    ids = [f"v{i}" for i in range(args.venues)]

    start = time.perf_counter()
    venue_weights(cells, ids, venue_lat, venue_lon)
    ours = time.perf_counter() - start
    peak_ours = _peak_mb()

    start = time.perf_counter()
    ConvexHull(unit_vectors(lat, lon))
    peer = time.perf_counter() - start
    peak_peer = _peak_mb()

    print(f"{args.cells} cells, {args.venues} venues")
    print(f"bulletin venue_weights  {ours:8.2f} s   peak RSS {peak_ours:7.0f} MB")
    print(f"delaunay (ConvexHull)   {peer:8.2f} s   peak RSS {peak_peer:7.0f} MB (cumulative)")
    print(f"ratio delaunay / bulletin: {peer / ours:.1f}")


if __name__ == "__main__":
    main()
