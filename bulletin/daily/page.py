"""The daily run's ``index.html``: every venue's bulletin in every language, on one phone-sized page.

``write_index_html(run_folder, manifest)`` renders ``page.html.j2`` (jinja2, autoescape on) from
the run's manifest (schema in :mod:`bulletin.daily.manifest`) and writes
``run_folder/index.html`` atomically. The page holds, per language, the forecast init time,
tool version and run id, the overview (audio player and script text) and, per venue, the
video (``<video controls preload="metadata">`` with the poster as its face and the WebVTT
subtitles as a ``<track>``; the poster alone where there is no video), the chart and links to
the index table (CSV), poster, subtitles and script; a failed unit shows its error instead. It needs no network and no script: styles are inline, links are
relative and percent-encoded, and the language switch is CSS ``:target`` over one section per
language (the first language in the manifest shows by default).

A link is made only to a file the manifest lists for its unit and that exists in the run
folder, and only from a folder of plain path segments inside the run folder, so a manifest
cannot point the page outside the run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2

from ..errors import BulletinError
from ..output import atomic_path

PAGE_NAME = "index.html"
TEMPLATE_NAME = "page.html.j2"

# One path segment of a unit folder or file name: what venue ids (a-z0-9-_), "_overview",
# language codes and our file names use. No leading dot, so "." and ".." cannot match.
_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")
_STATUSES = ("ok", "failed", "skipped")


class PageError(BulletinError):
    """The manifest cannot be turned into the index page (a missing key, a bad value)."""


@dataclass(frozen=True)
class _Labels:
    """The page's words in one language."""

    html_lang: str
    language_name: str
    heading: str
    forecast_init: str
    finished: str
    run_id: str
    counts: str
    ai_notice: str
    overview: str
    no_overview: str
    venues: str
    failed: str
    video: str
    duration: str
    chart: str
    chart_alt: str
    poster_alt: str
    csv: str
    poster: str
    subtitles: str
    script: str
    audio: str
    alerts: str


LABELS = {
    "zh": _Labels(
        html_lang="zh-Hans",
        language_name="中文",
        heading="观赛气象服务",
        forecast_init="预报起报时间",
        finished="生成时间",
        run_id="运行编号",
        counts="成功 {ok} 个，失败 {failed} 个",
        ai_notice="视频中的主播由人工智能生成（AI生成主播）。",
        overview="各场馆总览",
        no_overview="本次运行没有总览。",
        venues="场馆播报",
        failed="生成失败",
        video="下载视频",
        duration="时长",
        chart="当日逐时气温、体感温度与指数等级",
        chart_alt="{venue}当日逐时图表",
        poster_alt="{venue}观赛气象摘要",
        csv="指数表 (CSV)",
        poster="摘要图 (PNG)",
        subtitles="字幕 (WebVTT)",
        script="文稿",
        audio="音频",
        alerts="预警",
    ),
    "en": _Labels(
        html_lang="en",
        language_name="English",
        heading="Spectator weather bulletins",
        forecast_init="Forecast initialised",
        finished="Published",
        run_id="Run",
        counts="{ok} ready, {failed} failed",
        ai_notice="The presenter in the videos is AI-generated.",
        overview="Overview of all venues",
        no_overview="This run has no overview.",
        venues="Venues",
        failed="Failed",
        video="Download the video",
        duration="Length",
        chart="The day's hourly temperature, wind chill and index levels",
        chart_alt="Hourly chart for {venue}",
        poster_alt="Spectator weather summary for {venue}",
        csv="Index table (CSV)",
        poster="Summary card (PNG)",
        subtitles="Subtitles (WebVTT)",
        script="Script",
        audio="Audio",
        alerts="Alerts",
    ),
}


def write_index_html(run_folder: Path, manifest: dict) -> Path:
    """Write ``run_folder/index.html`` for ``manifest`` atomically and return its path.

    Raises :class:`PageError` (one line, naming the key and value) for a manifest that lacks a
    key the page shows or holds a value of the wrong kind, or a unit folder that is not a plain
    relative path inside the run folder.
    """
    run_folder = Path(run_folder)
    html = render_index_html(run_folder, manifest)
    target = run_folder / PAGE_NAME
    with atomic_path(target) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return target


