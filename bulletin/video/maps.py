"""Maps of the venues over the forecast's own terrain, for the overview video.

Everything is drawn from data passed in (no file is read here, no basemap is fetched): the
model's surface height (:class:`Terrain`, from the forecast's ``orography`` field:
:func:`terrain_from_forecast`) shaded with matplotlib's :class:`~matplotlib.colors.LightSource`
(Lambertian hillshade, light from the north-west at 45 degrees, as matplotlib's default), and
the venues (:class:`MapVenue`) as dots in the colour of their spectator level
(:data:`bulletin.indices.LEVEL_NAMES`), with a legend naming the levels shown.

The base picture is drawn once (:func:`render_venue_map`); the venue being spoken about is
then marked on a copy with Pillow (:meth:`VenueMap.highlighted`), so a video with many
sentences draws the map once. Text is at least :data:`bulletin.video.chart.MIN_FONT_PX` pixels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

from .cards import drawable, hex_rgb, text_on
from .chart import MIN_FONT_PX
from .fonts import VideoError, cjk_font, font

#: Degrees of latitude/longitude shown around the venues (our choice: the venues of one region
#: with the mountains around them), and the terrain taken around them (enough to fill a
#: 16:10 panel around a tall or wide group of venues).
MAP_MARGIN_DEG = 0.25
TERRAIN_MARGIN_DEG = 1.5
#: Terrain points per side after smoothing a coarse grid (our choice: model grids of 0.1
#: degrees and coarser would show as blocks on a 720-pixel map).
SMOOTH_POINTS = 240
#: Degrees around a venue its index-field map shows (our choice: the venue's valley and the
#: ridges around it on a regional model grid).
FIELD_MARGIN_DEG = 1.0
#: The most grid points drawn along a side (our choice: a coarser view of a bigger grid; the
#: map is at most 720 pixels wide).
MAX_POINTS = 360
HIGHLIGHT = (255, 212, 0)  # the yellow of the highlighted card (bulletin.video.cards)
_DPI = 72


@dataclass(frozen=True)
class Terrain:
    """The model's surface height (m) on its grid: ``latitude``, ``longitude`` and
    ``height_m`` are 2-D arrays of one shape (rows south to north for a regular grid)."""

    latitude: np.ndarray
    longitude: np.ndarray
    height_m: np.ndarray

    def __post_init__(self) -> None:
        shapes = {np.shape(self.latitude), np.shape(self.longitude), np.shape(self.height_m)}
        if len(shapes) != 1 or len(next(iter(shapes))) != 2:
            raise VideoError(f"terrain arrays must be 2-D of one shape, got {sorted(shapes)}")


@dataclass(frozen=True)
class MapVenue:
    """A venue on the map: where it is, its label, and its spectator level."""

    venue_id: str
    label: str
    latitude: float
    longitude: float
    level_name: str
    colour: str  # "#rrggbb" of the level


@dataclass(frozen=True)
class VenueMap:
    """A drawn map: the picture and each venue's position on it in pixels."""

    image: Image.Image
    positions: dict[str, tuple[float, float]] = field(default_factory=dict)
    venues: tuple[MapVenue, ...] = ()

    def highlighted(self, venue_ids: Sequence[str]) -> Image.Image:
        """A copy with the venues ``venue_ids`` ringed in yellow and labelled with their name
        and level (the label kept inside the picture)."""
        image = self.image.copy()
        draw = ImageDraw.Draw(image)
        by_id = {venue.venue_id: venue for venue in self.venues}
        label_font = font(MIN_FONT_PX + 4, bold=True)
        for venue_id in venue_ids:
            if venue_id not in self.positions:
                continue
            x, y = self.positions[venue_id]
            draw.ellipse((x - 17, y - 17, x + 17, y + 17), outline=(0, 0, 0), width=7)
            draw.ellipse((x - 16, y - 16, x + 16, y + 16), outline=HIGHLIGHT, width=5)
            venue = by_id[venue_id]
            text = drawable(f"{venue.label}  {venue.level_name}")
            width = draw.textlength(text, font=label_font) + 20
            height = label_font.size + 14
            left = min(max(4, x - width / 2), image.width - width - 4)
            top = y - 26 - height if y - 26 - height > 4 else y + 26
            draw.rounded_rectangle((left, top, left + width, top + height), 8,
                                   fill=hex_rgb(venue.colour), outline=HIGHLIGHT, width=3)  # fmt: skip
            draw.text((left + width / 2, top + height / 2), text, font=label_font,
                      fill=text_on(venue.colour), anchor="mm")  # fmt: skip
        return image


