"""``run_daily``: every venue's bulletin in every language for one forecast, rerun-safe.

A run reads the forecast once, computes the venue table, and builds one *unit* per venue and
language (:func:`bulletin.unit.build_venue_bulletin`: script, speech, presenter, video, chart,
poster, CSV) plus the daily overview per language (script and speech of all venues), into::

    ROOT/<init YYYY-MM-DD>/<init HH>Z/<venue>/<lang>/...      one unit
    ROOT/<init YYYY-MM-DD>/<init HH>Z/_overview/<lang>/...    the overview
    ROOT/<init YYYY-MM-DD>/<init HH>Z/manifest.json           (bulletin.daily.manifest)
    ROOT/<init YYYY-MM-DD>/<init HH>Z/index.html              (bulletin.daily.page)

Every folder and file is made under a hidden temporary name and renamed into place, so a
crash (``kill -9`` included) leaves no partial output; hidden leftovers of such a crash are
removed when the next run starts, and that run builds only what is missing (``force``
rebuilds everything). Units that fail are recorded with their error and the others are still
published. One run at a time holds ``ROOT/.bulletin-daily.lock`` (:mod:`bulletin.daily.lock`).

The bulletin day is ``date`` (``--date``, else the config's ``date``); without one it is the
first local day, after the forecast's start, that the forecast covers from 00:00 to 24:00 at
every venue (the default of ``bulletin script``). A run folder holds one bulletin day: a
unit is "finished" when its folder is complete *and* its ``script.json`` is about that day
(and, for the overview, the same venues); otherwise it is rebuilt. Other changes (templates,
voice, presenter) need ``force``. A day the forecast does not reach yet is
"not yet available" (exit code 75: retry later); a day that starts before the forecast does
is an error (exit code 1: that forecast will never cover it).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import glob
import json
import logging
import secrets
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from avatar.errors import AvatarError

from ..errors import BulletinError, ForecastError, VenueError
from ..output import OutputError, atomic_folder, check_free_space
from ..pipeline import forecast_init
from ..unit import UNIT_FILES, unit_folder
from .config import DailyConfig
from .lock import run_lock
from .manifest import (
    TOOL,
    file_record,
    folder_outputs,
    opendata_record,
    read_manifest,
    speech_loudness,
    speech_voice,
    write_manifest,
)

if TYPE_CHECKING:
    import pandas as pd

    from ..venues import Venue

#: Exit codes of ``bulletin daily`` (sysexits' EX_TEMPFAIL for "try again later").
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_SOME_FAILED = 3
EXIT_NOT_AVAILABLE = 75

OVERVIEW_FOLDER = "_overview"
#: What a finished overview folder holds (bulletin.pipeline.speak_script).
OVERVIEW_FILES = (
    "script.txt",
    "script.json",
    "speech.wav",
    "timings.json",
    "subtitles.srt",
    "subtitles.vtt",
    "overview.mp4",
)

log = logging.getLogger("bulletin.daily")


class ForecastNotAvailable(BulletinError):
    """The forecast is not there yet, or does not reach the bulletin day: retry later."""

    exit_code = EXIT_NOT_AVAILABLE


@dataclass(frozen=True)
class DailyResult:
    """What :func:`run_daily` made: the run folder, its manifest (also as a dict), the page,
    and the exit code (0 all done, 3 some units failed)."""

    run_id: str
    run_folder: Path
    manifest_path: Path
    index_path: Path
    manifest: dict[str, Any]
    exit_code: int


class _RunIdFilter(logging.Filter):
    """Puts ``[run id]`` in front of every record a handler emits (once per record)."""

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "run_id", None) is None:
            record.run_id = self.run_id
            record.msg = f"[{self.run_id}] {record.msg}"
        return True


@contextlib.contextmanager
def _tag_logs(run_id: str) -> Iterator[None]:
    """For the block, every line the ``bulletin`` loggers' (and the root logger's) handlers
    write starts with the run id, whichever module logs it."""
    run_filter = _RunIdFilter(run_id)
    handlers = [*logging.getLogger("bulletin").handlers, *logging.getLogger().handlers]
    for handler in handlers:
        handler.addFilter(run_filter)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(run_filter)


def new_run_id(now: dt.datetime) -> str:
    """``YYYYMMDDTHHMMSSZ-xxxxxx``: the start time in UTC and 6 random hex digits."""
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


# -- inputs ------------------------------------------------------------------------------------
def resolve_forecast(patterns: Sequence[str]) -> list[Path]:
    """The forecast files the patterns name, globs expanded (sorted), duplicates dropped.
    Raises :class:`ForecastNotAvailable` when a glob matches nothing or a plain path is not
    there (both read as "not published yet")."""
    files: list[Path] = []
    for pattern in patterns:
        if glob.has_magic(pattern):
            matches = sorted(glob.glob(pattern))
            if not matches:
                raise ForecastNotAvailable(
                    f"forecast not available yet: nothing matches {pattern} (exit 75: retry later)"
                )
            files.extend(Path(m) for m in matches)
        else:
            path = Path(pattern)
            if not path.exists():
                raise ForecastNotAvailable(
                    f"forecast file {path} does not exist (not published yet? exit 75: retry later)"
                )
            files.append(path)
    return list(dict.fromkeys(files))


def select_run_venues(config: DailyConfig) -> list[Venue]:
    """The venues of the run: the config's ids (all when absent) from the catalogue or the
    config's venues file. Ids are safe folder names (bulletin.venues.check_venue_id)."""
    from ..venues import check_venue_id, load_catalogue, load_venues_file, select_venues

    catalogue = load_venues_file(config.venues_file) if config.venues_file else load_catalogue()
    for venue_id in config.venues:
        check_venue_id(venue_id, where="config key 'venues'", asked=True)
    venues = select_venues(catalogue, list(config.venues))
    for venue in venues:
        if venue.id == OVERVIEW_FOLDER:  # the overview's folder name; ids cannot start with _
            raise VenueError(f"venue id {venue.id!r} is reserved for the daily overview")
    return venues


