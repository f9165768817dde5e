"""Real-time factor of the speech stage: synthesis seconds / audio seconds.

    python benchmarks/speech.py [--repeat 3] [--engines pyttsx3,piper] [--texts samples]
    python benchmarks/speech.py --lengths

For every engine and language it synthesises each text with :func:`bulletin.speech.synthesize`
(WAV + exact timings + ``timings.json``, everything a bulletin needs except subtitles) and
prints the median wall time, the audio length and their ratio. Targets (our choice) on the
project's 2-core machines: espeak-ng (pyttsx3 engine) <= 0.02, piper <= 0.2. piper's one-off
voice load is timed on its own and left out of the ratio (a batch loads it once).

Texts (``--texts``): ``samples`` (the default) renders the venue bulletin of every venue of
the shipped samples (the Beijing GRIB sample and the Yulong NetCDF sample, each venue's first
full local day) in both languages; ``synthetic`` uses :func:`bulletin_like_texts` (about 60 s
of speech each); any other value names a JSON file ``{"en": [...], "zh": [...]}``. Code can
call :func:`run_benchmark` with any texts.

``--lengths`` checks the spoken-length estimate of the scripts instead
(:attr:`bulletin.script.Script.estimated_seconds`): it renders every bulletin of the samples
(every venue, local day, kind and language), speaks each distinct one with the default engine,
voice and rate, prints estimated against spoken seconds, and refits
:data:`bulletin.script.SECONDS_PER_FEATURE` by least squares.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bulletin.speech import SpeechRequest, synthesize, synthesize_many

TARGET_RTF = {"pyttsx3": 0.02, "piper": 0.2}
ENGINE_LANGUAGES = {"pyttsx3": ("en", "zh"), "piper": ("en",)}

# (venue EN, venue ZH, morning temperature, noon temperature, wind, gust, UV index)
_VENUES = (
    ("Yanqing National Alpine Skiing Centre", "延庆国家高山滑雪中心", -18, -9, 8, 15, 4),
    ("Genting Snow Park in Zhangjiakou", "张家口云顶滑雪公园", -21, -11, 6, 12, 5),
    ("Big Air Shougang", "首钢滑雪大跳台", -9, 2, 4, 9, 3),
)


def bulletin_like_texts() -> dict[str, list[str]]:
    """Spectator bulletins of about 60 s each, with numbers, units and times to normalise."""
    english, chinese = [], []
    for venue_en, venue_zh, morning, noon, wind, gust, uv in _VENUES:
        english.append(
            f"Good morning, this is the spectator weather bulletin for {venue_en}. "
            f"At 07:00 it is {morning}°C at the finish area, with a north-west wind of "
            f"{wind} m/s, gusting to {gust} m/s. The wind chill makes it feel like "
            f"{morning - 11}°C. Dress in three layers, cover your ears and fingers, and take a "
            f"break in a heated tent every hour. By 12:00 the temperature rises to {noon}°C, and "
            f"the sun is strong on the snow. The UV index is {uv}; snow reflects most of the "
            "sunlight, so wear sunglasses and use SPF 30 on exposed skin. Visibility is good, "
            "above 10 km, until late afternoon, when light snow may arrive from the west, "
            f"with 1-3 cm by 20:00 and {morning - 4}~{morning + 2}°C overnight. Roads to the "
            "venue may be icy after dark. Allow extra time, follow the shuttle bus guidance, "
            "and keep your phone warm: batteries drain fast in the cold. Enjoy the races."
        )
        chinese.append(
            f"观众朋友们早上好，这里是{venue_zh}观赛天气播报。07:00终点区气温{morning}°C，"
            f"西北风{wind} m/s，阵风{gust} m/s，体感温度约{morning - 11}°C。请穿三层衣服，"
            "注意保护耳朵和手指，每小时到暖棚休息一次。"
            f"12:00前后气温回升到{noon}°C，雪面阳光较强，UV指数{uv}级，积雪反射大部分阳光，"
            "请佩戴墨镜，裸露皮肤涂抹SPF30的防晒霜。午后能见度良好，超过10 km。"
            f"傍晚西部可能有小雪，到20:00积雪1-3 cm，夜间气温{morning - 4}~{morning + 2}°C。"
            "天黑后前往场馆的道路可能结冰，请预留时间，听从班车引导。"
            "低温下手机电量消耗很快，请注意保暖。祝您观赛愉快。"
        )
    return {"en": english, "zh": chinese}


REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"


def sample_tables():
    """(name, venue table, venues) of the shipped samples, as ``bulletin speak`` reads them."""
    from bulletin import load_catalogue, load_venues_file
    from bulletin.pipeline import forecast_table

    beijing = load_catalogue()
    yulong = load_venues_file(SAMPLES / "venues_yulong.csv")
    return [
        ("beijing", forecast_table([SAMPLES / "forecast_ecmwf.grib2"], beijing), beijing),
        ("yulong", forecast_table([SAMPLES / "forecast_yulong_spring.nc"], yulong), yulong),
    ]


def sample_bulletin_texts() -> dict[str, list[str]]:
    """The display text of every sample venue's bulletin (first full local day), per language."""
    from bulletin.script import render_script

    texts: dict[str, list[str]] = {"en": [], "zh": []}
    for _, table, venues in sample_tables():
        for venue in venues:
            for lang in texts:
                texts[lang].append(render_script(table, venue, lang=lang).display_text)
    return texts