def render_index_html(run_folder: Path, manifest: Mapping[str, Any]) -> str:
    """The page's HTML for ``manifest``, with links checked against the files in ``run_folder``."""
    run_folder = Path(run_folder)
    if not isinstance(manifest, Mapping):
        raise PageError(f"manifest must be a JSON object, got {type(manifest).__name__}")
    languages = _languages(manifest)
    units = _list(manifest, "units")
    overview = _list(manifest, "overview")
    sections = [
        _section(run_folder, lang, i == 0, units, overview) for i, lang in enumerate(languages)
    ]
    # The default (first) language goes last in the page: see the :target rule in the template.
    page_order = sections[1:] + sections[:1]
    context = {
        "tool": _text(manifest, "tool"),
        "version": _text(manifest, "version"),
        "run_id": _text(manifest, "run_id"),
        "date": _text(manifest, "date"),
        "forecast_init": _utc_text(manifest, "forecast_init_utc"),
        "finished": _utc_text(manifest, "finished_utc"),
        "title": " · ".join(_labels(lang).heading for lang in languages)
        + f" {_text(manifest, 'date')}",
        "sections": sections,
        "sections_in_page_order": page_order,
        "default_lang": _labels(languages[0]),
    }
    return _environment().get_template(TEMPLATE_NAME).render(context)


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def _labels(lang: str) -> _Labels:
    # A language without its own words (the bulletin languages are zh and en) gets English
    # labels but its own code, so the browser still picks the right fonts.
    labels = LABELS.get(lang)
    if labels is None:
        return dataclasses.replace(LABELS["en"], html_lang=lang, language_name=lang)
    return labels


def _section(
    run_folder: Path, lang: str, default: bool, units: list, overview: list
) -> dict[str, Any]:
    labels = _labels(lang)
    cards = [
        _unit_card(run_folder, unit, lang, labels, i)
        for i, unit in enumerate(units)
        if _text(unit, "lang", where=f"units[{i}]") == lang
    ]
    items = [
        _overview_item(run_folder, item, labels, i)
        for i, item in enumerate(overview)
        if _text(item, "lang", where=f"overview[{i}]") == lang
    ]
    return {
        "lang": lang,
        "anchor": _anchor(lang),
        "html_lang": labels.html_lang,
        "default": default,
        "t": labels,
        # The banner: every venue's warnings (bulletin.script.Script.alerts), venue order.
        "alerts": [{**alert, "venue": card["name"]} for card in cards for alert in card["alerts"]],
        "units": cards,
        "overview": items,
        "ok": sum(not card["failed"] for card in cards),
        "failed": sum(card["failed"] for card in cards),
    }


def _unit_card(
    run_folder: Path, unit: Mapping[str, Any], lang: str, labels: _Labels, position: int
) -> dict[str, Any]:
    where = f"units[{position}]"
    venue_id = _text(unit, "venue_id", where=where)
    status = _status(unit, where)
    card: dict[str, Any] = {
        "anchor": _anchor(f"{lang}-{venue_id}"),
        "name": _venue_name(unit, lang, venue_id, where),
        "failed": status == "failed",
        "error": _error_text(unit) if status == "failed" else "",
        "alerts": [],
    }
    if card["failed"]:
        return card
    files = _files(run_folder, unit, where)
    card.update(
        alerts=_alerts(files, where),
        poster=_image(files, "poster.png"),
        chart=_image(files, "chart.png"),
        video=_href(files, "bulletin.mp4"),
        vtt=_href(files, "subtitles.vtt"),
        duration=_duration_text(unit.get("speech_seconds"), where),
        links=_links(
            files,
            [
                ("indices.csv", labels.csv),
                ("poster.png", labels.poster),
                ("subtitles.vtt", labels.subtitles),
                ("script.txt", labels.script),
            ],
        ),
    )
    return card


def _overview_item(
    run_folder: Path, item: Mapping[str, Any], labels: _Labels, position: int
) -> dict[str, Any]:
    where = f"overview[{position}]"
    if _status(item, where) == "failed":
        return {"failed": True, "error": _error_text(item)}
    files = _files(run_folder, item, where)
    script_text = ""
    if "script.txt" in files:
        script = files["script.txt"].path
        script_text = script.read_text(encoding="utf-8", errors="replace").strip()
    return {
        "failed": False,
        "audio": _href(files, "speech.wav"),
        "script_text": script_text,
        "links": _links(
            files,
            [
                ("speech.wav", labels.audio),
                ("script.txt", labels.script),
                ("subtitles.vtt", labels.subtitles),
            ],
        ),
    }


#: The colours of the warnings a script may carry (bulletin.facts.alerts.COLOURS).
_ALERT_COLOURS = ("blue", "yellow", "orange", "red")


def _alerts(files: Mapping[str, _File], where: str) -> list[dict[str, str]]:
    """The warnings in a unit's ``script.json`` (``alerts``: title, text, colour), if listed."""
    if "script.json" not in files:
        return []
    path = files["script.json"].path
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PageError(f"{where}: cannot read {path}: {exc}") from None
    entries = document.get("alerts", []) if isinstance(document, Mapping) else []
    if not isinstance(entries, list):
        raise PageError(f"{where}: {path} alerts must be a list, got {entries!r}")
    alerts = []
    for entry in entries:
        if not isinstance(entry, Mapping) or entry.get("colour") not in _ALERT_COLOURS:
            raise PageError(f"{where}: {path} has a malformed alert {entry!r}")
        alerts.append({key: str(entry.get(key, "")) for key in ("title", "text", "colour", "kind")})
    return alerts


