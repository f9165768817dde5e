"""bulletin.output: atomic files and folders, and the targets it refuses to clobber."""

from __future__ import annotations

import os
import socket
import stat

import pytest

from bulletin.output import (
    OutputError,
    atomic_folder,
    atomic_path,
    check_writable_folder,
    write_text,
)

from .clirun import REPO, run_cli

SAMPLE_NC = REPO / "samples" / "forecast_cf.nc"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_file_written_atomically_with_umask_permissions(tmp_path):
    target = tmp_path / "a.txt"
    write_text(target, "one\n")
    assert target.read_text() == "one\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~_umask()
    write_text(target, "two\n")
    assert target.read_text() == "two\n"
    assert _leftovers(tmp_path) == []


def test_failed_block_leaves_the_old_file(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert _leftovers(tmp_path) == []


def test_symlink_is_written_through(tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    write_text(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new"


def test_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.txt"
    link.symlink_to(tmp_path / "made.txt")
    write_text(link, "x")
    assert link.is_symlink() and (tmp_path / "made.txt").read_text() == "x"


def test_fifo_is_refused_and_untouched(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match="it is a FIFO"):
        write_text(fifo, "x")
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert _leftovers(tmp_path) == []


def test_symlink_to_a_fifo_is_refused(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "link"
    link.symlink_to(fifo)
    with pytest.raises(OutputError, match="it is a FIFO"):
        write_text(link, "x")
    assert link.is_symlink() and stat.S_ISFIFO(fifo.stat().st_mode)


def test_directory_is_refused_and_untouched(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "keep").write_text("k")
    with pytest.raises(OutputError, match="it is a directory"):
        write_text(folder, "x")
    assert (folder / "keep").read_text() == "k"


def test_socket_is_refused(tmp_path):
    path = tmp_path / "s.sock"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
        with pytest.raises(OutputError, match="it is a socket"):
            write_text(path, "x")
        assert stat.S_ISSOCK(path.stat().st_mode)
    finally:
        server.close()


def test_character_device_is_refused(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("os.mknod of a character device needs root")
    device = tmp_path / "null"
    os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    with pytest.raises(OutputError, match="it is a character device"):
        write_text(device, "x")
    assert stat.S_ISCHR(device.stat().st_mode)


def test_dev_null_is_refused():
    with pytest.raises(OutputError, match="it is a character device"):
        write_text("/dev/null", "x")


def test_cli_output_onto_a_fifo_is_a_one_line_error(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    result = run_cli("indices", str(SAMPLE_NC), "--venue", "genting-snow-park", "-o", str(fifo))
    assert result.returncode == OutputError.exit_code
    lines = result.stderr.strip().splitlines()
    assert lines == [f"bulletin: error: refusing to write over {fifo}: it is a FIFO"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_cli_output_onto_a_directory_is_a_one_line_error(tmp_path):
    result = run_cli("indices", str(SAMPLE_NC), "-o", str(tmp_path))
    assert result.returncode == OutputError.exit_code
    assert result.stderr.strip() == (
        f"bulletin: error: refusing to write over {tmp_path}: it is a directory"
    )


def test_folder_replaced_only_when_complete(tmp_path):
    folder = tmp_path / "unit"
    with atomic_folder(folder) as tmp:
        (tmp / "a").write_text("1")
    assert (folder / "a").read_text() == "1"
    with pytest.raises(RuntimeError), atomic_folder(folder) as tmp:
        (tmp / "b").write_text("2")
        raise RuntimeError("boom")
    assert sorted(p.name for p in folder.iterdir()) == ["a"]
    with atomic_folder(folder) as tmp:
        (tmp / "c").write_text("3")
    assert sorted(p.name for p in folder.iterdir()) == ["c"]
    assert _leftovers(tmp_path) == []
    assert stat.S_IMODE(folder.stat().st_mode) == 0o777 & ~_umask()


def test_folder_over_a_file_is_refused(tmp_path):
    blocker = tmp_path / "unit"
    blocker.write_text("file")
    with pytest.raises(OutputError, match="not a directory"), atomic_folder(blocker):
        pass
    assert blocker.read_text() == "file"


def test_check_writable_folder(tmp_path):
    assert check_writable_folder(tmp_path / "a" / "b").is_dir()
    blocker = tmp_path / "f"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="cannot write in output folder"):
        check_writable_folder(blocker / "sub")
