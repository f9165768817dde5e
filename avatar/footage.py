"""Procedural "presenter footage": an MP4 with sound of the procedural presenter reading
bulletin-like sentences, so the twin path (``avatar train``) can be trained and tested end to
end with exact ground truth, and the default twin trained by the project's own code.

Speech comes from a synthesizer the caller passes in (:class:`avatar.synthesis.Synthesize`, e.g.
espeak-ng), in English and Mandarin at several rates; the utterances are joined with short pauses, and the
merged phoneme timings drive the presenter's mouth. Beside ``clip.mp4`` it writes
``clip.timings.json`` (the exact mouth driver) and ``clip.txt`` (the transcript, one utterance per line).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from avatar.errors import AvatarError
from avatar.files import write_json_atomic, write_text_atomic
from avatar.procedural import PresenterStyle
from avatar.render import write_presenter_video
from avatar.synthesis import Synthesize
from avatar.video import check_frame_size

SENTENCES: dict[str, tuple[str, ...]] = {
    "en": (
        "Good morning from the mountain cluster, where light snow is falling this morning.",
        "Temperatures stay well below freezing, so wear a warm hat and thick gloves.",
        "A brisk northwest wind makes it feel about eight degrees colder on the slopes.",
        "By the afternoon the sky clears and the sun is strong on the fresh snow.",
        "Bring goggles with a yellow lens for the flat light near the finish area.",
        "Tomorrow will be calm and bright, perfect for watching the downhill race.",
        "Spectators should take the shuttle early, as the car parks fill up quickly.",
        "That is the outlook for now; enjoy the games and stay warm outside.",
        "Fog lifts slowly from the valley, and visibility improves before noon.",
        "Expect heavy snow overnight, with twenty centimetres on the upper runs.",
        "Sunscreen is a must today: the ultraviolet index reaches seven at midday.",
        "Wind gusts could delay the ski jumping, so check the schedule before you leave.",
        "Evening temperatures drop quickly, so pack an extra layer for the medal ceremony.",
        "Frostbite can set in within thirty minutes on exposed cheeks and fingers.",
        "The big air stadium stays clear and cold, with a gentle breeze from the east.",
        "Here is the spectator index for Zhangjiakou: wrap up well and keep moving.",
    ),
    "zh": (
        "各位观众早上好，山区今天早晨有小雪。",
        "气温一直在零度以下，请戴好帽子和厚手套。",
        "西北风比较大，体感温度要低七八度。",
        "下午天气转晴，雪面上的紫外线比较强。",
        "明天风力减弱，阳光充足，适合观看比赛。",
        "请大家提前乘坐班车，注意保暖。",
        "傍晚气温下降很快，请多带一件外套。",
        "夜间有中到大雪，山顶积雪可达二十厘米。",
        "中午紫外线指数达到七级，请涂抹防晒霜。",
        "阵风可能影响跳台滑雪，出发前请查看赛程。",
        "暴露的皮肤三十分钟内可能冻伤，请注意防护。",
        "延庆赛区今天多云，能见度良好。",
    ),
}
RATES = (150, 175, 205)
"""espeak-ng words per minute: slow, the speech stage's usual pace, brisk (our choice)."""
PAUSE_S = (0.35, 0.9)
"""Silence between utterances, drawn uniformly (our choice: phrase pauses, long enough for the
mouth to settle at rest)."""


@dataclass(frozen=True)
class FootageFiles:
    """What :func:`make_presenter_footage` wrote."""

    video: Path
    timings: Path
    transcript: Path
    duration: float


def make_presenter_footage(
    out_path: str | Path,
    synthesize: Synthesize,
    style: PresenterStyle | None = None,
    size: tuple[int, int] = (320, 240),
    langs: Sequence[str] = ("en", "zh"),
    rates: Sequence[int] = RATES,
    n_utterances: int | None = None,
    seed: int = 0,
) -> FootageFiles:
    """Write procedural presenter footage to ``out_path`` (MP4 with sound).

    ``synthesize`` speaks each utterance and reports its phoneme times (the mouth driver).
    Utterances cycle through the sentences of ``langs`` and through ``rates``; ``n_utterances``
    (default: every sentence once) sets the length, about 3-5 s each. ``style`` picks the
    presenter (default or :meth:`PresenterStyle.alternate`), ``seed`` its idle motion."""
    out_path = Path(out_path)
    size = check_frame_size(size)
    pool = [(lang, text) for lang in langs for text in SENTENCES.get(lang, ())]
    if not pool:
        raise AvatarError(f"no sentences for languages {list(langs)}; use en and/or zh")
    if not rates:
        raise AvatarError("at least one speaking rate is needed")
    count = len(pool) if n_utterances is None else int(n_utterances)
    if count < 1:
        raise AvatarError(f"n_utterances must be at least 1, got {n_utterances}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(pool))  # a seeded shuffle, then cycled: every sentence is used
    out_path.parent.mkdir(parents=True, exist_ok=True)
    pieces: list[np.ndarray] = []
    phonemes: list[dict] = []
    lines: list[str] = []
    rate_hz = None
    cursor = 0.0
    with tempfile.TemporaryDirectory(dir=out_path.parent, prefix=".footage-") as work:
        for k in range(count):
            lang, text = pool[order[k % len(pool)]]
            rate = int(rates[k % len(rates)])
            result = synthesize(text, lang, Path(work) / f"u{k}", rate=rate)
            samples, rate_in = soundfile.read(result.wav_path, dtype="float32")
            if rate_hz is None:
                rate_hz = rate_in
            elif rate_in != rate_hz:
                raise AvatarError(f"espeak sample rate changed from {rate_hz} to {rate_in} Hz")
            pause = float(rng.uniform(*PAUSE_S))
            gap = np.zeros(round(pause * rate_hz), np.float32)
            cursor += len(gap) / rate_hz
            for phone in result.phonemes:
                phonemes.append(
                    {
                        "phoneme": phone.phoneme,
                        "start": round(cursor + phone.start, 4),
                        "end": round(cursor + phone.end, 4),
                    }
                )
            pieces += [gap, samples.reshape(-1)]
            cursor += len(samples) / rate_hz
            lines.append(text)
        tail = np.zeros(round(0.5 * rate_hz), np.float32)
        audio = np.concatenate([*pieces, tail])
        duration = len(audio) / rate_hz
        wav = Path(work) / "speech.wav"
        soundfile.write(wav, audio, rate_hz)
        timings = {
            "version": 1,
            "engine": "espeak-ng (avatar footage)",
            "lang": "+".join(langs),
            "duration": round(duration, 4),
            "phonemes": phonemes,
        }
        write_presenter_video(
            wav, out_path, timings, avatar="procedural", size=size, style=style, seed=seed
        )
    timings_path = out_path.with_suffix(".timings.json")
    transcript_path = out_path.with_suffix(".txt")
    write_json_atomic(timings_path, timings)
    write_text_atomic(transcript_path, "\n".join(lines) + "\n")
    return FootageFiles(out_path, timings_path, transcript_path, duration)