def terrain_from_forecast(dataset, venues_lat_lon: Sequence[tuple[float, float]]) -> Terrain | None:
    """The forecast's ``orography`` around the venues (:data:`TERRAIN_MARGIN_DEG`), thinned to at
    most :data:`MAX_POINTS` per side; ``None`` when the forecast has no orography or is on an
    unstructured grid (a ``cell`` dimension: no rows and columns to shade). ``dataset`` is
    the opened forecast (:func:`bulletin.open_forecast`: regular ``latitude``/``longitude``
    or structured ``y``/``x`` with 2-D coordinates)."""
    if "orography" not in dataset or not venues_lat_lon:
        return None
    height = dataset["orography"]
    extra = [d for d in height.dims if d not in ("latitude", "longitude", "y", "x")]
    if "cell" in height.dims:
        return None
    height = height.isel({d: 0 for d in extra})
    lats = [lat for lat, _ in venues_lat_lon]
    lons = [lon for _, lon in venues_lat_lon]
    south, north = min(lats) - TERRAIN_MARGIN_DEG, max(lats) + TERRAIN_MARGIN_DEG
    west, east = min(lons) - TERRAIN_MARGIN_DEG, max(lons) + TERRAIN_MARGIN_DEG
    if "latitude" in height.dims:  # regular grid, ascending coordinates
        box = height.sel(latitude=slice(south, north), longitude=slice(west, east))
        if box.sizes["latitude"] < 2 or box.sizes["longitude"] < 2:
            return None
        step = max(1, math.ceil(max(box.shape) / MAX_POINTS))
        box = box.isel(latitude=slice(None, None, step), longitude=slice(None, None, step))
        lon2d, lat2d = np.meshgrid(box["longitude"].values, box["latitude"].values)
        values = box.transpose("latitude", "longitude").values
    else:  # structured: the rows and columns whose points fall in the box
        lat = np.asarray(dataset["latitude"].values)
        lon = np.asarray(dataset["longitude"].values)
        inside = (lat >= south) & (lat <= north) & (lon >= west) & (lon <= east)
        rows, cols = np.nonzero(inside)
        if rows.size == 0:
            return None
        r0, r1, c0, c1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
        step = max(1, math.ceil(max(r1 - r0, c1 - c0) / MAX_POINTS))
        pick = (slice(r0, r1, step), slice(c0, c1, step))
        lat2d, lon2d = lat[pick], lon[pick]
        values = height.transpose("y", "x").values[pick]
        if min(values.shape) < 2:
            return None
    return Terrain(
        latitude=np.asarray(lat2d, dtype="float64"),
        longitude=np.asarray(lon2d, dtype="float64"),
        height_m=np.asarray(values, dtype="float64"),
    )


def smoothed(terrain: Terrain) -> Terrain:
    """The terrain on a finer grid (cubic spline of the heights, linear coordinates:
    :func:`scipy.ndimage.zoom`) when it has fewer than :data:`SMOOTH_POINTS` points a side."""
    from scipy.ndimage import zoom

    factor = SMOOTH_POINTS / max(terrain.height_m.shape)
    if factor <= 1.0:
        return terrain
    height = np.where(np.isfinite(terrain.height_m), terrain.height_m,
                      np.nanmin(terrain.height_m))  # fmt: skip
    return Terrain(
        latitude=zoom(terrain.latitude, factor, order=1, mode="nearest", grid_mode=False),
        longitude=zoom(terrain.longitude, factor, order=1, mode="nearest", grid_mode=False),
        height_m=zoom(height, factor, order=3, mode="nearest", grid_mode=False),
    )


def hillshade(terrain: Terrain) -> np.ndarray:
    """RGB (rows, cols, 3) floats in 0..1: the terrain coloured by height (the land part of
    matplotlib's ``gist_earth``: greens to browns to white) and shaded by
    :class:`matplotlib.colors.LightSource` (azimuth 315, altitude 45, its defaults), with the
    grid spacing in metres so the relief is true to scale (vertical exaggeration 3, our
    choice: model orography is smooth)."""
    from matplotlib import colormaps
    from matplotlib.colors import LightSource, ListedColormap

    height = np.where(np.isfinite(terrain.height_m), terrain.height_m, np.nanmin(terrain.height_m))
    metres_per_degree = 111_195.0  # a degree of a great circle on the 6,371 km sphere
    mid_lat = float(np.nanmean(terrain.latitude))
    dy = abs(float(np.nanmean(np.diff(terrain.latitude, axis=0)))) * metres_per_degree
    dx = abs(float(np.nanmean(np.diff(terrain.longitude, axis=1)))) * metres_per_degree
    dx *= math.cos(math.radians(mid_lat))
    land = ListedColormap(colormaps["gist_earth"](np.linspace(0.3, 0.95, 256)))
    light = LightSource(azdeg=315, altdeg=45)
    rgb = light.shade(height, cmap=land, vert_exag=3.0, dx=dx or 1.0, dy=dy or 1.0,
                      blend_mode="soft", vmin=float(height.min()),
                      vmax=float(height.max()) + 1.0)  # fmt: skip
    return rgb[..., :3] * 0.85  # a little darker: the venue dots and labels stand out


