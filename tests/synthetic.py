"""Small in-memory forecasts in the internal schema, for tests of the index layer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from bulletin.schema import FIELDS_BY_NAME


def schema_dataset(
    *,
    times: pd.DatetimeIndex | None = None,
    lat: np.ndarray | None = None,
    lon: np.ndarray | None = None,
    t2m: np.ndarray | None = None,
    seed: int = 1,
) -> xr.Dataset:
    """A (time, latitude, longitude) Dataset in the internal schema with plausible values."""
    times = times if times is not None else pd.date_range("2022-02-04T16:00", periods=72, freq="h")
    lat = lat if lat is not None else np.linspace(40.0, 41.0, 5)
    lon = lon if lon is not None else np.linspace(115.0, 116.25, 6)
    rng = np.random.default_rng(seed)
    shape = (len(times), len(lat), len(lon))
    hours = np.arange(len(times))[:, None, None]
    if t2m is None:
        t2m = -12 + 6 * np.sin(2 * np.pi * (hours - 9) / 24) + rng.normal(0, 4, shape)
    values = {
        "t2m": t2m,
        "rh2m": rng.uniform(20, 95, shape),
        "wind10": rng.uniform(0.5, 18, shape),
        "tcc": rng.uniform(0, 1, shape),
        "rsds": np.clip(500 * np.sin(2 * np.pi * (hours - 7) / 24), 0, None) + 0 * t2m,
        "snow_depth": rng.uniform(0, 0.5, shape),
        "snowfall": np.where(rng.uniform(0, 1, shape) > 0.8, 0.5, 0.0),
        "precip": np.where(rng.uniform(0, 1, shape) > 0.8, 0.5, 0.0),
        "visibility": rng.uniform(200, 20000, shape),
    }
    data_vars = {}
    for name, arr in values.items():
        field = FIELDS_BY_NAME[name]
        data_vars[name] = (
            ("time", "latitude", "longitude"),
            np.broadcast_to(arr, shape).astype(np.float32),
            {"standard_name": field.standard_name, "units": field.units},
        )
    data_vars["orography"] = (
        ("latitude", "longitude"),
        np.linspace(50, 2000, len(lat) * len(lon)).reshape(len(lat), len(lon)).astype(np.float32),
        {"standard_name": "surface_altitude", "units": "m"},
    )
    return xr.Dataset(data_vars, coords={"time": times.values, "latitude": lat, "longitude": lon})


def cf_dataset(n_time: int = 24, *, tas_kelvin: np.ndarray | None = None) -> xr.Dataset:
    """A small CF-convention forecast (CMIP names, Kelvin, %) as a producer would write it."""
    times = pd.date_range("2022-02-05T00:00", periods=n_time, freq="h")
    lat = np.linspace(39.6, 41.4, 7)
    lon = np.linspace(115.1, 116.9, 8)
    rng = np.random.default_rng(3)
    shape = (n_time, len(lat), len(lon))
    tas = tas_kelvin if tas_kelvin is not None else rng.uniform(250, 275, shape)
    dims = ("time", "lat", "lon")
    return xr.Dataset(
        {
            "tas": (
                dims,
                tas.astype(np.float32),
                {"standard_name": "air_temperature", "units": "K"},
            ),
            "hurs": (
                dims,
                rng.uniform(20, 90, shape).astype(np.float32),
                {"standard_name": "relative_humidity", "units": "%"},
            ),
            "uas": (
                dims,
                rng.uniform(-10, 10, shape).astype(np.float32),
                {"standard_name": "eastward_wind", "units": "m s-1"},
            ),
            "vas": (
                dims,
                rng.uniform(-10, 10, shape).astype(np.float32),
                {"standard_name": "northward_wind", "units": "m s-1"},
            ),
        },
        coords={
            "time": ("time", times.values, {"standard_name": "time"}),
            "lat": ("lat", lat, {"standard_name": "latitude", "units": "degrees_north"}),
            "lon": ("lon", lon, {"standard_name": "longitude", "units": "degrees_east"}),
        },
        attrs={"Conventions": "CF-1.8"},
    )