def check_requests(config: DailyConfig) -> None:
    """Everything that can be checked before the forecast is read: templates of every
    language and kind, the speech engine for every language, the presenter."""
    from avatar.render import resolve_avatar

    from ..errors import SpeechUsageError
    from ..script import check_templates
    from ..speech import check_request

    for lang in config.languages:
        for kind in ("venue", "overview"):
            check_templates(config.templates, lang=lang, kind=kind)
        try:
            check_request(
                lang,
                engine=config.engine_for(lang),
                voice=config.voice,
                loudness_lufs=config.loudness_lufs,
            )
        except SpeechUsageError as error:
            if not isinstance(config.tts, str) or len(config.languages) < 2:
                raise
            # One engine for both languages: say how to give each language its own.
            raise SpeechUsageError(
                f"config key 'tts' = {config.tts!r}: {error}; or name an engine per language "
                'in a [tts] table (zh = "fastspeech2", en = "piper")'
            ) from None
    resolve_avatar(config.avatar)


def bulletin_day(table: pd.DataFrame, venues: Sequence[Venue], day: dt.date | None) -> dt.date:
    """The local day of the bulletins (see the module docstring), checked against what the
    table covers at every venue with the facts stage's own rule
    (:func:`bulletin.facts.local_days`)."""
    from ..facts import local_days

    covered = {venue.id: {d.date: d.full for d in local_days(table, venue)} for venue in venues}
    if day is None:
        full = [{d for d, is_full in days.items() if is_full} for days in covered.values()]
        common = sorted(set.intersection(*full))
        if not common:
            first = list(next(iter(covered.values())))
            raise ForecastNotAvailable(
                f"the forecast covers no whole local day at every venue yet (it spans "
                f"{first[0]} to {first[-1]}); exit 75: retry later"
            )
        return common[0]
    iso = day.isoformat()
    for venue_id, days in covered.items():
        if days.get(day, False):
            continue
        dates = list(days)
        if day < dates[0] or (day == dates[0] and not days[day]):
            raise ForecastError(
                f"the forecast starts after the beginning of {iso} at venue {venue_id} "
                f"(it covers {dates[0]} to {dates[-1]}); choose a later --date"
            )
        raise ForecastNotAvailable(
            f"the forecast does not cover all of {iso} at venue {venue_id} yet (it ends on "
            f"{dates[-1]}); exit 75: retry later"
        )
    return day


