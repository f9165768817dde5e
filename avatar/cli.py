"""``bulletin avatar``: render a presenter video, train a twin.

:func:`make_avatar_cli` builds the command group with the speech synthesizer that aligns a
training transcript (:class:`avatar.synthesis.Synthesize`); the main ``bulletin`` command line
registers it with the project's speech stage. ``python -m avatar.cli`` runs :data:`avatar_cli`,
the group without a synthesizer (``train --transcript`` is then an error), with the same
one-line error handling. Errors the user can cause are :class:`~avatar.errors.AvatarError`,
printed as one line with their ``exit_code`` (1; 2 for a usage error).

``-o -`` means stdout where one file is written (``render``: the MP4's bytes); where a command
writes a file with companions (``train``: the checkpoint, its manifest and metrics, resumed
from) it is a usage error. Logs always go to stderr.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click

from avatar import DEFAULT_AVATAR
from avatar.errors import AvatarError, AvatarUsageError
from avatar.synthesis import Synthesize

SYNTHESIZE_KEY = "avatar.synthesize"
"""Key of the group's speech synthesizer in click's ``Context.meta`` (shared by subcommands)."""

STDOUT = "-"
AVATAR_METAVAR = "default|procedural|PATH"
AVATAR_HELP = (
    "Presenter: default (the shipped GAN twin, needs torch), procedural (drawn with numpy/PIL, "
    "no torch) or a twin checkpoint PATH."
)
"""The help of every command's ``--avatar`` (``bulletin run``, ``avatar render``)."""


def _existing_file(path: Path, what: str) -> Path:
    if not path.is_file():
        raise AvatarError(f"{what} not found: {path}")
    return path


def _copy_to_stdout(path: Path) -> None:
    """Stream the file at ``path`` to stdout's bytes; every byte, even where the raw stream of
    ``python -u`` takes only part of a write."""
    out = sys.stdout.buffer
    with open(path, "rb") as source:
        while chunk := source.read(1 << 20):
            view = memoryview(chunk)
            while view:
                written = out.write(view)
                if written is None:
                    raise AvatarError("cannot write to stdout: it is non-blocking and full")
                view = view[written:]
    out.flush()


@click.command("render")
@click.option(
    "--audio",
    "audio",
    type=click.Path(path_type=Path),
    required=True,
    help="Speech audio (speech.wav of the speech stage).",
)
@click.option(
    "--timings",
    type=click.Path(path_type=Path),
    default=None,
    help="Phoneme timings (timings.json); without them the mouth follows the audio.",
)
@click.option(
    "--avatar",
    "avatar",
    default=DEFAULT_AVATAR,
    show_default=True,
    metavar=AVATAR_METAVAR,
    help=AVATAR_HELP,
)
@click.option("--size", default="640x360", show_default=True, help="Frame size WIDTHxHEIGHT.")
@click.option(
    "-o",
    "--output",
    required=True,
    metavar="FILE|-",
    help="The MP4 to write (atomically); '-' for stdout.",
)
def render_command(audio: Path, timings: Path | None, avatar: str, size: str, output: str) -> None:
    """Render the presenter speaking AUDIO to an MP4 at 25 fps with the speech as sound.

    The presenter is the shipped GAN twin unless --avatar says otherwise, as in 'bulletin run'
    and 'bulletin daily'.
    """
    from avatar.render import resolve_avatar, write_presenter_video
    from avatar.video import parse_size

    try:
        frame_size = parse_size(size)
    except AvatarError as exc:  # a bad option value is a usage error (exit 2)
        raise AvatarUsageError(f"--size: {exc}") from None
    _existing_file(audio, "audio file")
    if timings is not None:
        _existing_file(timings, "timings file")
    resolve_avatar(avatar)  # a missing twin fails before anything is rendered
    if output != STDOUT:
        n = write_presenter_video(audio, output, timings, avatar, frame_size)
        click.echo(f"avatar: wrote {output} ({n} frames, {n / 25:.2f} s)", err=True)
        return
    if sys.stdout.isatty():
        raise AvatarUsageError("refusing to write an MP4 to a terminal; use -o FILE or a pipe")
    # An MP4 is finished by seeking back to its header: made in a file, then streamed.
    with tempfile.TemporaryDirectory(prefix="avatar-render-") as folder:
        video = Path(folder) / "presenter.mp4"
        n = write_presenter_video(audio, video, timings, avatar, frame_size)
        _copy_to_stdout(video)
    click.echo(f"avatar: wrote the MP4 to stdout ({n} frames, {n / 25:.2f} s)", err=True)