def render_venue_map(
    terrain: Terrain | None,
    venues: Sequence[MapVenue],
    size: tuple[int, int],
) -> VenueMap:
    """The map of ``venues`` over ``terrain`` (plain dark ground without one), ``size`` =
    (width, height) pixels, with a legend of the spectator levels shown."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.lines import Line2D

    if not venues:
        raise VideoError("the map has no venues")
    width, height = size
    fig = Figure(figsize=(width / _DPI, height / _DPI), dpi=_DPI, facecolor="#101820")
    canvas = FigureCanvasAgg(fig)
    legend_band = (MIN_FONT_PX + 16) / height  # one line of level names under the map
    ax = fig.add_axes((0.0, legend_band, 1.0, 1.0 - legend_band))
    ax.set_facecolor("#1d2733")
    ax.set_axis_off()
    lats = [v.latitude for v in venues]
    lons = [v.longitude for v in venues]
    if terrain is not None:
        fine = smoothed(terrain)
        ax.pcolormesh(fine.longitude, fine.latitude, hillshade(fine), shading="nearest",
                      rasterized=True)  # fmt: skip
    south, north = min(lats) - MAP_MARGIN_DEG, max(lats) + MAP_MARGIN_DEG
    west, east = min(lons) - MAP_MARGIN_DEG, max(lons) + MAP_MARGIN_DEG
    # Equal distances on the ground at the map's middle latitude: widen the shorter side.
    squeeze = math.cos(math.radians((south + north) / 2))
    box_ratio = width / (height * (1.0 - legend_band))
    span_x, span_y = (east - west) * squeeze, north - south
    if span_x / span_y < box_ratio:
        grow = (span_y * box_ratio / squeeze - (east - west)) / 2
        west, east = west - grow, east + grow
    else:
        grow = (span_x / box_ratio - span_y) / 2
        south, north = south - grow, north + grow
    ax.set_xlim(west, east)
    ax.set_ylim(south, north)
    for venue in venues:
        ax.plot(venue.longitude, venue.latitude, marker="o", ms=15, mfc=venue.colour,
                mec="#101820", mew=2.5, zorder=3)  # fmt: skip
    prop = FontProperties(fname=str(cjk_font().path), size=MIN_FONT_PX)
    shown = dict.fromkeys((v.level_name, v.colour) for v in venues)
    handles = [
        Line2D([], [], ls="", marker="o", ms=14, mfc=colour, mec="#101820", label=drawable(name))
        for name, colour in shown
    ]
    legend = fig.legend(handles=handles, loc="lower center", ncols=len(handles), prop=prop,
                        frameon=False, borderaxespad=0.2, columnspacing=1.2,
                        handletextpad=0.3)  # fmt: skip
    for text in legend.get_texts():
        text.set_color("#e8eef4")
    canvas.draw()
    image = Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3].copy())
    positions = {}
    for venue in venues:
        x, y = ax.transData.transform((venue.longitude, venue.latitude))
        positions[venue.venue_id] = (float(x), float(height - y))
    return VenueMap(image=image, positions=positions, venues=tuple(venues))


@dataclass(frozen=True)
class LevelField:
    """The levels of one index on the grid at one time: 2-D ``latitude``, ``longitude`` and
    ``levels`` (NaN where there is none), and the time they are valid, as shown (``when``)."""

    index: str
    latitude: np.ndarray
    longitude: np.ndarray
    levels: np.ndarray
    when: str


def level_field_from_indices(
    indices, index: str, time, centre: tuple[float, float], margin_deg: float = FIELD_MARGIN_DEG
) -> LevelField | None:
    """The field ``<index>_level`` of the grid indices (:func:`bulletin.compute_indices`) at
    the valid ``time`` (numpy datetime64 or a string xarray reads), within ``margin_deg`` of
    ``centre`` (latitude, longitude); ``None`` on an unstructured grid or without the field."""
    name = f"{index}_level"
    if name not in indices or "cell" in indices[name].dims:
        return None
    field = indices[name].sel(time=time, method="nearest")
    field = field.isel({d: 0 for d in field.dims if d not in ("latitude", "longitude", "y", "x")})
    lat, lon = centre
    if "latitude" in field.dims:
        box = field.sel(latitude=slice(lat - margin_deg, lat + margin_deg),
                        longitude=slice(lon - margin_deg, lon + margin_deg))  # fmt: skip
        if min(box.shape) < 2:
            return None
        lon2d, lat2d = np.meshgrid(box["longitude"].values, box["latitude"].values)
        values = box.transpose("latitude", "longitude").values
    else:
        lat2d_all = np.asarray(indices["latitude"].values)
        lon2d_all = np.asarray(indices["longitude"].values)
        inside = (np.abs(lat2d_all - lat) <= margin_deg) & (np.abs(lon2d_all - lon) <= margin_deg)
        rows, cols = np.nonzero(inside)
        if rows.size == 0:
            return None
        pick = (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
        lat2d, lon2d = lat2d_all[pick], lon2d_all[pick]
        values = field.transpose("y", "x").values[pick]
        if min(values.shape) < 2:
            return None
    when = np.datetime_as_string(np.datetime64(field["time"].values, "m")).replace("T", " ")
    when += " UTC"
    return LevelField(
        index=index,
        latitude=np.asarray(lat2d, dtype="float64"),
        longitude=np.asarray(lon2d, dtype="float64"),
        levels=np.asarray(values, dtype="float64"),
        when=when,
    )


def render_level_field(
    field: LevelField,
    venue: MapVenue,
    size: tuple[int, int],
    level_names: dict[int, tuple[str, str]],
    *,
    title: str = "",
) -> Image.Image:
    """The map of ``field`` around ``venue``: each grid cell in its level's colour, the venue
    ringed and named, a title line (``title`` and the valid time) and a legend naming the
    levels the map shows (``level_names``: level -> (name, "#rrggbb"), e.g. from
    :data:`bulletin.indices.LEVEL_NAMES` in the bulletin's language)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.patches import Patch

    width, height = size
    levels = sorted(level_names)
    if not levels:
        raise VideoError(f"no level names for the map of {field.index}")
    fig = Figure(figsize=(width / _DPI, height / _DPI), dpi=_DPI, facecolor="#101820")
    canvas = FigureCanvasAgg(fig)
    prop = FontProperties(fname=str(cjk_font().path), size=MIN_FONT_PX)
    present = sorted({int(v) for v in field.levels[np.isfinite(field.levels)]} & set(levels))
    # The legend's lines: as many as the level names need, at MIN_FONT_PX.
    legend_columns = 2 if any(len(level_names[k][0]) > 12 for k in present) else 3
    legend_lines = max(1, math.ceil(len(present) / legend_columns))
    legend_band = (legend_lines * (MIN_FONT_PX + 10) + 8) / height
    title_band = (MIN_FONT_PX + 16) / height
    ax = fig.add_axes((0.0, legend_band, 1.0, 1.0 - legend_band - title_band))
    ax.set_axis_off()
    ax.set_facecolor("#1d2733")
    cmap = ListedColormap([level_names[k][1] for k in levels]).with_extremes(bad="#1d2733")
    norm = BoundaryNorm([k - 0.5 for k in levels] + [levels[-1] + 0.5], cmap.N)
    ax.pcolormesh(field.longitude, field.latitude, np.ma.masked_invalid(field.levels),
                  cmap=cmap, norm=norm, shading="nearest", alpha=0.9)  # fmt: skip
    south, north = float(np.nanmin(field.latitude)), float(np.nanmax(field.latitude))
    west, east = float(np.nanmin(field.longitude)), float(np.nanmax(field.longitude))
    ax.set_xlim(west, east)
    ax.set_ylim(south, north)
    ax.plot(venue.longitude, venue.latitude, marker="o", ms=16, mfc="none", mec="#ffd400",
            mew=4, zorder=3)  # fmt: skip
    ax.annotate(drawable(venue.label), (venue.longitude, venue.latitude), xytext=(0, 18),
                textcoords="offset points", ha="center", fontproperties=prop, color="#ffffff",
                bbox={"boxstyle": "round", "fc": "#101820", "ec": "#ffd400"})  # fmt: skip
    heading = f"{title}  {field.when}".strip()
    fig.text(0.5, 1.0 - 6 / height, drawable(heading), ha="center", va="top", color="#ffffff",
             fontproperties=prop)  # fmt: skip
    handles = [
        Patch(facecolor=level_names[k][1], edgecolor="#101820", label=drawable(level_names[k][0]))
        for k in present
    ]
    if handles:
        legend = fig.legend(handles=handles, loc="lower center", ncols=legend_columns, prop=prop,
                            frameon=False, borderaxespad=0.2, columnspacing=1.0,
                            handletextpad=0.4)  # fmt: skip
        for text in legend.get_texts():
            text.set_color("#e8eef4")
    canvas.draw()
    return Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3].copy())