@dataclass(frozen=True)
class Row:
    engine: str
    lang: str
    text_index: int
    characters: int
    audio_s: float
    synth_s: float

    @property
    def rtf(self) -> float:
        return self.synth_s / self.audio_s


def run_benchmark(
    texts: Mapping[str, Sequence[str]], engines: Sequence[str], repeat: int = 3
) -> tuple[list[Row], dict[str, float]]:
    """Median synthesis time per (engine, language, text), and one-off load times."""
    rows: list[Row] = []
    load_s: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="speech-bench-") as folder:
        out = Path(folder)
        for engine in engines:
            # Warm-up: imports, jieba's dictionary, piper's voice (timed for piper).
            start = time.perf_counter()
            synthesize("Warm up.", "en", out / f"{engine}-warmup", engine=engine)
            load_s[engine] = time.perf_counter() - start
            for lang in ENGINE_LANGUAGES[engine]:
                if lang == "zh":
                    synthesize("预热。", "zh", out / f"{engine}-warmup-zh", engine=engine)
                for index, text in enumerate(texts.get(lang, ())):
                    times, audio_s = [], 0.0
                    for attempt in range(repeat):
                        target = out / f"{engine}-{lang}-{index}-{attempt}"
                        start = time.perf_counter()
                        result = synthesize(text, lang, target, engine=engine)
                        times.append(time.perf_counter() - start)
                        audio_s = result.duration_s
                    rows.append(
                        Row(engine, lang, index, len(text), audio_s, statistics.median(times))
                    )
    return rows, load_s


def print_report(rows: Sequence[Row], load_s: Mapping[str, float]) -> bool:
    """Print the table and the per-engine totals; True if every engine meets its target."""
    print(
        f"{'engine':8} {'lang':4} {'text':>4} {'chars':>5} {'audio s':>8} {'synth s':>8} {'RTF':>7}"
    )
    for row in rows:
        print(
            f"{row.engine:8} {row.lang:4} {row.text_index:4d} {row.characters:5d} "
            f"{row.audio_s:8.2f} {row.synth_s:8.3f} {row.rtf:7.4f}"
        )
    all_met = True
    for engine in dict.fromkeys(row.engine for row in rows):
        for lang in dict.fromkeys(row.lang for row in rows if row.engine == engine):
            group = [row for row in rows if row.engine == engine and row.lang == lang]
            rtf = sum(r.synth_s for r in group) / sum(r.audio_s for r in group)
            met = rtf <= TARGET_RTF[engine]
            all_met &= met
            print(
                f"{engine} {lang}: RTF {rtf:.4f} (target <= {TARGET_RTF[engine]}) "
                f"{'met' if met else 'NOT MET'}; first-call load {load_s[engine]:.2f} s"
            )
    return all_met


def _fit_lengths(features, seconds, fit_on, check_on) -> tuple[Any, float]:
    """Least-squares seconds per feature on the rows ``fit_on``, and its worst relative error
    on the rows ``check_on``."""
    import numpy as np

    fit, *_ = np.linalg.lstsq(features[fit_on], seconds[fit_on], rcond=None)
    errors = np.abs(features[check_on] @ fit - seconds[check_on]) / seconds[check_on]
    return fit, float(errors.max())