# -- units -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class UnitTask:
    """One piece of work for a worker: a venue bulletin (``venue`` set) or the overview of
    ``venues`` (``venue`` None) in one language, into ``folder``."""

    lang: str
    folder: Path
    table: Any  # pandas.DataFrame: the rows of the venues concerned
    venues: tuple[Venue, ...]
    venue: Venue | None
    date: dt.date
    init: dt.datetime
    avatar: str
    tts: str
    voice: str | None
    templates: Path | None
    loudness_lufs: float | None = -23.0
    terrain: Any = None  # bulletin.video.maps.Terrain under the overview's map, or None
    index_field: Any = None  # bulletin.video.maps.LevelField mapped in a venue's video

    @property
    def name(self) -> str:
        """``<venue id>/<lang>``, or ``overview/<lang>``: how logs and progress name it."""
        return f"{self.venue.id if self.venue else 'overview'}/{self.lang}"


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, (BulletinError, AvatarError)):
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"internal error: {type(exc).__name__}: {first}".rstrip(": ")


def _build_overview(
    task: UnitTask,
    on_stage: Callable[[str], None],
    on_frames: Callable[[int, int], None] | None,
) -> dict[str, Any]:
    from ..pipeline import make_script, speak_script

    started = time.perf_counter()
    with atomic_folder(task.folder) as tmp:
        on_stage("script")
        script = make_script(
            task.table,
            list(task.venues),
            lang=task.lang,
            kind="overview",
            date=task.date.isoformat(),
            templates_dir=task.templates,
        )
        script_s = time.perf_counter() - started
        on_stage("speech")
        spoken = speak_script(
            script, tmp, engine=task.tts, voice=task.voice, loudness_lufs=task.loudness_lufs
        )
        speech_s = time.perf_counter() - started - script_s
        from ..video.overview import write_overview_video

        on_stage("video")
        stats = write_overview_video(
            task.table, task.venues, task.lang, task.date, spoken, tmp, terrain=task.terrain,
            forecast_init=task.init, avatar=task.avatar, templates_dir=task.templates,
            on_frames=on_frames, alerts=script.alerts,
        )  # fmt: skip
    return {
        "speech_seconds": spoken.duration_s,
        "stage_seconds": {"script": script_s, "speech": speech_s,
                          "avatar": stats.presenter_seconds, "compose": stats.compose_seconds},
    }  # fmt: skip