@click.command("train")
@click.option(
    "--footage",
    type=click.Path(path_type=Path),
    required=True,
    help="Frontal presenter video, a few minutes long; with sound, or silent (the mouth track "
    "then comes from the face).",
)
@click.option(
    "--timings",
    type=click.Path(path_type=Path),
    default=None,
    help="Phoneme timings aligned to the footage (exact mouth track), if known.",
)
@click.option(
    "--transcript",
    type=click.Path(path_type=Path),
    default=None,
    help="What the footage says, one utterance per line (en/zh): aligned espeak-ng timings.",
)
@click.option(
    "--crop-size",
    type=click.Choice(["96", "128"]),
    default="96",
    show_default=True,
    help="Side in pixels of the square face crop the generator makes.",
)
@click.option(
    "--size",
    "legacy_size",
    type=click.Choice(["96", "128"]),
    default=None,
    hidden=True,
    help="Deprecated spelling of --crop-size (--size is WIDTHxHEIGHT in 'avatar render').",
)
@click.option(
    "--steps",
    type=click.IntRange(min=10),
    default=2000,
    show_default=True,
    help="Generator steps (the two SyncNets get half as many each).",
)
@click.option(
    "--refine-steps",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Steps of the refinement stage: the face at twice the crop size, sharp at the size "
    "shown (procedural templates; 0: none).",
)
@click.option(
    "--base-twin",
    type=click.Path(path_type=Path),
    default=None,
    help="Keep this twin's generator, template and settings; train only the evaluator and "
    "the refinement stage.",
)
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option(
    "--template",
    type=click.Choice(["footage", "procedural", "procedural-alternate"]),
    default="footage",
    show_default=True,
    help="What the twin renders over: the footage looped, or the procedural presenter.",
)
@click.option(
    "--metrics",
    "metrics_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to write metrics.json (default: beside the checkpoint).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    help="The twin checkpoint to write (fp16 weights + manifest).",
)
def train_command(
    footage: Path,
    timings: Path | None,
    transcript: Path | None,
    crop_size: str,
    legacy_size: str | None,
    steps: int,
    refine_steps: int,
    base_twin: Path | None,
    device: str,
    template: str,
    metrics_path: Path | None,
    output: Path,
) -> None:
    """Train a lip-sync twin of the presenter in FOOTAGE (resumable: rerun to continue)."""
    for name, value in (("-o", output), ("--metrics", metrics_path)):
        if value is not None and str(value) == STDOUT:
            raise AvatarUsageError(
                f"avatar train {name} - : the checkpoint, its manifest and metrics.json are "
                "files beside each other that a rerun resumes from, not a stream; give a path"
            )
    if legacy_size is not None:
        click.echo(
            "avatar: warning: 'avatar train --size' is deprecated; use --crop-size", err=True
        )
        crop_size = legacy_size
    _existing_file(footage, "footage file")
    if base_twin is not None:
        _existing_file(base_twin, "base twin")
    if timings is not None:
        _existing_file(timings, "timings file")
    synthesize = click.get_current_context().meta.get(SYNTHESIZE_KEY)
    if transcript is not None:
        _existing_file(transcript, "transcript file")
        if timings is None and synthesize is None:
            raise AvatarError(
                "--transcript needs speech synthesis to align it; run 'bulletin avatar train'"
            )
    try:
        from avatar.train import TrainSettings, train_twin
    except ImportError as exc:
        raise AvatarError(
            f"training needs torch (pip install spectator-bulletin[avatar]): {exc}"
        ) from None
    result = train_twin(
        footage,
        output,
        timings=timings,
        transcript=transcript,
        settings=TrainSettings(size=int(crop_size), steps=steps, refine_steps=refine_steps),
        device=device,
        template=template,
        metrics_path=metrics_path,
        synthesize=synthesize,
        base=base_twin,
    )
    from avatar.metrics import format_gate, gate_report

    gates = result.metrics["gates"]
    passed = sum(bool(v) for v in gates.values())
    for row in gate_report(result.metrics):
        click.echo(f"avatar: gate {format_gate(row)}", err=True)
    click.echo(
        f"avatar: wrote {result.checkpoint} and {result.metrics_path} "
        f"({passed}/{len(gates)} quality gates met)",
        err=True,
    )


def make_avatar_cli(synthesize: Synthesize | None = None) -> click.Group:
    """The ``avatar`` command group; ``synthesize`` speaks a training transcript for alignment
    (``train --transcript``), ``None`` when no synthesizer is at hand."""

    @click.group("avatar", context_settings={"help_option_names": ["-h", "--help"]})
    @click.pass_context
    def group(ctx: click.Context) -> None:
        """The presenter: render lip-synced video, train a digital twin."""
        ctx.meta[SYNTHESIZE_KEY] = synthesize

    group.add_command(render_command)
    group.add_command(train_command)
    return group


avatar_cli = make_avatar_cli()
"""The group without a speech synthesizer, as ``python -m avatar.cli`` runs it."""


def main(argv: list[str] | None = None) -> None:
    """Run ``avatar_cli`` alone (``python -m avatar.cli``) with one-line errors."""
    try:
        code = avatar_cli.main(args=argv, prog_name="avatar", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("avatar: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except AvatarError as exc:
        click.echo(f"avatar: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("avatar: interrupted", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
