"""Make the shipped sample forecasts: synthetic but realistic February grids for Beijing 2022.

Run ``python samples/make_samples.py`` (``make samples``); it is seeded, so the files are
reproducible. What it writes, and why the weather looks the way it does, is in the "Samples"
section of ``README.md``. In short: 0.1° over 39.5-41.5 N, 115-117 E with synthetic orography of
the Beijing plain, the Yanqing (Haituo) and Zhangjiakou (Chongli) mountains; hourly steps from
2022-02-04 12 UTC for 84 hours, covering the local days 5, 6 and 7 February:

* 5 Feb, a clear snowy day: snow until dawn, then sunshine on fresh snow, light winds;
* 6 Feb, a windy day: a cold front crosses at midday, strong north-west winds, blowing snow and
  snow showers with poor visibility in the mountains;
* 7 Feb, a cold wave: daily minimum temperatures 10-12 K below those of the 5th, very dry
  air, a strong wind on the summits in the morning, then clear.

Ranges follow published climatology: meteoblue, "Winter Olympics 2022: Weather and Climate"
(2011-2020 December-March means: Beijing -0.5 °C, Yanqing -4.3 °C, Zhangjiakou -6.3 °C, and
Zhangjiakou the windiest), the WMO climate normals for Beijing (February: highs 4-6 °C, lows
about -5 °C) and the Chongli meteorological bureau's winter mean of about -12 °C; temperature
falls with height at the ICAO standard atmosphere's 6.5 K km-1 (ICAO Doc 7488/3, 1993). The
ranges inside those bounds are our own choice. A February sun at
40° N cannot raise the UV index above about 5, so a second, small sample (a late-April day on a
glacier ski area of Yulong Snow Mountain, Yunnan, 4500 m) carries the two highest sunscreen
levels; it comes with its own venue file.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

RNG_SEED = 20220204
G = 9.80665  # standard gravity, m s-2 (for surface geopotential)


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, ...], scale: float) -> np.ndarray:
    """Spatially smooth noise in [-1, 1] (a few random Fourier modes), for realistic texture."""
    ny, nx = shape
    y, x = np.meshgrid(np.linspace(0, 1, ny), np.linspace(0, 1, nx), indexing="ij")
    field = np.zeros(shape)
    for _ in range(6):
        kx, ky = rng.uniform(0.5, 3.0, 2)
        phase = rng.uniform(0, 2 * np.pi)
        field += np.sin(2 * np.pi * (kx * x + ky * y) + phase)
    return scale * field / np.abs(field).max()


def orography(lat: np.ndarray, lon: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Synthetic model surface height (m): the Beijing plain in the south-east rising to the
    mountains in the north-west, with the Haituo massif (Yanqing), the Chongli ranges
    (Zhangjiakou), the Yanqing and Huailai basins, and a high ridge in the south-west."""
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    # Distance into the mountains from the plain's edge (a line running SW-NE).
    into_hills = (40.35 - la) * -1.0 + (116.25 - lo) * 0.9
    h = 45 + 900 / (1 + np.exp(-into_hills / 0.12))
    peaks = [
        (40.56, 115.82, 1350, 0.07),  # Haituo (summit ~2200 m)
        (40.93, 115.45, 1150, 0.12),  # Chongli / Taizicheng (~1650-2100 m)
        (40.98, 115.30, 1450, 0.07),  # higher summits north-west of Chongli
        (39.85, 115.12, 1400, 0.12),  # ridge towards Xiaowutai in the south-west
        (40.75, 116.55, 500, 0.15),  # Yanshan foothills north of Beijing
    ]
    for plat, plon, height, sigma in peaks:
        h += height * np.exp(-((la - plat) ** 2 + (lo - plon) ** 2) / (2 * sigma**2))
    basins = [(40.45, 116.00, -400, 0.08), (40.35, 115.55, -350, 0.09)]
    for blat, blon, depth, sigma in basins:
        h += depth * np.exp(-((la - blat) ** 2 + (lo - blon) ** 2) / (2 * sigma**2))
    h += _smooth_noise(rng, h.shape, 60.0)
    return np.clip(h, 20, None)


def _interp_hours(hours: np.ndarray, points: list[tuple[float, float]]) -> np.ndarray:
    """Piecewise-linear curve through (hour since start of 5 Feb local, value) points."""
    xs, ys = zip(*points, strict=True)
    return np.interp(hours, xs, ys)


