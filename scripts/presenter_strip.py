"""A strip of the presenter as the bulletin shows it, for the README.

Builds one venue bulletin with ``bulletin run`` (the shipped sample forecast, or ``--forecast``)
and cuts the presenter panel out of the video at the moments the cues change what it does:
the greeting (a smile), the first sentence about an index (the head turns and the hand points
toward its card), a warning when the script has one (a serious face) and the sign-off, with a
mouth mid-word in each. The panels are put side by side, scaled to ``--height``, under a
caption of what each shows.

Usage::

    python scripts/presenter_strip.py --avatar procedural -o docs/presenter_procedural.png
    python scripts/presenter_strip.py --avatar default -o docs/presenter_default_twin.png
    python scripts/presenter_strip.py --avatar twin.pt -o /tmp/twin_strip.png   # any twin
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bulletin.video.compose import HEIGHT, PRESENTER_BOX, WIDTH  # noqa: E402
from bulletin.video.encode import read_frame  # noqa: E402
from bulletin.video.fonts import font  # noqa: E402


def moments(sentences: list[dict], alerts: list[str]) -> list[tuple[str, float]]:
    """(caption, seconds) of the greeting, the first index sentence, a warning, the sign-off:
    a little after each sentence starts, once the eased cue has risen."""
    chosen = [("greeting", sentences[0])]
    about = [s for s in sentences[1:-1] if s.get("index")]
    if about:
        chosen.append((f"pointing: {about[0]['index'].replace('_', ' ')}", about[0]))
    warned = [s for s in sentences[1:-1] if any(s["text"].strip() in a for a in alerts)]
    if warned:
        chosen.append(("warning", warned[0]))
    chosen.append(("sign-off", sentences[-1]))
    return [(caption, min(s["start"] + 0.9, (s["start"] + s["end"]) / 2)) for caption, s in chosen]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--avatar", default="procedural")
    parser.add_argument("--forecast", default=str(REPO / "samples" / "forecast_cf.nc"))
    parser.add_argument("--venue", default="genting-snow-park")
    parser.add_argument("--lang", default="en")
    parser.add_argument("--height", type=int, default=300)
    parser.add_argument("-o", "--output", required=True, type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable, "-m", "bulletin", "-q", "run", args.forecast, "--venue", args.venue,
            "--lang", args.lang, "--avatar", args.avatar, "-o", tmp,
        ]  # fmt: skip
        subprocess.run(command, check=True)
        unit = Path(tmp) / args.venue / args.lang
        script = json.loads((unit / "script.json").read_text(encoding="utf-8"))
        alerts = [str(a.get("text", "")) for a in script.get("alerts", [])]
        x0, y0, x1, y1 = PRESENTER_BOX
        panels = []
        for caption, seconds in moments(script["sentences"], alerts):
            frame = read_frame(unit / "bulletin.mp4", seconds, (WIDTH, HEIGHT))
            panel = Image.fromarray(frame[y0:y1, x0:x1])
            width = round(panel.width * args.height / panel.height)
            panels.append((caption, panel.resize((width, args.height), Image.LANCZOS)))
    caption_h = 28
    strip = Image.new(
        "RGB",
        (sum(p.width for _, p in panels) + 8 * (len(panels) - 1), args.height + caption_h),
        "white",
    )
    draw = ImageDraw.Draw(strip)
    caption_font = font(18)
    x = 0
    for caption, panel in panels:
        strip.paste(panel, (x, caption_h))
        draw.text((x + 4, 4), caption, fill=(30, 30, 30), font=caption_font)
        x += panel.width + 8
    args.output.parent.mkdir(parents=True, exist_ok=True)
    strip.save(args.output, optimize=True)
    print(f"wrote {args.output} ({len(panels)} panels)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
