"""``manifest.json``: what a daily run read, made and skipped, for monitors and the page.

Schema (``bulletin.daily.page`` reads it; keys are stable)::

    {"tool": "spectator-bulletin", "version": str, "run_id": str,
     "started_utc": iso, "finished_utc": iso, "forecast_init_utc": iso,
     "date": "YYYY-MM-DD", "languages": [...],
     "inputs": [{"path": str, "sha256": str, "bytes": int}],
     "config": {...}, "stage_seconds": {"indices": float, ...},
     "units": [{"venue_id", "venue_name": {"en", "zh"}, "lang",
                "status": "ok" | "failed" | "skipped", "error": str | null,
                "folder": "<venue>/<lang>", "outputs": {"<file>": {"sha256", "bytes"}},
                "speech_seconds": float | null, "stage_seconds": {...},
                "loudness": {"integrated_lufs", "true_peak_dbtp", "target_lufs", ...} | null,
                "speech": {"engine", "voice", "licence"} | null}],
     "overview": [{"lang", "status", "error", "folder": "_overview/<lang>", "outputs": {...},
                   "loudness": {...} | null, "speech": {...} | null}],
     "page": {"agency": str | null, "logo": "logo.png" | null, "timezone": IANA zone | null,
              "site_url": str | null},
     "opendata": {"source": "ecmwf-opendata:<model>", "server": str, "init_utc": iso,
                  "steps": [int], "params": [str], "absent_params": [str],
                  "reused_cache": bool, "files": [{"path", "sha256", "bytes"}]}}

``opendata`` is there only when the forecast was fetched from ECMWF open data
(:mod:`bulletin.readers.opendata`): the run, what was fetched and what the model did not
publish, whether the cache of an earlier fetch was reused, and each fetched file's SHA-256
(computed again here from the file read, not copied from the cache's record).

``page`` is what the public pages show beyond the bulletins (:func:`bulletin.daily.page.page_record`):
the issuing agency, its logo copied into the run folder, the venues' time zone for the times
shown, and the address the output root is published at.

``skipped`` means finished by an earlier run (the complete folder was there); its outputs are
still listed. Folders are relative to the run folder ``ROOT/<init date>/<init hour>Z``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ForecastError
from ..output import atomic_path

if TYPE_CHECKING:
    from ..readers.opendata import FetchedRun

MANIFEST_NAME = "manifest.json"
TOOL = "spectator-bulletin"


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file, read in 1 MiB pieces."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def file_record(path: str | Path) -> dict[str, Any]:
    """``{"path", "sha256", "bytes"}`` of an input file."""
    path = Path(path)
    return {"path": str(path), "sha256": file_sha256(path), "bytes": path.stat().st_size}


def opendata_record(fetched: FetchedRun) -> dict[str, Any]:
    """The manifest's ``opendata`` entry for a fetched run (module docstring); raises
    :class:`~bulletin.errors.ForecastError` when a file no longer matches the fetch."""
    record = fetched.to_manifest()
    files = [file_record(entry["path"]) for entry in record["files"]]
    for entry, now in zip(record["files"], files, strict=True):
        if entry["sha256"] != now["sha256"]:
            raise ForecastError(
                f"fetched forecast file {entry['path']} changed during the run "
                f"(sha256 {now['sha256']}, fetched as {entry['sha256']})"
            )
    return {**record, "files": files}


def folder_outputs(folder: Path) -> dict[str, dict[str, Any]]:
    """Every regular file directly in ``folder`` by name: ``{"sha256", "bytes"}`` (hidden
    files, such as leftovers of an interrupted write, are not outputs)."""
    outputs = {}
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.name.startswith(".") or not entry.is_file(follow_symlinks=False):
            continue
        outputs[entry.name] = {"sha256": file_sha256(entry.path), "bytes": entry.stat().st_size}
    return outputs


def speech_loudness(folder: Path) -> dict[str, Any] | None:
    """The loudness measured on the unit's ``speech.wav`` as its ``script.json`` records it
    (``speech.loudness``, :meth:`bulletin.speech.Loudness.to_json`), or None."""
    speech = _script_speech(folder)
    loudness = speech.get("loudness") if isinstance(speech, dict) else None
    return loudness if isinstance(loudness, dict) else None


def speech_voice(folder: Path) -> dict[str, Any] | None:
    """The engine that spoke the unit, its voice and their licence as its ``script.json``
    records them (:func:`bulletin.pipeline.speak_script`), or None."""
    speech = _script_speech(folder)
    if not isinstance(speech, dict) or "engine" not in speech:
        return None
    return {key: speech.get(key) for key in ("engine", "voice", "licence")}


def _script_speech(folder: Path) -> Any:
    try:
        script = json.loads((Path(folder) / "script.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return script.get("speech") if isinstance(script, dict) else None


def write_manifest(run_folder: Path, manifest: dict[str, Any]) -> Path:
    """Write ``run_folder/manifest.json`` atomically (UTF-8, indented, sorted units)."""
    path = run_folder / MANIFEST_NAME
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


def read_manifest(run_folder: Path) -> dict[str, Any] | None:
    """The manifest of an earlier run in ``run_folder``, or None (absent or unreadable)."""
    try:
        return json.loads((run_folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


__all__ = [
    "MANIFEST_NAME",
    "TOOL",
    "file_record",
    "file_sha256",
    "folder_outputs",
    "opendata_record",
    "read_manifest",
    "speech_loudness",
    "speech_voice",
    "write_manifest",
]