def spoken_lengths() -> bool:
    """Estimated against spoken seconds of every distinct sample bulletin; True when every
    estimate is within :data:`bulletin.script.ESTIMATE_TOLERANCE` and every spoken length
    within :data:`bulletin.script.SPOKEN_SECONDS` (full local days only for the lower end)."""
    import numpy as np

    from bulletin.script import (
        ESTIMATE_TOLERANCE,
        SECONDS_PER_FEATURE,
        SPOKEN_SECONDS,
        length_features,
        render_overview,
        render_script,
    )

    scripts = {}
    for name, table, venues in sample_tables():
        local = table["time_local"].str.slice(0, 13)
        hours = local.groupby(local.str.slice(0, 10)).nunique()
        for day, count in hours.items():
            for lang in ("en", "zh"):
                for script in [
                    *(render_script(table, v, lang=lang, date=day) for v in venues),
                    render_overview(table, venues, lang=lang, date=day),
                ]:
                    scripts.setdefault(script.text, (name, count == 24, script))
    items = list(scripts.values())
    with tempfile.TemporaryDirectory(prefix="speech-lengths-") as folder:
        requests = [
            SpeechRequest(s.display_text, s.lang, Path(folder) / str(i))
            for i, (_, _, s) in enumerate(items)
        ]
        spoken = [r.duration_s for r in synthesize_many(requests, jobs=2)]
    good = True
    print(f"{len(items)} distinct bulletins; estimated vs spoken seconds (default voices)")
    for lang in ("en", "zh"):
        for kind in ("venue", "overview"):
            chosen = [
                (full, s, real)
                for (_, full, s), real in zip(items, spoken, strict=True)
                if s.lang == lang and s.kind == kind
            ]
            errors = [(s.estimated_seconds - real) / real for _, s, real in chosen]
            low, high = SPOKEN_SECONDS[kind]
            outside = [
                f"{s.venue_id or 'overview'} {s.date} {real:.1f} s"
                for full, s, real in chosen
                if real > high or (full and real < low)
            ]
            good &= not outside and max(map(abs, errors)) <= ESTIMATE_TOLERANCE
            reals = [real for _, _, real in chosen]
            print(
                f"{lang} {kind:8} n={len(chosen):3d} spoken {min(reals):5.1f}-{max(reals):5.1f} s "
                f"(aim {low:.0f}-{high:.0f}); estimate error {min(errors):+.1%} to "
                f"{max(errors):+.1%}" + (f"; OUTSIDE: {', '.join(outside)}" if outside else "")
            )
        mine = [
            (n, s, real) for (n, _, s), real in zip(items, spoken, strict=True) if s.lang == lang
        ]
        features = np.array([length_features(s.text, lang) for _, s, _ in mine], dtype=float)
        seconds = np.array([real for _, _, real in mine])
        samples = np.array([name for name, _, _ in mine])
        everything = np.ones(len(mine), dtype=bool)
        fit, worst = _fit_lengths(features, seconds, everything, everything)
        print(
            f"{lang}: SECONDS_PER_FEATURE now {SECONDS_PER_FEATURE[lang]}, refit "
            f"{tuple(round(float(c), 4) for c in fit)} (worst error of the refit {worst:.1%})"
        )
        for name in dict.fromkeys(samples):
            _, worst = _fit_lengths(features, seconds, samples == name, samples != name)
            print(
                f"{lang}: fitted on the {name} sample alone, worst error on the others {worst:.1%}"
            )
    return good


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per text (median)")
    parser.add_argument("--engines", default="pyttsx3,piper", help="comma-separated engines")
    parser.add_argument(
        "--texts",
        default="samples",
        help='"samples" (default), "synthetic", or a JSON file {"en": [...], "zh": [...]}',
    )
    parser.add_argument(
        "--lengths", action="store_true", help="check the spoken-length estimate instead"
    )
    args = parser.parse_args(argv)
    if args.lengths:
        return 0 if spoken_lengths() else 1
    if args.texts == "samples":
        texts = sample_bulletin_texts()
    elif args.texts == "synthetic":
        texts = bulletin_like_texts()
    else:
        texts = json.loads(Path(args.texts).read_text(encoding="utf-8"))
    engines = [name.strip() for name in args.engines.split(",") if name.strip()]
    rows, load_s = run_benchmark(texts, engines, args.repeat)
    return 0 if print_report(rows, load_s) else 1


if __name__ == "__main__":
    sys.exit(main())
