"""The speech stage's files through :mod:`bulletin.output`, its failures as :class:`SpeechError`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from bulletin.errors import SpeechError
from bulletin.output import OutputError, atomic_path, check_writable_folder, write_text


def prepare_output_dir(out_dir: Path) -> Path:
    """Create ``out_dir`` if needed and check that files can be created in it."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SpeechError(
            f"cannot create speech output folder {out_dir}: {error.strerror or error}"
        ) from None
    try:
        check_writable_folder(out_dir)
    except OutputError as error:
        raise SpeechError(f"speech output folder {out_dir} is not writable ({error})") from None
    return out_dir


def _speech_error(path: Path, error: Exception) -> SpeechError:
    text = str(error)
    return SpeechError(text if text.startswith("cannot write") else f"cannot write {path}: {text}")


@contextlib.contextmanager
def speech_file(path: Path) -> Iterator[Path]:
    """:func:`bulletin.output.atomic_path` for the speech stage: yields the temporary file
    that becomes ``path`` when the block succeeds."""
    try:
        with atomic_path(path) as temporary:
            yield temporary
    except OutputError as error:
        raise _speech_error(Path(path), error) from None


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    try:
        write_text(path, text)
    except OutputError as error:
        raise _speech_error(Path(path), error) from None
