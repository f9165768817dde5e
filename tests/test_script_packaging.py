"""The shipped templates travel in the wheel and are found after installation.

``templates/`` at the repository root is the canonical copy; the wheel installs it as data
files under ``<prefix>/share/spectator-bulletin/templates``. This builds the wheel from a copy of
the sources (offline: no build isolation, no dependencies), installs it into a fresh virtual
environment and with ``pip --target``, and asks each installation where its templates are.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from bulletin.wording import INSTALLED_TEMPLATES, shipped_templates_dir

from .clirun import REPO

TEMPLATE_FILES = sorted(p.name for p in (REPO / "templates").iterdir() if p.is_file())
PROBE = (
    "import bulletin, bulletin.wording as w; print(bulletin.__file__); "
    "print(w.shipped_templates_dir())"
)


def _run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        if (REPO / name).exists():
            shutil.copy2(REPO / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for folder in ("bulletin", "avatar", "templates"):
        shutil.copytree(REPO / folder, source / folder, ignore=ignore)
    out = tmp_path_factory.mktemp("wheel")
    pip = (sys.executable, "-m", "pip")
    _run(*pip, "wheel", "--no-build-isolation", "--no-deps", "-q", str(source), "-w", str(out),
         cwd=source)  # fmt: skip
    (built,) = out.glob("spectator_bulletin-*.whl")
    return built


def test_checkout_uses_the_root_templates():
    assert shipped_templates_dir() == REPO / "templates"
    assert {
        "venue.zh.j2",
        "venue.en.j2",
        "overview.zh.j2",
        "overview.en.j2",
        "wording.toml",
    } <= set(TEMPLATE_FILES)


def test_wheel_carries_every_template(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for name in TEMPLATE_FILES:
        suffix = f".data/data/{INSTALLED_TEMPLATES.as_posix()}/{name}"
        assert any(n.endswith(suffix) for n in names), f"{name} is not in {wheel.name}"


def _same_files(folder: Path) -> None:
    _, mismatch, errors = filecmp.cmpfiles(REPO / "templates", folder, TEMPLATE_FILES)
    assert not mismatch and not errors, (mismatch, errors)


def test_installed_wheel_finds_its_templates_in_a_virtual_environment(wheel, tmp_path):
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", str(venv), cwd=tmp_path)
    python = venv / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
         str(wheel), cwd=tmp_path)  # fmt: skip
    # The dependencies come from this environment's site-packages (a .pth file does not pull in
    # this checkout's editable install, whose own .pth is not read from there).
    site = Path(_run(str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))",
                     cwd=tmp_path).strip())  # fmt: skip
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    package, folder = _run(str(python), "-c", PROBE, cwd=tmp_path, env=env).split()
    assert Path(package).is_relative_to(venv), package
    assert Path(folder) == (venv / INSTALLED_TEMPLATES).resolve()
    _same_files(Path(folder))


def test_installed_wheel_finds_its_templates_with_pip_target(wheel, tmp_path):
    target = tmp_path / "target"
    _run(sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
         str(wheel), cwd=tmp_path)  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(target)}
    package, folder = _run(sys.executable, "-c", PROBE, cwd=tmp_path, env=env).split()
    assert Path(package).is_relative_to(target), package
    assert Path(folder) == (target / INSTALLED_TEMPLATES).resolve()
    _same_files(Path(folder))