@dataclass(frozen=True)
class _File:
    path: Path  # on disk
    href: str  # relative to the page, percent-encoded


def _files(run_folder: Path, entry: Mapping[str, Any], where: str) -> dict[str, _File]:
    """The entry's listed outputs that exist in its folder, by file name."""
    folder = _folder(entry, where)
    outputs = entry.get("outputs")
    if outputs is None:
        return {}
    if not isinstance(outputs, Mapping):
        raise PageError(f"manifest {where}.outputs must be an object, got {outputs!r}")
    found = {}
    for name in outputs:
        if not isinstance(name, str) or not _SEGMENT.fullmatch(name):
            raise PageError(f"manifest {where}.outputs has an unsafe file name {name!r}")
        path = run_folder / folder / name
        if path.is_file():
            found[name] = _File(path, "/".join(quote(part) for part in (*folder.parts, name)))
    return found


def _folder(entry: Mapping[str, Any], where: str) -> Path:
    folder = _text(entry, "folder", where=where)
    parts = folder.split("/")
    if not all(_SEGMENT.fullmatch(part) for part in parts):
        raise PageError(
            f"manifest {where}.folder {folder!r} is not a relative folder inside the run "
            "(plain names of a-z, 0-9, '.', '-' or '_' joined by '/')"
        )
    return Path(*parts)


def _image(files: Mapping[str, _File], name: str) -> dict[str, Any] | None:
    if name not in files:
        return None
    from PIL import Image

    # The size reserves the image's place before it loads (no layout jumps on a phone).
    try:
        with Image.open(files[name].path) as image:
            width, height = image.size
    except OSError:  # not an image Pillow reads: the browser may still show it
        width = height = None
    return {"href": files[name].href, "width": width, "height": height}


def _href(files: Mapping[str, _File], name: str) -> str | None:
    return files[name].href if name in files else None


def _links(files: Mapping[str, _File], wanted: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"href": files[name].href, "label": label} for name, label in wanted if name in files]


def _venue_name(unit: Mapping[str, Any], lang: str, venue_id: str, where: str) -> str:
    names = unit.get("venue_name") or {}
    if not isinstance(names, Mapping):
        raise PageError(f"manifest {where}.venue_name must be an object, got {names!r}")
    for key in (lang, "en", "zh"):
        name = names.get(key)
        if isinstance(name, str) and name.strip():
            return name
    return venue_id


def _status(entry: Mapping[str, Any], where: str) -> str:
    status = _text(entry, "status", where=where)
    if status not in _STATUSES:
        raise PageError(
            f"manifest {where}.status is {status!r}; expected one of {', '.join(_STATUSES)}"
        )
    return status


def _error_text(entry: Mapping[str, Any]) -> str:
    error = entry.get("error")
    return str(error) if error else "unknown error"


def _duration_text(seconds: Any, where: str) -> str:
    if seconds is None:
        return ""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        raise PageError(f"manifest {where}.speech_seconds must be a number >= 0, got {seconds!r}")
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def _languages(manifest: Mapping[str, Any]) -> list[str]:
    languages = manifest.get("languages")
    if (
        not isinstance(languages, list)
        or not languages
        or not all(isinstance(lang, str) and _SEGMENT.fullmatch(lang) for lang in languages)
    ):
        raise PageError(
            f"manifest languages must be a non-empty list of language codes, got {languages!r}"
        )
    return list(dict.fromkeys(languages))


def _list(manifest: Mapping[str, Any], key: str) -> list:
    value = manifest.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise PageError(f"manifest {key} must be a list of objects, got {value!r}")
    return value


def _text(entry: Mapping[str, Any], key: str, *, where: str = "") -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value:
        name = f"{where}.{key}" if where else key
        raise PageError(f"manifest {name} must be a non-empty string, got {value!r}")
    return value


def _utc_text(manifest: Mapping[str, Any], key: str) -> str:
    """An ISO 8601 time from the manifest as ``YYYY-MM-DD HH:MM UTC`` (naive = UTC)."""
    text = _text(manifest, key)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise PageError(f"manifest {key} is not an ISO 8601 time: {text!r}") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _anchor(text: str) -> str:
    # Fragment ids stay in [A-Za-z0-9_-] (already true of venue ids and language codes).
    return re.sub(r"[^A-Za-z0-9_-]", "-", text)