def run_unit(
    task: UnitTask,
    on_stage: Callable[[str], None] | None = None,
    on_frames: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Build one unit (on a dask worker or in-process) and describe it for the manifest:
    ``status`` ok or failed, ``error``, ``outputs`` (name -> sha256, bytes),
    ``speech_seconds`` and ``stage_seconds``. Never raises for a failing unit.
    ``on_stage(name)`` is called as each of :data:`bulletin.unit.PROGRESS_STAGES` starts,
    ``on_frames(done, total)`` as the video's frames are made."""
    try:
        if task.venue is None:
            built = _build_overview(task, on_stage or (lambda _: None), on_frames)
        else:
            from ..unit import build_venue_bulletin

            result = build_venue_bulletin(
                task.table,
                task.venue,
                task.lang,
                task.folder,
                avatar=task.avatar,
                tts=task.tts,
                voice=task.voice,
                loudness_lufs=task.loudness_lufs,
                date=task.date,
                forecast_init=task.init,
                templates_dir=task.templates,
                index_field=task.index_field,
                on_stage=on_stage,
                on_frames=on_frames,
            )
            built = {
                "speech_seconds": result.speech_seconds,
                "stage_seconds": dict(result.stage_seconds),
            }
    except Exception as exc:
        return {
            "status": "failed",
            "error": _error_text(exc),
            "outputs": {},
            "speech_seconds": None,
            "stage_seconds": {},
            "loudness": None,
            "speech": None,
        }
    return {
        "status": "ok",
        "error": None,
        "outputs": folder_outputs(task.folder),
        "speech_seconds": round(float(built["speech_seconds"]), 3),
        "stage_seconds": {k: round(float(v), 3) for k, v in built["stage_seconds"].items()},
        "loudness": speech_loudness(task.folder),
        "speech": speech_voice(task.folder),
    }


def is_complete(
    folder: Path, files: Sequence[str], day: dt.date | None = None, venue_ids: Sequence[str] = ()
) -> bool:
    """Whether ``folder`` is a finished unit: it exists with every expected file (folders
    are only ever renamed into place complete, so this guards against hand-made ones) and,
    when ``day`` is given, its ``script.json`` is about that day and those venues (a run
    folder holds one bulletin day; another ``--date`` or other venues in an overview
    replace what is there)."""
    if not (folder.is_dir() and all((folder / name).is_file() for name in files)):
        return False
    if day is None:
        return True
    try:
        script = json.loads((folder / "script.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return script.get("date") == day.isoformat() and list(script.get("venue_ids", [])) == list(
        venue_ids
    )


def _skipped(folder: Path) -> dict[str, Any]:
    import soundfile

    try:
        speech_s = round(float(soundfile.info(str(folder / "speech.wav")).duration), 3)
    except (OSError, RuntimeError):
        speech_s = None
    return {
        "status": "skipped",
        "error": None,
        "outputs": folder_outputs(folder),
        "speech_seconds": speech_s,
        "stage_seconds": {},
        "loudness": speech_loudness(folder),
        "speech": speech_voice(folder),
    }


def clean_leftovers(run_folder: Path) -> list[Path]:
    """Remove the hidden temporary files and folders an interrupted run left in the run
    folder, its venue folders and their language folders. Returns what was removed."""
    removed = []
    folders = [run_folder]
    for entry in run_folder.iterdir():
        if entry.is_dir() and not entry.name.startswith("."):
            folders.append(entry)
            folders.extend(e for e in entry.iterdir() if e.is_dir() and not e.name.startswith("."))
    for folder in folders:
        for entry in folder.iterdir():
            if not entry.name.startswith("."):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


# -- progress ----------------------------------------------------------------------------------
class RunProgress(Protocol):
    """What :func:`run_daily` reports as it goes, for its caller to show (the command line
    draws bars: bulletin.progress). A unit is named as :attr:`UnitTask.name`. The methods may
    be called from another thread than the caller's (a dask client's event loop), and
    reports of a unit may still come after it is finished."""

    def units(self, total: int) -> None:
        """``total`` units are to be built (the finished ones that are skipped not counted)."""

    def stage(self, unit: str, stage: str) -> None:
        """``unit`` started ``stage`` (one of :data:`bulletin.unit.PROGRESS_STAGES`)."""

    def frames(self, unit: str, done: int, total: int) -> None:
        """``done`` of the ``total`` frames of ``unit``'s video are made."""

    def finished(self, unit: str, status: str) -> None:
        """``unit`` is done: ``status`` ``ok`` or ``failed``."""


class _NoProgress:
    def units(self, total: int) -> None:
        pass

    def stage(self, unit: str, stage: str) -> None:
        pass

    def frames(self, unit: str, done: int, total: int) -> None:
        pass

    def finished(self, unit: str, status: str) -> None:
        pass


#: At most this many frame counts per second and unit go from a dask worker to the client
#: (our choice: a bar redrawn 4 times a second looks continuous, and the scheduler, which
#: keeps every event, holds a few hundred per unit, not one per frame).
WORKER_REPORTS_PER_S = 4.0


class _WorkerReports:
    """A unit's reports on a dask worker, sent as events under ``topic``
    (``distributed.Worker.log_event``; the client subscribes to the topic): every stage, and
    the frame counts at most :data:`WORKER_REPORTS_PER_S` a second (the first and the last
    always)."""

    def __init__(self, worker: Any, topic: str, unit: str) -> None:
        self._worker = worker
        self._topic = topic
        self._unit = unit
        self._sent = -float("inf")

    def stage(self, stage: str) -> None:
        self._worker.log_event(self._topic, {"unit": self._unit, "stage": stage})

    def frames(self, done: int, total: int) -> None:
        now = time.monotonic()
        if 0 < done < total and now - self._sent < 1.0 / WORKER_REPORTS_PER_S:
            return
        self._sent = now
        self._worker.log_event(self._topic, {"unit": self._unit, "done": done, "total": total})


def _build_on_worker(task: UnitTask, *, build: Callable[..., dict[str, Any]], topic: str):
    from distributed import get_worker

    reports = _WorkerReports(get_worker(), topic, task.name)
    return build(task, on_stage=reports.stage, on_frames=reports.frames)


def _forward(progress: RunProgress, event: tuple[float, Any]) -> None:
    """A worker's report (an event ``(time, message)`` of :class:`_WorkerReports`) to
    ``progress``."""
    message = event[1]
    if not isinstance(message, dict) or "unit" not in message:
        return
    if "stage" in message:
        progress.stage(message["unit"], message["stage"])
    elif "done" in message:
        progress.frames(message["unit"], int(message["done"]), int(message["total"]))


@contextlib.contextmanager
def reporting(
    client: Any, progress: RunProgress, build: Callable[..., dict[str, Any]]
) -> Iterator[Callable[[UnitTask], dict[str, Any]]]:
    """``build(task, on_stage=..., on_frames=...)`` as the one-argument function that
    :func:`bulletin.daily.scale.run_tasks` runs, its reports going to ``progress``: called
    directly in this process (``client`` None), or, on a cluster, sent by the workers as
    events that this client subscribes to for the block."""
    if client is None:

        def local(task: UnitTask) -> dict[str, Any]:
            name = task.name
            return build(
                task,
                on_stage=functools.partial(progress.stage, name),
                on_frames=functools.partial(progress.frames, name),
            )

        yield local
        return
    topic = f"bulletin-progress-{secrets.token_hex(4)}"
    client.subscribe_topic(topic, functools.partial(_forward, progress))
    try:
        yield functools.partial(_build_on_worker, build=build, topic=topic)
    finally:
        client.unsubscribe_topic(topic)


# -- the run -----------------------------------------------------------------------------------
def _venue_name(venue: Venue) -> dict[str, str]:
    return {"en": venue.name, "zh": venue.name_zh or venue.name}


def run_daily(
    config: DailyConfig,
    *,
    date: dt.date | None = None,
    force: bool = False,
    scheduler: str | None = None,
    workers: int | None = None,
    wait: bool = False,
    progress: RunProgress | None = None,
) -> DailyResult:
    """Build the day's bulletins (see the module docstring) and return what was made.

    ``date`` overrides the config's; ``force`` rebuilds finished units; ``scheduler`` (or
    the environment's ``DASK_SCHEDULER_ADDRESS``) sends the work to a dask cluster and
    ``workers`` starts a local one (:mod:`bulletin.daily.scale`); ``wait`` waits for another
    run's lock instead of refusing; ``progress`` is told of the units as they are built
    (:class:`RunProgress`). Raises :class:`BulletinError` subclasses for bad input
    (:class:`ForecastNotAvailable` for "retry later"); failing units do not raise.
    """
    started = dt.datetime.now(dt.UTC)
    run_id = new_run_id(started)
    with _tag_logs(run_id):
        return _run_daily(
            config, run_id, started, date, force, scheduler, workers, wait,
            progress or _NoProgress(),
        )  # fmt: skip


def _run_daily(
    config, run_id, started, date, force, scheduler, workers, wait, progress
) -> DailyResult:
    from .. import __version__
    from ..pipeline import prepare_folder
    from .scale import dask_client

    day = date or config.date
    venues = select_run_venues(config)
    check_requests(config)
    root = config.output
    try:
        prepare_folder(root)
    except OutputError as exc:
        raise OutputError(f"output root: {exc}") from None
    with run_lock(root, wait=wait) as lock_path:
        log.info("holding %s", lock_path)
        fetched = None
        if config.opendata is not None:  # forecast = "ecmwf-opendata:<model>"
            from ..readers.opendata import fetch_latest_run

            fetched = fetch_latest_run(config.opendata, [v.tz for v in venues], day)
            files = [fetched.path]
        else:
            # Placeholders without a day: today where the (first) venue is.
            pattern_day = day or dt.datetime.now(venues[0].tz).date()
            files = resolve_forecast(config.forecast_patterns(pattern_day))
        stage_seconds: dict[str, float] = {}
        with dask_client(scheduler, workers, log) as client:
            clock = time.perf_counter()
            table, init = _venue_table(files, venues, log)
            stage_seconds["indices"] = round(time.perf_counter() - clock, 3)
            from ..video.overview import forecast_terrain

            terrain = forecast_terrain(files, venues)  # the overview map's shaded relief
            day = bulletin_day(table, venues, day)
            from ..video.overview import venue_level_fields

            fields = venue_level_fields(files, venues, table, day)  # the venue videos' maps
            run_folder = root / f"{init:%Y-%m-%d}" / f"{init:%H}Z"
            try:
                run_folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise OutputError(
                    f"cannot create run folder {run_folder}: {exc.strerror or exc}"
                ) from None
            for leftover in clean_leftovers(run_folder):
                log.info("removed %s (left by an interrupted run)", leftover)
            check_free_space(run_folder, what="the daily run")  # a full disk: exit 1 at once
            log.info(
                "forecast init %s, bulletin day %s, %d venue(s) x %s -> %s",
                init.strftime("%Y-%m-%d %H:%MZ"),
                day.isoformat(),
                len(venues),
                "/".join(config.languages),
                run_folder,
            )
            previous = read_manifest(run_folder)
            clock = time.perf_counter()
            records = _run_units(
                config, venues, table, day, init, run_folder, force, client, log, previous,
                terrain=terrain, fields=fields, progress=progress,
            )  # fmt: skip
            stage_seconds["units"] = round(time.perf_counter() - clock, 3)
        inputs = [file_record(path.absolute()) for path in files]
        manifest = {
            "tool": TOOL,
            "version": __version__,
            "run_id": run_id,
            "started_utc": started.isoformat().replace("+00:00", "Z"),
            "finished_utc": None,
            "forecast_init_utc": init.isoformat().replace("+00:00", "Z"),
            "date": day.isoformat(),
            "languages": list(config.languages),
            "inputs": inputs,
            "config": config.to_manifest(),
            "stage_seconds": stage_seconds,
            "units": records["units"],
            "overview": records["overview"],
        }
        if fetched is not None:
            manifest["opendata"] = opendata_record(fetched)
        if previous is not None and previous.get("run_id"):
            manifest["previous_run_id"] = previous["run_id"]
        from .page import page_record, write_index_html, write_site_pages

        manifest["page"] = page_record(
            run_folder, timezone=venues[0].timezone, agency=config.agency, logo=config.logo,
            site_url=config.site_url,
        )  # fmt: skip
        manifest["finished_utc"] = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
        index_path = write_index_html(run_folder, manifest)
        manifest_path = write_manifest(run_folder, manifest)
        write_site_pages(root)  # ROOT/latest/index.html and ROOT/index.html
    failed = [
        f"{u['venue_id']}/{u['lang']}" for u in manifest["units"] if u["status"] == "failed"
    ] + [f"overview/{o['lang']}" for o in manifest["overview"] if o["status"] == "failed"]
    counts = {
        status: sum(1 for u in manifest["units"] + manifest["overview"] if u["status"] == status)
        for status in ("ok", "skipped", "failed")
    }
    log.info(
        "done: %d built, %d already there, %d failed%s; %s",
        counts["ok"],
        counts["skipped"],
        counts["failed"],
        f" ({', '.join(failed)})" if failed else "",
        index_path,
    )
    return DailyResult(
        run_id=run_id,
        run_folder=run_folder,
        manifest_path=manifest_path,
        index_path=index_path,
        manifest=manifest,
        exit_code=EXIT_SOME_FAILED if failed else EXIT_OK,
    )


def _venue_table(files, venues, log) -> tuple[pd.DataFrame, dt.datetime]:
    """Read the forecast with dask chunks (only the chunks around the venues are read, on
    the cluster when there is one) and compute the venue table: the indices at the venues,
    in this process, so a cluster run and a local run compute the same numbers."""
    from ..pipeline import read_forecast
    from .scale import FORECAST_CHUNKS

    log.info("reading %s", ", ".join(str(p) for p in files))
    read = read_forecast(files, venues, chunks=FORECAST_CHUNKS)
    table, init = read.table, read.init
    if "member" in table.columns:
        raise ForecastError(
            "the forecast is an ensemble; daily bulletins are written from one forecast "
            "(give the control run or one member)"
        )
    return table, init


def _run_units(
    config, venues, table, day, init, run_folder, force, client, log, previous, terrain=None,
    fields=None, progress: RunProgress | None = None,
):  # fmt: skip
    """Build (or skip) every unit and overview; their manifest records, in a stable order.
    A skipped unit keeps the stage timings the ``previous`` manifest recorded for the same
    outputs."""
    from .scale import run_tasks

    earlier = {
        entry.get("folder"): entry
        for entry in (previous or {}).get("units", []) + (previous or {}).get("overview", [])
        if isinstance(entry, dict)
    }

    def skipped(folder: str) -> dict[str, Any]:
        record = _skipped(run_folder / folder)
        before = earlier.get(folder, {})
        if before.get("outputs") == record["outputs"]:
            record["stage_seconds"] = before.get("stage_seconds") or {}
        return record

    entries: list[tuple[str, dict[str, Any], UnitTask | None]] = []

    def task_for(lang: str, folder: Path, venue: Venue | None) -> UnitTask:
        chosen = [venue] if venue is not None else list(venues)
        ids = {v.id for v in chosen}
        rows = table[table["venue_id"].isin(ids)].reset_index(drop=True)
        return UnitTask(
            lang=lang,
            folder=folder,
            table=rows,
            venues=tuple(chosen),
            venue=venue,
            date=day,
            init=init,
            avatar=config.avatar,
            tts=config.engine_for(lang),
            voice=config.voice,
            templates=config.templates,
            loudness_lufs=config.loudness_lufs,
            terrain=terrain if venue is None else None,
            index_field=None if venue is None else (fields or {}).get(venue.id),
        )

    for venue in venues:
        for lang in config.languages:
            folder = unit_folder(run_folder, venue.id, lang)
            base = {
                "venue_id": venue.id,
                "venue_name": _venue_name(venue),
                "lang": lang,
                "folder": folder.relative_to(run_folder).as_posix(),
            }
            done = not force and is_complete(folder, UNIT_FILES, day, [venue.id])
            entries.append(("unit", base, None if done else task_for(lang, folder, venue)))
    for lang in config.languages:
        folder = unit_folder(run_folder, OVERVIEW_FOLDER, lang)
        base = {"lang": lang, "folder": folder.relative_to(run_folder).as_posix()}
        done = not force and is_complete(folder, OVERVIEW_FILES, day, [v.id for v in venues])
        entries.append(("overview", base, None if done else task_for(lang, folder, None)))

    todo = [task for _, _, task in entries if task is not None]
    log.info("%d to build, %d already built", len(todo), len(entries) - len(todo))
    progress = progress or _NoProgress()
    progress.units(len(todo))

    def done(task: UnitTask, record: dict[str, Any]) -> None:
        progress.finished(task.name, record["status"])
        if record["status"] == "failed":
            log.warning("%s failed: %s", task.name, record["error"])
        else:
            log.info("%s built (%.1f s of speech)", task.name, record["speech_seconds"] or 0.0)

    with reporting(client, progress, run_unit) as build:
        results = iter(run_tasks(client, build, todo, done))
    units, overview = [], []
    for kind, base, task in entries:
        record = next(results) if task is not None else skipped(base["folder"])
        if kind == "unit":
            units.append({**base, **record})
        else:
            keys = (
                "status", "error", "outputs", "speech_seconds", "stage_seconds", "loudness",
                "speech",
            )  # fmt: skip
            overview.append({**base, **{key: record[key] for key in keys}})
    return {"units": units, "overview": overview}


__all__ = [
    "EXIT_ERROR",
    "EXIT_NOT_AVAILABLE",
    "EXIT_OK",
    "EXIT_SOME_FAILED",
    "EXIT_USAGE",
    "OVERVIEW_FILES",
    "OVERVIEW_FOLDER",
    "WORKER_REPORTS_PER_S",
    "DailyResult",
    "ForecastNotAvailable",
    "RunProgress",
    "UnitTask",
    "bulletin_day",
    "clean_leftovers",
    "forecast_init",
    "is_complete",
    "reporting",
    "resolve_forecast",
    "run_daily",
    "run_unit",
]