def cos_solar_zenith(times: pd.DatetimeIndex, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Cosine of the solar zenith angle (Spencer 1971 declination and equation of time via
    pvlib), clipped at 0; shape (time, lat, lon)."""
    import pvlib

    doy = times.day_of_year.values
    decl = pvlib.solarposition.declination_spencer71(doy)
    eot = pvlib.solarposition.equation_of_time_spencer71(doy)
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    hour_utc = (times.hour + times.minute / 60.0).values
    solar_time = hour_utc[:, None, None] + lo[None] / 15.0 + eot[:, None, None] / 60.0
    hour_angle = np.deg2rad(15.0 * (solar_time - 12.0))
    d = decl[:, None, None]
    phi = np.deg2rad(la)[None]
    cosz = np.sin(phi) * np.sin(d) + np.cos(phi) * np.cos(d) * np.cos(hour_angle)
    return np.clip(cosz, 0.0, None)


def relative_to_dewpoint(t_c: np.ndarray, rh: np.ndarray) -> np.ndarray:
    """Dewpoint (°C) from temperature and RH, Magnus form with Alduchov & Eskridge (1996)
    coefficients over water (the inverse of what the reader uses)."""
    a, b = 17.625, 243.04
    gamma = np.log(np.clip(rh, 1e-3, 100) / 100.0) + a * t_c / (b + t_c)
    return b * gamma / (a - gamma)


def beijing_february(lat: np.ndarray, lon: np.ndarray, times: pd.DatetimeIndex, seed: int):
    """The three-day scenario on a grid. Returns (fields dict of (time, lat, lon) arrays in
    the units named by their keys, orography (lat, lon) in m)."""
    rng = np.random.default_rng(seed)
    nt = len(times)
    ny, nx = len(lat), len(lon)
    h = orography(lat, lon, rng)
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    # Hours since 00:00 local (UTC+8) on 5 Feb 2022.
    local_h = ((times - pd.Timestamp("2022-02-04T16:00")) / pd.Timedelta(hours=1)).values
    hrs = local_h[:, None, None]
    km = h[None] / 1000.0
    mountains = np.clip((h - 600.0) / 1200.0, 0, 1)[None]  # 0 on the plain, 1 above 1800 m
    zjk = np.exp(-((la - 40.93) ** 2 + (lo - 115.42) ** 2) / (2 * 0.25**2))[None]  # Zhangjiakou

    # Sea-level temperature with a diurnal cycle; the front on the 6th, the cold wave on the 7th.
    base = _interp_hours(
        local_h,
        [
            (-4, -2),
            (6, -6.5),
            (15, 8.5),
            (24, -1.5),
            (30, -3),
            (36, 2),
            (40, -1),
            (48, -8),
            (55, -16),
            (63, -10),
            (72, -13),
            (80, -14),
        ],
    )[:, None, None]
    # Valleys and basins hold colder air at dawn (cold pools), summits stay windy and mixed.
    cold_pool = -2.5 * np.exp(-(((hrs % 24) - 6.5) ** 2) / 18.0) * (1 - mountains)
    # Extra cold advected over the high summits in the cold wave (the 7th, morning).
    summit_cold = -4.0 * np.clip((km - 1.6) / 0.8, 0, 1) * np.exp(-((hrs - 55) ** 2) / 40.0)
    t2m = base - 6.5 * km + cold_pool + summit_cold + _smooth_noise(rng, (ny, nx), 0.8)[None]

    # Wind: light on the 5th, a gale behind the front on the 6th, summits stormy early on the 7th.
    wind_plain = _interp_hours(
        local_h,
        [(-4, 2), (24, 2.5), (32, 4), (38, 11), (44, 12), (52, 9), (60, 6), (72, 3), (80, 2.5)],
    )[:, None, None]
    summit_gust = 1 + 0.6 * mountains * (1 + 0.3 * zjk)
    wind = wind_plain * summit_gust
    wind *= 1 + 0.15 * np.clip((km - 1.8) / 0.5, 0, 1) * np.exp(-((hrs - 54) ** 2) / 30.0)
    wind = np.clip(wind + _smooth_noise(rng, (ny, nx), 0.6)[None], 0.3, None)
    direction = np.deg2rad(_interp_hours(local_h, [(-4, 200), (30, 220), (36, 300), (80, 320)]))[
        :, None, None
    ]  # meteorological, where the wind comes from
    u10 = -wind * np.sin(direction)
    v10 = -wind * np.cos(direction)

    # Cloud: overcast with snow until dawn on the 5th, clear day; frontal cloud on the 6th
    # (thicker over the mountains); clear on the 7th.
    cloud = _interp_hours(
        local_h,
        [
            (-4, 0.95),
            (3, 0.9),
            (7, 0.15),
            (10, 0.03),
            (30, 0.1),
            (34, 0.55),
            (40, 0.85),
            (46, 0.6),
            (50, 0.15),
            (54, 0.02),
            (80, 0.05),
        ],
    )[:, None, None]
    tcc = np.clip(cloud * (0.7 + 0.45 * mountains) + _smooth_noise(rng, (ny, nx), 0.05)[None], 0, 1)

    # Humidity: moist in the snow, drying behind the front, very dry in the cold wave.
    rh = _interp_hours(
        local_h,
        [
            (-4, 88),
            (5, 85),
            (12, 42),
            (24, 55),
            (34, 62),
            (40, 80),
            (48, 45),
            (56, 28),
            (66, 18),
            (80, 25),
        ],
    )[:, None, None]
    rh = np.clip(rh + 10 * mountains * (tcc > 0.6) + _smooth_noise(rng, (ny, nx), 4)[None], 8, 99)

    # Snowfall (mm/h water equivalent): overnight snow on the 5th (mountains more), snow showers
    # behind the front in Zhangjiakou and Yanqing on the 6th.
    snow_night = 0.6 * np.exp(-((hrs - 0) ** 2) / 12.0) * (0.4 + mountains)
    snow_front = 1.1 * np.exp(-((hrs - 40) ** 2) / 10.0) * mountains * (0.5 + zjk)
    snowfall = np.where(t2m < 1.0, snow_night + snow_front, 0.0)
    snowfall = np.where(snowfall < 0.02, 0.0, snowfall)
    precip = snowfall + np.where(t2m >= 1.0, 0.1 * snow_night, 0.0)

    # Snow depth (m): natural cover in the mountains, growing with snowfall (10:1 ratio).
    cover0 = 0.02 + 0.25 * mountains
    dt_h = np.gradient(local_h)[:, None, None]
    snow_depth = cover0 + np.cumsum(snowfall * dt_h, axis=0) * 0.010
    snow_depth = np.where(h[None] < 250, np.clip(snow_depth - 0.02, 0, None), snow_depth)

    # Visibility: poor in snow, worse in blowing snow.
    visibility = 20000.0 / (
        1 + 25 * snowfall + 2.0 * np.clip(wind - 10, 0, None) * (snow_depth > 0.05)
    )
    visibility = np.clip(visibility, 150, 30000)

    # Solar radiation: clear-sky global irradiance (Haurwitz 1945) reduced by cloud (Kasten &
    # Czeplak 1980), with a little more at altitude.
    cosz = cos_solar_zenith(times, lat, lon)
    with np.errstate(divide="ignore", invalid="ignore"):
        clear = np.where(cosz > 0.01, 1098 * cosz * np.exp(-0.057 / np.maximum(cosz, 0.01)), 0.0)
    rsds = clear * (1 - 0.75 * tcc**3.4) * (1 + 0.05 * km)

    msl = (
        100
        * _interp_hours(local_h, [(-4, 1021), (30, 1014), (38, 1009), (50, 1030), (80, 1036)])[
            :, None, None
        ]
    )
    msl = msl + 0 * t2m

    fields = {
        "t2m_degC": t2m,
        "rh_pct": rh,
        "u10_ms": u10,
        "v10_ms": v10,
        "tcc_frac": tcc,
        "rsds_wm2": rsds,
        "snow_depth_m": snow_depth,
        "snowfall_mmh": snowfall,
        "precip_mmh": precip,
        "visibility_m": visibility,
        "msl_pa": msl,
    }
    shape = (nt, ny, nx)
    fields = {k: np.broadcast_to(v, shape).astype(np.float32) for k, v in fields.items()}
    return fields, h.astype(np.float32)


def yulong_spring(lat: np.ndarray, lon: np.ndarray, times: pd.DatetimeIndex, seed: int):
    """A clear late-April day on Yulong Snow Mountain's glacier park (27.1 N, 100.2 E, ~4500 m):
    high sun, thin ozone and fresh snow give UV indices from 0 to well above 11 (WHO 2002, Global
    Solar UV Index: a practical guide: about +10 % per 1000 m of altitude, and fresh snow reflects
    up to 80 % of UV radiation)."""
    rng = np.random.default_rng(seed + 1)
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    h = 2400 + 2300 * np.exp(-((la - 27.10) ** 2 + (lo - 100.20) ** 2) / (2 * 0.12**2))
    h = (h + _smooth_noise(rng, h.shape, 80)).astype(np.float32)
    local_h = ((times - pd.Timestamp("2022-04-24T16:00")) / pd.Timedelta(hours=1)).values
    hrs = local_h[:, None, None]
    km = h[None] / 1000.0
    t2m = 18 + 6 * np.sin(2 * np.pi * (hrs - 9) / 24) - 6.5 * km
    wind = 3 + 5 * np.clip(km - 3, 0, None) + 0 * hrs
    tcc = np.clip(0.05 + 0.25 * np.exp(-((hrs % 24 - 17) ** 2) / 6) + 0 * km, 0, 1)
    rh = np.clip(35 + 20 * tcc + 0 * km, 5, 100)
    snow_depth = np.where(h[None] > 4000, 0.8, 0.0) + 0 * hrs
    snowfall = np.where((h[None] > 4000) & (np.abs(hrs - 2) < 3), 0.4, 0.0)
    cosz = cos_solar_zenith(times, lat, lon)
    with np.errstate(divide="ignore", invalid="ignore"):
        clear = np.where(cosz > 0.01, 1098 * cosz * np.exp(-0.057 / np.maximum(cosz, 0.01)), 0.0)
    rsds = clear * (1 - 0.75 * tcc**3.4) * (1 + 0.05 * km)
    ozone_du = 255 + 10 * np.cos(np.deg2rad(la))[None] + 0 * hrs
    theta = np.deg2rad(240.0)
    shape = (len(times), len(lat), len(lon))
    fields = {
        "t2m_degC": t2m,
        "rh_pct": rh,
        "u10_ms": -wind * np.sin(theta),
        "v10_ms": -wind * np.cos(theta),
        "tcc_frac": tcc,
        "rsds_wm2": rsds,
        "snow_depth_m": snow_depth,
        "snowfall_mmh": snowfall,
        "precip_mmh": snowfall,
        "visibility_m": np.where(snowfall > 0, 2500.0, 30000.0) + 0 * hrs,
        "ozone_du": ozone_du,
    }
    return {k: np.broadcast_to(v, shape).astype(np.float32) for k, v in fields.items()}, h


def to_cf_dataset(fields: dict, orog: np.ndarray, lat, lon, times, init) -> xr.Dataset:
    """CF-1.8 Dataset with CMIP-style names, standard names and units (what a CF producer writes)."""
    dims = ("time", "lat", "lon")
    spec = {
        "tas": ("t2m_degC", "air_temperature", "K", lambda a: a + 273.15),
        "hurs": ("rh_pct", "relative_humidity", "%", None),
        "uas": ("u10_ms", "eastward_wind", "m s-1", None),
        "vas": ("v10_ms", "northward_wind", "m s-1", None),
        "clt": ("tcc_frac", "cloud_area_fraction", "%", lambda a: a * 100.0),
        "rsds": ("rsds_wm2", "surface_downwelling_shortwave_flux_in_air", "W m-2", None),
        "snd": ("snow_depth_m", "surface_snow_thickness", "m", None),
        "prsn": ("snowfall_mmh", "snowfall_flux", "kg m-2 s-1", lambda a: a / 3600.0),
        "pr": ("precip_mmh", "precipitation_flux", "kg m-2 s-1", lambda a: a / 3600.0),
        "vis": ("visibility_m", "visibility_in_air", "m", None),
        "psl": ("msl_pa", "air_pressure_at_mean_sea_level", "Pa", None),
        "toz": (
            "ozone_du",
            "equivalent_thickness_at_stp_of_atmosphere_ozone_content",
            "m",
            lambda a: a * 1e-5,
        ),
    }
    data_vars = {}
    for name, (key, std, units, convert) in spec.items():
        if key not in fields:
            continue
        values = fields[key] if convert is None else convert(fields[key].astype(np.float64))
        attrs = {"standard_name": std, "units": units}
        if name in ("rsds", "prsn", "pr"):
            attrs["cell_methods"] = "time: mean (interval: 1 hour)"
        data_vars[name] = (dims, values.astype(np.float32), attrs)
    data_vars["orog"] = (
        ("lat", "lon"),
        orog.astype(np.float32),
        {"standard_name": "surface_altitude", "units": "m"},
    )
    ds = xr.Dataset(
        data_vars,
        coords={
            "time": ("time", times.values, {"standard_name": "time", "axis": "T"}),
            "lat": ("lat", lat, {"standard_name": "latitude", "units": "degrees_north"}),
            "lon": ("lon", lon, {"standard_name": "longitude", "units": "degrees_east"}),
            "forecast_reference_time": (
                (),
                np.datetime64(init, "ns"),
                {"standard_name": "forecast_reference_time"},
            ),
        },
        attrs={
            "Conventions": "CF-1.8",
            "title": "spectator-bulletin synthetic sample forecast",
            "source": "samples/make_samples.py (synthetic, seeded; not a real forecast)",
        },
    )
    return ds


def write_netcdf(ds: xr.Dataset, path: Path) -> None:
    encoding = {
        name: {
            "zlib": True,
            "complevel": 6,
            "dtype": "float32",
            "quantize_mode": "BitRound",
            "significant_digits": 12,
        }
        for name in ds.data_vars
    }
    tmp = path.with_suffix(".tmp.nc")
    ds.to_netcdf(tmp, engine="netcdf4", encoding=encoding)
    tmp.replace(path)


def write_ecmwf_grib(fields, orog, lat, lon, init, steps_h, path: Path) -> None:
    """ECMWF-style GRIB2 (2t 2d 10u 10v tcc ssrd sd sf tp msl + surface geopotential), with
    accumulations from step 0, as IFS open data would deliver them."""
    from grib_writer import write_grib

    dt = np.diff(steps_h, prepend=steps_h[0]).astype(np.float64)[:, None, None]

    def accumulate(rate_per_h, factor):
        return np.cumsum(rate_per_h.astype(np.float64) * dt * factor, axis=0)

    rho_snow = 250.0  # must match the reader's documented density for sd -> depth
    grib_fields = {
        "2t": fields["t2m_degC"] + 273.15,
        "2d": relative_to_dewpoint(fields["t2m_degC"], fields["rh_pct"]) + 273.15,
        "10u": fields["u10_ms"],
        "10v": fields["v10_ms"],
        "tcc": fields["tcc_frac"],
        "ssrd": accumulate(fields["rsds_wm2"], 3600.0),
        "sd": fields["snow_depth_m"] * rho_snow / 1000.0,
        "sf": accumulate(fields["snowfall_mmh"], 1e-3),
        "tp": accumulate(fields["precip_mmh"], 1e-3),
        "msl": fields["msl_pa"],
    }
    write_grib(
        path,
        grib_fields,
        lats=lat,
        lons=lon,
        init_time=init,
        steps_hours=steps_h,
        style="ecmwf",
        orography=orog,
    )


def main(out_dir: Path = HERE) -> None:
    init = pd.Timestamp("2022-02-04T12:00")
    steps_h = np.arange(0, 85)
    times = init + pd.to_timedelta(steps_h, unit="h")
    lat = np.round(np.arange(39.5, 41.5001, 0.1), 4)
    lon = np.round(np.arange(115.0, 117.0001, 0.1), 4)
    fields, orog = beijing_february(lat, lon, times, RNG_SEED)
    cf = to_cf_dataset(fields, orog, lat, lon, times, init)
    write_netcdf(cf, out_dir / "forecast_cf.nc")
    write_ecmwf_grib(fields, orog, lat, lon, init, steps_h, out_dir / "forecast_ecmwf.grib2")

    init_hl = pd.Timestamp("2022-04-24T12:00")
    steps_hl = np.arange(0, 37)
    times_hl = init_hl + pd.to_timedelta(steps_hl, unit="h")
    lat_hl = np.round(np.arange(26.8, 27.4001, 0.1), 4)
    lon_hl = np.round(np.arange(99.9, 100.5001, 0.1), 4)
    fields_hl, orog_hl = yulong_spring(lat_hl, lon_hl, times_hl, RNG_SEED)
    write_netcdf(
        to_cf_dataset(fields_hl, orog_hl, lat_hl, lon_hl, times_hl, init_hl),
        out_dir / "forecast_yulong_spring.nc",
    )
    for path in sorted(out_dir.glob("forecast_*")):
        print(f"{path.name}: {path.stat().st_size / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
