"""Goggles index (护目镜指数): ocular UV, glare, falling/blowing snow and flat light.

**Our proposal**: no standard for a goggles index was found. Physical anchors:

* photokeratitis (snow blindness) from UV reflected by snow: fresh snow reflects up to 80 %
  of UV (WHO 2002, Global Solar UV Index: A Practical Guide); ocular exposure is dominated by
  diffuse and ground-reflected UV because the brow shades the overhead sun;
* ICNIRP (2004), Guidelines on limits of exposure to ultraviolet radiation of wavelengths
  between 180 nm and 400 nm, Health Phys. 87, 171-186 (30 J/m² effective per 8 h);
* ISO 12312-1 / ISO 18527-1 (sunglasses; ski and snowboard goggles) filter categories by
  luminous transmittance: S0 80-100 %, S1 43-80 %, S2 18-43 %, S3 8-18 %, S4 3-8 % (S4 not
  for driving); UV400 required in every category.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

from ._arrays import as_float, check_range, elementwise, flat_as, float_dtype

#: Ocular UV index edges for 1, 2, 3 points (our proposal: WHO moderate/high at the eye).
OCULAR_UV_EDGES = (2.0, 4.0, 6.0)
#: Falling snow from 0.1 mm/h (water equivalent); blowing snow from 8 m/s at 10 m over snow
#: cover (our proposal; drifting snow starts near 5-8 m/s over loose snow).
SNOWFALL_MMH = 0.1
BLOWING_SNOW_WIND_MS = 8.0
#: Flat light / whiteout: visibility below 1 km (fog by the WMO definition).
FLAT_LIGHT_VISIBILITY_M = 1000.0
#: Snow glare: sun up, total cloud below 0.3 (clear to few clouds) over snow cover.
GLARE_MAX_CLOUD = 0.3
#: Overcast (US EPA "overcast/broken" upper class starts at 0.7): dull light, S1 lens.
DULL_LIGHT_CLOUD = 0.7
#: Ocular UV index from which glare on snow calls for the darkest lens (S4).
S4_OCULAR_UV = 6.0


@elementwise("uvi_no_snow", "snow_albedo")
def ocular_uv(uvi_no_snow: ArrayLike, snow_albedo: ArrayLike) -> NDArray[np.floating]:
    """UV index relevant to the eyes, including the ground-reflected component:
    ``UVI_eye = UVI × (1 + albedo)`` (our proposal on WHO 2002: snow reflects
    up to 80 % of UV, and the eye sees the ground more than the sky).

    ``uvi_no_snow``: all-sky UVI without the snow multiple-reflection factor (e.g.
    :func:`bulletin.indices.uv_index` with zero snow depth); ``snow_albedo``: surface UV albedo
    0..1 (:func:`bulletin.indices.snow_albedo`).
    """
    dtype = float_dtype(uvi_no_snow, snow_albedo)
    uvi = as_float(uvi_no_snow, dtype)
    albedo = as_float(snow_albedo, dtype)
    check_range("ocular_uv", "uvi_no_snow", uvi, -0.5, 100.0, "")
    check_range("ocular_uv", "snow_albedo", albedo, 0.0, 1.0, "")
    out = albedo + dtype.type(1.0)
    if out.shape == np.broadcast_shapes(out.shape, uvi.shape):
        return np.multiply(out, uvi, out=out)
    return np.multiply(out, uvi, dtype=dtype)


class _Drivers:
    """The seven goggles drivers, checked, as flat same-length arrays (each in its own float
    dtype, snow cover as given), and the thresholds in each driver's dtype (as numpy compares
    an array with a Python number)."""

    def __init__(
        self,
        name,
        uvi_eye,
        snowfall_mmh,
        v10_ms,
        snow_cover,
        visibility_m,
        sun_elevation_deg,
        tcc_fraction,
    ):
        cover = np.asarray(snow_cover)
        if cover.dtype.kind not in "bf":
            cover = cover.astype(np.float64)
        checks = (
            ("uvi_eye", uvi_eye, -0.5, 200.0, "", ""),
            ("snowfall_mmh", snowfall_mmh, 0.0, 500.0, "mm/h", ""),
            ("v10_ms", v10_ms, 0.0, 150.0, "m/s", ""),
            ("visibility_m", visibility_m, 0.0, None, "m", ""),
            ("sun_elevation_deg", sun_elevation_deg, -90.0, 90.0, "degrees", ""),
            ("tcc_fraction", tcc_fraction, -0.01, 1.01, "", "cloud fraction 0..1 expected"),
        )
        arrays = []
        for label, raw, low, high, unit, hint in checks:  # checked before broadcasting
            # Each driver keeps its own float dtype: only comparisons follow, so a float64
            # field among float32 ones needs no copies.
            array = as_float(raw, float_dtype(raw))
            check_range(name, label, array, low, high, unit, hint)
            arrays.append(array)
        arrays.append(cover)
        self.shape = np.broadcast_shapes(*(a.shape for a in arrays))
        uvi, snowfall, wind, visibility, elevation, cloud, cover = (
            flat_as(a, self.shape) for a in arrays
        )
        self.arrays = (uvi, snowfall, wind, cover, visibility, elevation, cloud)
        self.thresholds = (
            *(uvi.dtype.type(edge) for edge in (*OCULAR_UV_EDGES, S4_OCULAR_UV)),
            snowfall.dtype.type(SNOWFALL_MMH),
            wind.dtype.type(BLOWING_SNOW_WIND_MS),
            cover.dtype.type(0.5) if cover.dtype.kind == "f" else True,
            visibility.dtype.type(FLAT_LIGHT_VISIBILITY_M),
            elevation.dtype.type(0.0),
            cloud.dtype.type(GLARE_MAX_CLOUD),
            cloud.dtype.type(DULL_LIGHT_CLOUD),
        )

    def compute(self) -> tuple[NDArray[np.int8], NDArray[np.int8]]:
        """Level and lens (see :func:`_goggles_kernel`), shaped as the drivers."""
        size = int(np.prod(self.shape))
        level, lens = np.empty(size, dtype=np.int8), np.empty(size, dtype=np.int8)
        _goggles_kernel(*self.arrays, *self.thresholds, level, lens)
        return level.reshape(self.shape), lens.reshape(self.shape)


@njit(nogil=True, cache=True, error_model="numpy")
def _goggles_kernel(
    uvi,
    snowfall,
    wind,
    cover,
    visibility,
    elevation,
    cloud,
    uv1,
    uv2,
    uv3,
    uv_s4,
    snowing_mmh,
    blowing_ms,
    covered_from,
    flat_light_m,
    horizon,
    glare_cloud,
    dull_cloud,
    level_out,
    lens_out,
):  # pragma: no cover - compiled
    """Goggles level (:func:`goggles_level`) and lens (:func:`goggles_lens`) per point of
    flat arrays, written without branches (0/1 arithmetic) so that the loop vectorises.

    Derived conditions: snow cover (``cover >= covered_from``; a boolean cover is itself),
    day (elevation > horizon), flat light (visibility < flat_light_m), snow glare (day, cloud
    < glare_cloud, snow cover), falling or blowing snow (snowfall >= snowing_mmh, or wind >=
    blowing_ms over snow cover), dull light (flat light or cloud > dull_cloud). NaN in any
    driver gives -1 for both."""
    for i in range(uvi.shape[0]):
        u = uvi[i]
        fall = snowfall[i]
        w = wind[i]
        c = cover[i]
        v = visibility[i]
        e = elevation[i]
        sky = cloud[i]
        missing = (u != u) | (fall != fall) | (w != w) | (c != c) | (v != v) | (e != e)
        missing = missing | (sky != sky)
        covered = np.int8(c >= covered_from)
        day = np.int8(e > horizon)
        low_visibility = np.int8(v < flat_light_m)
        glare = np.int8(sky < glare_cloud) & day & covered
        snowing = np.int8(fall >= snowing_mmh) | (np.int8(w >= blowing_ms) & covered)
        level = 1 + np.int8(u >= uv1) + np.int8(u >= uv2) + np.int8(u >= uv3)
        level = level + snowing + (low_visibility & day)
        level = min(level, 4)
        level = max(level, glare + 1)
        dull = low_visibility | np.int8(sky > dull_cloud)
        bright = glare + 1 + (glare & np.int8(u >= uv_s4))
        lens = (bright * (1 - dull) + 1) * day
        level_out[i] = -1 if missing else level
        lens_out[i] = -1 if missing else lens


@elementwise(
    "uvi_eye",
    "snowfall_mmh",
    "v10_ms",
    "snow_cover",
    "visibility_m",
    "sun_elevation_deg",
    "tcc_fraction",
)
def goggles_level(
    uvi_eye: ArrayLike,
    snowfall_mmh: ArrayLike,
    v10_ms: ArrayLike,
    snow_cover: ArrayLike,
    visibility_m: ArrayLike,
    sun_elevation_deg: ArrayLike,
    tcc_fraction: ArrayLike,
) -> NDArray[np.int8]:
    """Goggles level 1..4 (int8; -1 where a driver is NaN). **Our proposal**:

    points = ocular UV (UVI_eye >= 2 / 4 / 6 -> 1 / 2 / 3)
           + 1 for falling snow (>= 0.1 mm/h) or blowing snow (V10 >= 8 m/s over snow cover)
           + 1 for flat light (visibility < 1000 m) in daylight;
    level = min(4, 1 + points), at least 2 under snow glare (sun up, cloud < 0.3, snow cover).

    1 可不戴/普通太阳镜, 2 建议佩戴 (S2), 3 应佩戴护目镜 (UV400, wrap-around),
    4 必须佩戴高防护护目镜 (S3-S4). At night (sun elevation <= 0) the UV and flat-light points
    vanish, so the level is 1, or 2 with falling/blowing snow (counting flat light only in daylight is our choice, since it is a contrast problem of
    daylight).

    Parameters: uvi_eye (:func:`ocular_uv`), snowfall_mmh (mm/h water equivalent), v10_ms
    (m/s), snow_cover (bool, or fraction counted from 0.5), visibility_m (m; pass a large
    value when unknown), sun_elevation_deg (degrees), tcc_fraction (0..1).
    """
    d = _Drivers(
        "goggles_level",
        uvi_eye,
        snowfall_mmh,
        v10_ms,
        snow_cover,
        visibility_m,
        sun_elevation_deg,
        tcc_fraction,
    )
    return d.compute()[0]


@elementwise(
    "uvi_eye",
    "snowfall_mmh",
    "v10_ms",
    "snow_cover",
    "visibility_m",
    "sun_elevation_deg",
    "tcc_fraction",
)
def goggles_lens(
    uvi_eye: ArrayLike,
    snowfall_mmh: ArrayLike,
    v10_ms: ArrayLike,
    snow_cover: ArrayLike,
    visibility_m: ArrayLike,
    sun_elevation_deg: ArrayLike,
    tcc_fraction: ArrayLike,
) -> NDArray[np.int8]:
    """Recommended goggle filter category 0..4 meaning S0..S4 (int8; -1 where a driver is
    NaN), same arguments as :func:`goggles_level`. **Our proposal**, whose
    ranges map to one category as follows (first matching row):

    ======================================  ============  =====================================
    condition                               proposed      single category (why)
    ======================================  ============  =====================================
    sun down (elevation <= 0)               night rule    S0 clear lens
    visibility < 1000 m                     S1            S1: flat light, keep contrast
    cloud > 0.7                             S1-S2         S1: dull light (lighter end)
    snow glare and UVI_eye >= 6             S3-S4         S4: exceptional glare (darker end;
                                                          ISO 12312-1: not for driving)
    snow glare                              S2-S3         S3: strong glare (darker end)
    otherwise (daylight, no snow glare)     S2-S3         S2: medium light (lighter end)
    ======================================  ============  =====================================

    Snow glare: sun up, cloud < 0.3 and snow cover. Every category must block UV (UV400).
    """
    d = _Drivers(
        "goggles_lens",
        uvi_eye,
        snowfall_mmh,
        v10_ms,
        snow_cover,
        visibility_m,
        sun_elevation_deg,
        tcc_fraction,
    )
    return d.compute()[1]


@elementwise(
    "uvi_eye",
    "snowfall_mmh",
    "v10_ms",
    "snow_cover",
    "visibility_m",
    "sun_elevation_deg",
    "tcc_fraction",
)
def goggles_level_and_lens(
    uvi_eye: ArrayLike,
    snowfall_mmh: ArrayLike,
    v10_ms: ArrayLike,
    snow_cover: ArrayLike,
    visibility_m: ArrayLike,
    sun_elevation_deg: ArrayLike,
    tcc_fraction: ArrayLike,
) -> dict[str, NDArray[np.int8]]:
    """``{"level": goggles_level(...), "lens": goggles_lens(...)}`` of the same arguments,
    sharing the input checks and the derived conditions (glare, snow, flat light, day)."""
    d = _Drivers(
        "goggles_level_and_lens",
        uvi_eye,
        snowfall_mmh,
        v10_ms,
        snow_cover,
        visibility_m,
        sun_elevation_deg,
        tcc_fraction,
    )
    level, lens = d.compute()
    return {"level": level, "lens": lens}
