"""spectator-bulletin: forecast grids to spoken, presented spectator weather bulletins.

The Python API (the ``bulletin`` command line is a thin layer over it)::

    ds = bulletin.open_forecast(["forecast.grib2"])       # -> xarray.Dataset, internal schema
    table = bulletin.venue_table(ds, bulletin.load_catalogue())    # -> pandas.DataFrame
    grid = bulletin.compute_indices(ds)                    # six indices + levels on the grid
    daily = bulletin.summarize(table)                      # daily worst levels, local time
    day = bulletin.venue_day(table, venue, None)           # -> VenueDay (typed facts of a day)
    script = bulletin.render_script(day, venue, lang="zh")      # -> Script (display + speech text)
    spoken = bulletin.speak_script(script, "out/zh")            # speech.wav, timings, subtitles
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

# Heavy modules (xarray, dask, eccodes) load on first use, so `bulletin venues` stays quick.
_EXPORTS = {
    "open_forecast": "bulletin.forecast",
    "compute_indices": "bulletin.compute",
    "venue_table": "bulletin.extract",
    "extract_venues": "bulletin.extract",
    "write_grid_indices": "bulletin.grid_output",
    "summarize": "bulletin.summary",
    "venue_day": "bulletin.facts",
    "venue_days": "bulletin.facts",
    "overview": "bulletin.facts",
    "VenueDay": "bulletin.facts",
    "OverviewFacts": "bulletin.facts",
    "Venue": "bulletin.venues",
    "load_catalogue": "bulletin.venues",
    "load_venues_file": "bulletin.venues",
    "select_venues": "bulletin.venues",
    "render_script": "bulletin.script",
    "render_overview": "bulletin.script",
    "write_script": "bulletin.script",
    "Script": "bulletin.script",
    "synthesize": "bulletin.speech",
    "synthesize_many": "bulletin.speech",
    "write_subtitles": "bulletin.speech",
    "read_timings": "bulletin.speech",
    "forecast_table": "bulletin.pipeline",
    "make_script": "bulletin.pipeline",
    "speak_script": "bulletin.pipeline",
    "SpokenBulletin": "bulletin.pipeline",
    "read_forecast": "bulletin.pipeline",
    "build_venue_bulletin": "bulletin.unit",
    "BulletinError": "bulletin.errors",
    "ForecastError": "bulletin.errors",
    "VenueError": "bulletin.errors",
    "ScriptError": "bulletin.errors",
    "SpeechError": "bulletin.errors",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'bulletin' has no attribute {name!r}")
