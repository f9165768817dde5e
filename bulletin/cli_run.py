"""``bulletin run``: the full bulletin of some venues in some languages, one folder each.

``OUT/<venue_id>/<lang>/`` holds the files of :data:`bulletin.unit.UNIT_FILES`. The forecast is
read and the index table computed once for all venues; each venue x language is then built by
:func:`bulletin.unit.build_venue_bulletin` (atomically: a failure leaves no partial folder).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import click

log = logging.getLogger("bulletin.run")

LANG_CHOICES = ("zh", "en", "all")


@click.command("run")
@click.argument("forecast", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--venue",
    "venue_ids",
    multiple=True,
    required=True,
    metavar="ID",
    help="Venue id; repeat it for several venues.",
)
@click.option(
    "--lang",
    required=True,
    type=click.Choice(LANG_CHOICES),
    help="Language of the bulletins: zh, en or all (both).",
)
@click.option(
    "--avatar",
    default="default",
    show_default=True,
    metavar="default|procedural|PATH",
    help="Presenter: the shipped twin, the procedural presenter, or a twin checkpoint.",
)
@click.option(
    "--tts",
    type=click.Choice(["pyttsx3", "piper"]),
    default="pyttsx3",
    show_default=True,
    help="Speech engine: pyttsx3 on espeak-ng (zh, en) or piper (en).",
)
@click.option("--voice", default=None, metavar="NAME", help="Voice (default: the language's).")
@click.option(
    "--date",
    metavar="YYYY-MM-DD",
    default=None,
    help="Local day (default: the first full local day in the forecast).",
)
@click.option(
    "--templates",
    "templates_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder of templates (and wording.toml) overriding the shipped ones by name.",
)
@click.option(
    "--venues-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="CSV (id,name,lat,lon,elevation_m[,name_zh,timezone]) replacing the catalogue.",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    metavar="OUT",
    help="Output root: OUT/<venue_id>/<lang>/ per bulletin.",
)
def run_command(
    forecast: tuple[Path, ...],
    venue_ids: tuple[str, ...],
    lang: str,
    avatar: str,
    tts: str,
    voice: str | None,
    date: str | None,
    templates_dir: Path | None,
    venues_file: Path | None,
    output: Path,
) -> None:
    """Write the bulletin video, speech, script, chart and poster of venues.

    FORECAST: one or more NetCDF, GRIB2 or Zarr forecast files (merged).
    """
    from avatar.render import resolve_avatar

    from .cli import _load_venues
    from .pipeline import prepare_folder
    from .script import check_templates, parse_date
    from .speech import check_request

    # Everything that can be checked quickly is checked before the forecast is read.
    languages = ("zh", "en") if lang == "all" else (lang,)
    venues = _load_venues(venues_file, venue_ids)
    parse_date(date)
    resolve_avatar(avatar)
    for language in languages:
        check_request(language, engine=tts, voice=voice)
        check_templates(templates_dir, lang=language, kind="venue")
    prepare_folder(output)

    from . import compute_indices, open_forecast, venue_table
    from .daily.run import forecast_init
    from .unit import build_venue_bulletin

    log.info("reading %s", ", ".join(str(p) for p in forecast))
    dataset = open_forecast(list(forecast))
    init = forecast_init(dataset)
    table = venue_table(compute_indices(dataset), venues)
    log.info("forecast %s: %d venue(s) x %s", init.strftime("%Y-%m-%d %H:%MZ"), len(venues),
             "+".join(languages))  # fmt: skip
    for venue in venues:
        for language in languages:
            started = time.perf_counter()
            result = build_venue_bulletin(
                table,
                venue,
                language,
                output / venue.id / language,
                avatar=avatar,
                tts=tts,
                voice=voice,
                date=date,
                forecast_init=init,
                templates_dir=templates_dir,
            )
            wall = time.perf_counter() - started
            log.info(
                "wrote %s (%.1f s of speech in %.1f s, %.2fx real time)",
                result.folder,
                result.speech_seconds,
                wall,
                wall / result.speech_seconds,
            )
