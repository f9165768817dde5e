"""``bulletin run``: the full bulletin of some venues in some languages, one folder each.

``OUT/<venue_id>/<lang>/`` (:func:`bulletin.unit.unit_folder`) holds the files of
:data:`bulletin.unit.UNIT_FILES`. The forecast is read and the venue table made once for all
venues (:func:`bulletin.pipeline.read_forecast`); each venue x language is then built by
:func:`bulletin.unit.build_venue_bulletin` (atomically: a failure leaves no partial folder).
The temporary folders a killed run left for these units are removed first
(:func:`bulletin.unit.remove_stale_units`).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import click

from .cli_options import (
    avatar_option,
    check_folder_output,
    date_option,
    lang_option,
    languages_of,
    latest_run_option,
    load_venues,
    loudness_option,
    templates_option,
    tts_option,
    venue_option,
    venues_file_option,
    voice_option,
)

log = logging.getLogger("bulletin.run")


@click.command("run")
@click.argument("forecast", nargs=-1, required=True, type=click.Path(path_type=Path))
@venue_option(required=True, help="Venue id; repeat it for several venues; all: every venue.")
@lang_option(help="Language of the bulletins: zh, en or all (both).")
@avatar_option
@tts_option("tts", help="Speech engine.")
@voice_option
@loudness_option
@date_option
@templates_option
@venues_file_option
@latest_run_option
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path, file_okay=False, allow_dash=True),
    metavar="OUT",
    help="Output root: OUT/<venue_id>/<lang>/ per bulletin (a folder: not '-').",
)
def run_command(
    forecast: tuple[Path, ...],
    venue_ids: tuple[str, ...],
    lang: str,
    avatar: str,
    tts: str,
    voice: str | None,
    loudness_lufs: float,
    date: str | None,
    templates_dir: Path | None,
    venues_file: Path | None,
    latest_run: bool,
    output: Path,
) -> None:
    """Write the bulletin video, speech, script, chart and poster of venues.

    FORECAST: one or more NetCDF, GRIB2 or Zarr forecast files (merged).
    """
    from avatar.render import resolve_avatar

    from .pipeline import prepare_folder
    from .script import check_templates, parse_date
    from .speech import check_request

    # Everything that can be checked quickly is checked before the forecast is read.
    check_folder_output(output, "run", "OUT/<venue_id>/<lang>/ per bulletin")
    languages = languages_of(lang)
    venues = load_venues(venues_file, venue_ids)
    parse_date(date)
    resolve_avatar(avatar)
    for language in languages:
        check_request(language, engine=tts, voice=voice, loudness_lufs=loudness_lufs)
        check_templates(templates_dir, lang=language, kind="venue")
    prepare_folder(output)

    from .output import check_free_space
    from .pipeline import read_forecast
    from .unit import build_venue_bulletin, remove_stale_units, unit_folder

    for leftover in remove_stale_units(output, [v.id for v in venues], languages):
        log.info("removed %s (left by an interrupted run)", leftover)
    check_free_space(output, what="a venue bulletin")  # a full disk is named at once

    log.info("reading %s", ", ".join(str(p) for p in forecast))
    read = read_forecast(forecast, venues, latest_run=latest_run)
    table, init = read.table, read.init
    log.info("forecast %s: %d venue(s) x %s", init.strftime("%Y-%m-%d %H:%MZ"), len(venues),
             "+".join(languages))  # fmt: skip
    from .progress import UnitBars

    # On a terminal: a bar of the units, and the stage and frames of the one being built.
    bars = click.get_current_context().with_resource(UnitBars(len(venues) * len(languages)))
    from .facts import venue_day
    from .video.overview import venue_level_fields

    for venue in venues:
        # The conditions part maps the index field around the venue, as bulletin daily does.
        day = venue_day(table, venue, parse_date(date)).date
        index_field = venue_level_fields(forecast, [venue], table, day).get(venue.id)
        for language in languages:
            started = time.perf_counter()
            result = build_venue_bulletin(
                table,
                venue,
                language,
                unit_folder(output, venue.id, language),
                avatar=avatar,
                tts=tts,
                voice=voice,
                loudness_lufs=loudness_lufs,
                date=date,
                forecast_init=init,
                templates_dir=templates_dir,
                index_field=index_field,
                **bars.callbacks(f"{venue.id}/{language}"),
            )
            bars.finished(f"{venue.id}/{language}", "ok")
            wall = time.perf_counter() - started
            log.info(
                "wrote %s (%.1f s of speech in %.1f s, %.2fx real time)",
                result.folder,
                result.speech_seconds,
                wall,
                wall / result.speech_seconds,
            )
