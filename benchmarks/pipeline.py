"""Speed of the whole pipeline: one venue bulletin by stage, and the daily run on 1 vs 2 workers.

    python benchmarks/pipeline.py [--quick] [--avatar default|procedural|PATH] [--venue ID]
                                  [--date YYYY-MM-DD] [--skip-bulletin] [--skip-daily]

* **one bulletin**: for one venue on ``samples/forecast_cf.nc`` (``--avatar``, by default the
  shipped GAN twin; the default speech engine, auto), the wall seconds of each stage: indices (reading the
  forecast and the venue table with the indices at the venue:
  :func:`bulletin.pipeline.read_forecast`, timed here, cold and again warm), then script,
  speech, avatar (presenter frames) and compose (chart, poster, compositing and encoding) from
  :attr:`bulletin.unit.UnitResult.stage_seconds` of the unit that
  :func:`bulletin.unit.build_venue_bulletin` builds (the one ``bulletin run`` and
  ``bulletin daily`` build), "other" (the CSV, the atomic rename: the rest of the unit's wall
  time), and the real-time factor wall / audio seconds of the unit alone and with the warm
  indices stage. Target: <= 0.5 on 2 cores (TARGET_RTF). Both languages; ``--quick``: English only.
  Beside the wall times, the unit's CPU seconds (children included) and their split: the
  presenter's prefetch thread, ffmpeg, the rest; on a shared machine these move far less
  with the load than the wall times do.
* **daily run**: :func:`bulletin.daily.run_daily` over the units of ``make demo`` (2 venues x
  2 languages, plus the day's overview in each language, which a daily run always makes: 6
  tasks; ``--quick``: 1 venue in English and its overview, 2 tasks) on a real dask
  LocalCluster of 1 and then 2 single-threaded worker processes, each into a fresh output
  root. The task count is even, as in every daily run that makes both languages: with an odd
  count the last task runs alone on one of the two workers (5 equal tasks: at most
  5 / 3 = 1.67x). Speed-up = wall(1 worker) / wall(2 workers), for the whole run (cluster start
  and shut-down included) and for its units stage (``stage_seconds["units"]`` of the
  manifest). Target: >= 1.7x.

One run of each (these take minutes); the machine is shared, so the load average is printed
beside the figures and only ratios within the same run should be compared.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, and benchmarks/avatar.py would
# shadow the avatar package the unit imports: drop that folder before importing anything.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

REPO = Path(__file__).resolve().parents[1]
FORECAST = REPO / "samples" / "forecast_cf.nc"
DEFAULT_VENUE = "genting-snow-park"
# The cold-wave day of the sample (the longest bulletins: every index has something to say).
DEFAULT_DATE = "2022-02-07"
# The venues of `make demo` (samples/demo.toml): the Beijing city venue and a mountain venue.
DAILY_VENUES = ("big-air-shougang", "genting-snow-park")
BULLETIN_STAGES = ("script", "speech", "loudness", "avatar", "compose", "encode")
TARGET_RTF = 0.5


def _load(short: bool = False) -> str:
    one, five, _ = os.getloadavg()
    if short:
        return f"{one:.1f} / {five:.1f}"
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def _cpu_seconds() -> float:
    """CPU seconds of this process and its finished children (ffmpeg, espeak-ng workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class _ThreadCpu:
    """CPU seconds of the presenter's threads (every :class:`avatar.ahead.MadeAhead`: the frames
    made ahead of the compositor, and a twin's template drawn ahead of its generator) while the
    unit runs: ``_run`` is wrapped for the duration of a ``with`` block."""

    def __init__(self, prefetch):
        self.prefetch, self.seconds = prefetch, 0.0

    def __enter__(self):
        original = self.original = self.prefetch._run

        def run(prefetch, frames):
            clock = time.thread_time()
            try:
                original(prefetch, frames)
            finally:
                self.seconds += time.thread_time() - clock

        self.prefetch._run = run
        return self

    def __exit__(self, *exc):
        self.prefetch._run = self.original


def _children_seconds() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return children.ru_utime + children.ru_stime


class _Timed:
    """Wall seconds spent in one function of a module while the unit runs (the function is
    wrapped for the duration of a ``with`` block and restored after it)."""

    def __init__(self, module, name: str):
        self.module, self.name, self.seconds, self.results = module, name, 0.0, []
        self.children = 0.0  # CPU seconds of the child processes that ended meanwhile

    def __enter__(self):
        original = self.original = getattr(self.module, self.name)

        def timed(*args, **kwargs):
            clock, children = time.perf_counter(), _children_seconds()
            try:
                result = original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - clock
                self.children += _children_seconds() - children
            self.results.append(result)
            return result

        setattr(self.module, self.name, timed)
        return self

    def __exit__(self, *exc):
        setattr(self.module, self.name, self.original)


def bench_bulletin(
    venue_id: str, langs: list[str], date: str, avatar: str, out: Path
) -> list[dict]:
    """Build one venue's bulletin per language as ``bulletin daily`` builds it (the venue's
    index-field map in the conditions part, loudness-normalised speech); the stage times."""
    # Where the engines loudness-normalise their speech: espeak-ng's WAV (synthesis), piper's
    # and FastSpeech2's samples (result.finish_speech; the default engine, auto, picks per
    # language).
    import bulletin.speech.result as speech_result
    import bulletin.speech.synthesis as synthesis
    import bulletin.video.compose as compose
    from avatar.ahead import MadeAhead
    from bulletin.pipeline import read_forecast
    from bulletin.unit import build_venue_bulletin, unit_folder
    from bulletin.venues import load_catalogue, select_venues
    from bulletin.video.overview import venue_level_fields

    venue = select_venues(load_catalogue(), [venue_id])[0]
    day = dt.date.fromisoformat(date)
    clock = time.perf_counter()
    read_forecast([FORECAST], [venue])  # imports, numba compilation, file cache
    indices_cold = time.perf_counter() - clock
    clock = time.perf_counter()
    forecast = read_forecast([FORECAST], [venue])
    # The conditions map's field, as bulletin daily computes it before its units.
    field = venue_level_fields([FORECAST], [venue], forecast.table, day).get(venue.id)
    indices_warm = time.perf_counter() - clock
    if field is None:
        raise SystemExit(f"{venue_id}: no index field to map on {FORECAST.name}")
    rows = []
    for lang in langs:
        cpu = _cpu_seconds()
        clock = time.perf_counter()
        with (
            _Timed(synthesis, "normalize_wav") as loudness_wav,
            _Timed(speech_result, "normalize_pcm") as loudness_pcm,
            _Timed(compose, "write_bulletin_video") as video,
            _ThreadCpu(MadeAhead) as presenter,
        ):
            result = build_venue_bulletin(
                forecast.table,
                venue,
                lang,
                unit_folder(out, venue.id, lang),
                avatar=avatar,
                date=date,
                forecast_init=forecast.init,
                loudness_lufs=-23.0,
                index_field=field,
            )
        wall = time.perf_counter() - clock
        cpu = _cpu_seconds() - cpu
        loudness = [loudness_wav, loudness_pcm]
        if not any(timed.results for timed in loudness):
            raise SystemExit(
                "the speech was not loudness-normalised (normalize_wav/pcm not called)"
            )
        loudness_seconds = sum(timed.seconds for timed in loudness)
        stats = video.results[0]
        unit = result.stage_seconds
        stages = {
            "script": unit["script"],
            "speech": unit["speech"] - loudness_seconds,
            "loudness": loudness_seconds,
            "avatar": unit["avatar"],
            # chart, poster, map, state pictures and the per-frame pasting
            "compose": unit["compose"] - stats.encode_seconds,
            "encode": stats.encode_seconds,  # x264 and AAC, the thumbnail
        }
        rows.append(
            {
                "lang": lang,
                "indices_cold": indices_cold,
                "indices": indices_warm,
                **stages,
                "other": wall - sum(stages.values()),
                "unit": wall,
                "audio": result.speech_seconds,
                "engine": _speech_engine(unit_folder(out, venue.id, lang)),
                "cpu": cpu,
                "cores": cpu / wall,
                # CPU seconds: the presenter's thread, ffmpeg (x264, AAC), and the rest (the
                # main thread: script, speech, compositing, piping; espeak-ng, loudness)
                "cpu avatar": presenter.seconds,
                "cpu encode": video.children,
                "cpu other": cpu - presenter.seconds - video.children,
            }
        )
    return rows


def _speech_engine(folder: Path) -> str:
    """The speech engine the unit's ``script.json`` records."""
    import json

    try:
        return json.loads((folder / "script.json").read_text())["speech"]["engine"]
    except (OSError, KeyError, TypeError, ValueError):
        return "?"


def print_bulletin(rows: list[dict], venue_id: str, date: str, avatar: str) -> None:
    print(
        f"\n## One venue bulletin as bulletin daily builds it: {venue_id}, {date}, "
        f"avatar {avatar}, conditions map, speech at -23 LUFS"
    )
    columns = ["indices", *BULLETIN_STAGES, "other", "unit", "audio", "cpu", "cores"]
    print("| lang | " + " | ".join(columns) + " | RTF unit | RTF with indices |")
    print("|---" * (len(columns) + 3) + "|")
    for row in rows:
        rtf_unit = row["unit"] / row["audio"]
        rtf_all = (row["unit"] + row["indices"]) / row["audio"]
        cells = " | ".join(f"{row[c]:.2f}" for c in columns)
        print(f"| {row['lang']} | {cells} | {rtf_unit:.2f} | {rtf_all:.2f} |")
    print("speech engine: " + ", ".join(f"{row['lang']} {row['engine']}" for row in rows))
    print(
        f"seconds of wall time (indices: the forecast read, the venue's indices and the mapped "
        f"index field; speech: synthesis and subtitles, loudness apart; avatar: presenter "
        f"frames; compose: chart, poster, map and compositing; encode: x264/AAC and the "
        f"thumbnail, as far as not overlapped; audio: seconds of speech; cpu: CPU seconds of "
        f"the unit, children included; cores = cpu / unit); indices cold (first call: imports, "
        f"numba compilation) {rows[0]['indices_cold']:.2f} s, warm as shown"
    )
    print("\n| lang | cpu | cpu avatar | cpu encode | cpu other | CPU s per speech s |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        cells = " | ".join(
            f"{row[c]:.2f}" for c in ("cpu", "cpu avatar", "cpu encode", "cpu other")
        )
        print(f"| {row['lang']} | {cells} | {row['cpu'] / row['audio']:.2f} |")
    print(
        "CPU seconds of the unit (children included): avatar, the presenter's thread (template, "
        "generator, paste); encode, ffmpeg (rgb to yuv420p, x264, AAC); other, the rest (the "
        "main thread's speech, chart, compositing and piping, espeak-ng). On 2 cores the "
        "real-time factor cannot fall below max(cpu / 2, cpu avatar) / speech."
    )
    worst = max((r["unit"] + r["indices"]) / r["audio"] for r in rows)
    verdict = "met" if worst <= TARGET_RTF else "NOT met"
    print(
        f"real-time factor (unit + warm indices) / speech: worst {worst:.2f} "
        f"(target <= {TARGET_RTF}: {verdict})"
    )


def bench_daily(
    venues: list[str], languages: list[str], date: str, avatar: str, workers: int, out: Path
) -> dict:
    """One daily run on a LocalCluster of ``workers`` processes into a fresh root."""
    from bulletin.daily.config import parse_config
    from bulletin.daily.run import run_daily

    root = out / f"daily-{workers}w"
    load_before = _load(short=True)
    config = parse_config(
        {
            "forecast": str(FORECAST),
            "output": str(root),
            "venues": venues,
            "languages": languages,
            "avatar": avatar,
            "tts": "pyttsx3",
            "date": date,
        },
        out / "benchmark.toml",
    )
    clock = time.perf_counter()
    result = run_daily(config, workers=workers)
    wall = time.perf_counter() - clock
    manifest = result.manifest
    entries = manifest["units"] + manifest["overview"]
    failed = [
        f"{e.get('venue_id', 'overview')}/{e['lang']}: {e['error']}"
        for e in entries
        if e["status"] != "ok"
    ]
    speech = sum(u["speech_seconds"] or 0.0 for u in manifest["units"])
    return {
        "workers": workers,
        "wall": wall,
        "indices": manifest["stage_seconds"]["indices"],
        "units_stage": manifest["stage_seconds"]["units"],
        "units": len(manifest["units"]),
        "tasks": len(entries),
        "audio": speech,
        "failed": failed,
        "load": f"{load_before} -> {_load(short=True)}",
    }


def print_daily(rows: list[dict], date: str, languages: list[str], avatar: str) -> None:
    print(f"\n## Daily run on a dask LocalCluster: {date}, {'+'.join(languages)}, avatar {avatar}")
    print(
        "| workers | units (+ overview) | wall s | indices s | units stage s | audio s "
        "| load 1/5 min before -> after |"
    )
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['workers']} | {row['units']} (+{row['tasks'] - row['units']}) | {row['wall']:.1f} "
            f"| {row['indices']:.1f} | {row['units_stage']:.1f} | {row['audio']:.1f} | {row['load']} |"
        )
    one, two = rows
    whole = one["wall"] / two["wall"]
    units = one["units_stage"] / two["units_stage"]
    verdict = "met" if whole >= 1.7 else "NOT met"
    print(
        f"speed-up 2 workers over 1: whole run {whole:.2f}x (target >= 1.7x: {verdict}); units stage {units:.2f}x"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="English only; 1 venue in the daily run"
    )
    parser.add_argument(
        "--avatar",
        default="default",
        help="presenter: default (the shipped GAN twin), procedural or a twin checkpoint",
    )
    parser.add_argument(
        "--venue", default=DEFAULT_VENUE, help=f"venue of the one-bulletin part ({DEFAULT_VENUE})"
    )
    parser.add_argument("--date", default=DEFAULT_DATE, help=f"bulletin day ({DEFAULT_DATE})")
    parser.add_argument("--skip-bulletin", action="store_true", help="only the daily run")
    parser.add_argument("--skip-daily", action="store_true", help="only the one-bulletin part")
    parser.add_argument("-v", "--verbose", action="store_true", help="log the runs to stderr")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    if not args.verbose:
        # pint's unit redefinitions (cf-xarray) and dask's cluster chatter, here and in the
        # spawned workers (they read dask's configuration from the environment).
        logging.getLogger("pint").setLevel(logging.ERROR)
        os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    dt.date.fromisoformat(args.date)

    print(
        f"# benchmarks/pipeline.py {'--quick ' if args.quick else ''}on {FORECAST.name}; {_load()}"
    )
    status = 0
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        out = Path(tmp)
        if not args.skip_bulletin:
            langs = ["en"] if args.quick else ["zh", "en"]
            rows = bench_bulletin(args.venue, langs, args.date, args.avatar, out / "one")
            print_bulletin(rows, args.venue, args.date, args.avatar)
        if not args.skip_daily:
            venues = list(DAILY_VENUES[:1] if args.quick else DAILY_VENUES)
            languages = ["en"] if args.quick else ["zh", "en"]
            rows = [
                bench_daily(venues, languages, args.date, args.avatar, workers, out)
                for workers in (1, 2)
            ]
            print_daily(rows, args.date, languages, args.avatar)
            for row in rows:
                for failure in row["failed"]:
                    print(f"FAILED ({row['workers']} worker(s)): {failure}")
                    status = 1
    print(f"\n# done; {_load()}")
    return status


if __name__ == "__main__":
    sys.exit(main())
