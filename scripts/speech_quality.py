"""Loudness and subtitle layout of the speech of the shipped sample scripts.

Renders the venue bulletins and the overview of the first full local day of both samples
(``samples/forecast_ecmwf.grib2`` with the shipped catalogue, ``samples/forecast_yulong_spring.nc``
with ``samples/venues_yulong.csv``) in both languages, speaks them with espeak-ng, and prints per
language the integrated loudness (LUFS) and true peak (dBTP) of each ``speech.wav``, and the
subtitle statistics: gaps under 0.5 s between cues, lone fragments (a line that is one English
word or at most two letters: on the second line of a cue, and elsewhere, a first line or a
one-line cue of a longer sentence), and the longest line.

    .venv/bin/python scripts/speech_quality.py [--out DIR] [--loudness LUFS|none] [--reuse]

``--reuse`` measures the WAVs and timings already in ``--out`` without speaking again.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def sample_scripts():
    """Every script of the first full local day of both samples, both languages."""
    from bulletin import load_catalogue, load_venues_file, open_forecast, venue_table
    from bulletin.script import render_overview, render_script

    samples = REPO / "samples"
    catalogue = load_catalogue()
    yulong = load_venues_file(samples / "venues_yulong.csv")
    for name, path, venues in (
        ("beijing", samples / "forecast_ecmwf.grib2", catalogue),
        ("yulong", samples / "forecast_yulong_spring.nc", yulong),
    ):
        table = venue_table(open_forecast(path), venues)
        hours = table.groupby(table["time_local"].str.slice(0, 10))["time_local"].agg(
            lambda s: (s.str.slice(11, 13).min(), s.str.slice(11, 13).max())
        )
        day = next(d for d, (first, last) in hours.items() if first == "00" and last == "23")
        for lang in ("zh", "en"):
            for venue in venues:
                yield f"{name}-{venue.id}-{lang}", render_script(table, venue, lang=lang, date=day)
            yield f"{name}-overview-{lang}", render_overview(table, venues, lang=lang, date=day)


def is_fragment(line: str, lang: str) -> bool:
    """A lone word (English) or at most two letters or digits (both languages)."""
    letters = sum(1 for char in line if char.isalnum())
    return (lang == "en" and len(line.split()) == 1) or letters <= 2


def cue_statistics(cues, lang: str) -> dict[str, int]:
    """Gaps under 0.5 s, lone fragments (on a second line; elsewhere: a first line of two, or a
    one-line cue of a longer sentence) and the longest line of one file's cues."""
    gaps = sum(1 for a, b in itertools.pairwise(cues) if 0 < b.start - a.end < 0.5)
    second = elsewhere = 0
    sentence_start = True
    for cue in cues:
        if len(cue.lines) > 1:
            second += sum(is_fragment(line, lang) for line in cue.lines[1:])
            elsewhere += is_fragment(cue.lines[0], lang)
        else:
            ends = cue.lines[0].rstrip("\"'”’)）")[-1:] in "。！？.!?"
            elsewhere += not (sentence_start and ends) and is_fragment(cue.lines[0], lang)
        sentence_start = cue.lines[-1].rstrip("\"'”’)）")[-1:] in "。！？.!?"
    longest = max(len(line) for cue in cues for line in cue.lines)
    return {
        "cues": len(cues),
        "gaps": gaps,
        "second_line_fragments": second,
        "other_fragments": elsewhere,
        "longest": longest,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/speech-quality"))
    parser.add_argument("--loudness", default="-23", help="target LUFS, or 'none'")
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    from bulletin.speech import build_cues, measure_wav, read_timings, synthesize

    target = None if args.loudness == "none" else float(args.loudness)
    rows: dict[str, list[tuple[float | None, float, dict]]] = {"zh": [], "en": []}
    for name, script in sample_scripts():
        folder = args.out / name
        if not args.reuse:
            synthesize(script.display_text, script.lang, folder, loudness_lufs=target)
        loudness = measure_wav(folder / "speech.wav")
        timings = read_timings(folder / "timings.json")
        stats = cue_statistics(build_cues(timings.words, script.lang), script.lang)
        rows[script.lang].append((loudness.integrated_lufs, loudness.true_peak_dbtp, stats))
        print(
            f"{name:45s} {loudness.integrated_lufs:7.2f} LUFS {loudness.true_peak_dbtp:6.2f} dBTP"
            f"  cues {stats['cues']:3d} gaps<0.5s {stats['gaps']:2d}"
            f" fragments {stats['second_line_fragments']:2d}+{stats['other_fragments']:2d}"
            f" longest {stats['longest']:2d}"
        )
    for lang, items in rows.items():
        lufs = [i[0] for i in items if i[0] is not None]
        print(
            f"{lang}: {len(items)} files, loudness {min(lufs):.2f}..{max(lufs):.2f} LUFS "
            f"(median {statistics.median(lufs):.2f}), true peak max {max(i[1] for i in items):.2f}"
            f" dBTP; gaps<0.5s {sum(i[2]['gaps'] for i in items)}, lone fragments on a second "
            f"line {sum(i[2]['second_line_fragments'] for i in items)} (elsewhere "
            f"{sum(i[2]['other_fragments'] for i in items)}), longest line "
            f"{max(i[2]['longest'] for i in items)} chars"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
