"""The daily run's public pages: each run's ``index.html``, ``latest/`` and the index of runs.

``write_index_html(run_folder, manifest)`` renders ``page.html.j2`` (jinja2, autoescape on) from
the run's manifest (schema in :mod:`bulletin.daily.manifest`) and writes
``run_folder/index.html`` atomically. The page holds, per language, the bulletin day, the
forecast's issue time and the publication time in the venues' local time zone with the zone
named (``2022-02-04 20:00 北京时间 (UTC+8)``), the issuing agency's name and logo, the overview
(its video when the overview folder holds ``overview.mp4``, else its audio; and the script
text) and, per venue, the video (``<video controls preload="metadata">`` with the poster as its
face and the WebVTT subtitles as a ``<track>``; the poster alone where there is no video), the
chart and links to the index table (CSV), poster, subtitles and script; a failed unit shows its
error instead. The run id and the tool's version stay in the manifest, not on the public page.
Open Graph metadata (https://ogp.me/) name the page for sharing: ``og:image`` is the overview's
``thumbnail.jpg`` (else the first venue's, else its poster).

The page needs no network and no script: styles are inline, links are relative and
percent-encoded, and the language switch is CSS ``:target`` over one section per language
(the first language in the manifest shows by default).

``write_site_pages(root)`` writes, under the daily output root, ``latest/index.html`` (the
newest run's page, by forecast time, rendered again with its links pointing into that run's
folder: a copy, because static hosts do not all follow symbolic links) and ``index.html``
(every run, newest first). Both are written atomically (:func:`bulletin.output.atomic_path`).

The manifest's optional ``page`` entry (made by :func:`page_record`: ``agency``, ``logo``,
``timezone``, ``site_url``) carries what the page shows beyond the bulletins; without it the
times are in UTC and no agency is named.

A link is made only to a file the manifest lists for its unit and that exists in the run
folder, and only from a folder of plain path segments inside the run folder, so a manifest
cannot point the page outside the run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2

from ..errors import BulletinError
from ..output import atomic_path, storage_error
from ..wording import local_time_text
from .manifest import read_manifest

PAGE_NAME = "index.html"
TEMPLATE_NAME = "page.html.j2"
#: The folder, under the daily output root, of the newest run's page.
LATEST_FOLDER = "latest"
#: The file names of a bulletin's sharing picture and of the overview's video.
THUMBNAIL_NAME = "thumbnail.jpg"
OVERVIEW_VIDEO_NAME = "overview.mp4"
#: The logo's formats: pictures Pillow reads, so the page can reserve their size.
LOGO_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
# A run folder under the root: ROOT/<init YYYY-MM-DD>/<init HH>Z (bulletin.daily.run).
_RUN_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_RUN_HOUR = re.compile(r"\d{2}Z")

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
    counts: str
    issued_by: str
    archive: str
    latest: str
    day: str
    open_run: str
    no_runs: str
    share_description: str
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


#: The Open Graph locale (language_TERRITORY, https://ogp.me/#optional) of each language.
OG_LOCALES = {"zh": "zh_CN", "en": "en_US"}

LABELS = {
    "zh": _Labels(
        html_lang="zh-Hans",
        language_name="中文",
        heading="观赛气象服务",
        forecast_init="起报时间",
        finished="发布时间",
        counts="成功 {ok} 个，失败 {failed} 个",
        issued_by="发布单位",
        archive="历次发布",
        latest="最新一期",
        day="预报日期",
        open_run="查看",
        no_runs="尚无发布。",
        share_description="{date}{venues}观赛气象视频播报",
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
        forecast_init="Forecast issued",
        finished="Published",
        counts="{ok} ready, {failed} failed",
        issued_by="Issued by",
        archive="All bulletins",
        latest="Latest",
        day="Day",
        open_run="Open",
        no_runs="Nothing published yet.",
        share_description="Spectator weather video bulletins for {venues}, {date}",
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


def page_record(
    run_folder: Path,
    *,
    timezone: str | None = None,
    agency: str | None = None,
    logo: Path | None = None,
    site_url: str | None = None,
) -> dict[str, Any]:
    """The manifest's ``page`` entry of a run, copying ``logo`` into the run folder.

    ``timezone`` is the IANA zone the page gives its times in (the venues' zone); ``agency``
    the issuing agency's name; ``logo`` a PNG, JPEG or WebP picture, copied atomically to
    ``run_folder/logo<suffix>`` so the run stays complete on its own; ``site_url`` the
    address the output root is published at (makes the Open Graph links absolute). Raises
    :class:`PageError` for an unknown zone or a logo that is missing or of another format.
    """
    if timezone is not None:
        _zone(timezone)
    logo_name = None
    if logo is not None:
        logo = Path(logo)
        suffix = logo.suffix.lower()
        if suffix not in LOGO_SUFFIXES:
            raise PageError(f"logo {logo} must be one of {', '.join(LOGO_SUFFIXES)}")
        if not logo.is_file():
            raise PageError(f"logo {logo} does not exist")
        logo_name = f"logo{suffix}"
        try:
            with atomic_path(Path(run_folder) / logo_name) as tmp:
                shutil.copyfile(logo, tmp)
        except OSError as exc:
            raise storage_error(exc, logo) from None
    return {
        "agency": agency,
        "logo": logo_name,
        "timezone": timezone,
        "site_url": site_url.rstrip("/") + "/" if site_url else None,
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


def render_index_html(
    run_folder: Path, manifest: Mapping[str, Any], *, base: str = "", home: str | None = None
) -> str:
    """The page's HTML for ``manifest``, with links checked against the files in ``run_folder``.

    ``base`` is the run folder's address from where the page is (``""`` for the run's own
    page, ``"../2022-02-04/12Z/"`` for ``latest/``); ``home`` the address of the index of runs
    (default: ``../../index.html`` when ``run_folder`` is a run folder under a daily root)."""
    run_folder = Path(run_folder)
    if not isinstance(manifest, Mapping):
        raise PageError(f"manifest must be a JSON object, got {type(manifest).__name__}")
    if home is None and _is_run_folder(run_folder):
        home = "../../" + PAGE_NAME
    languages = _languages(manifest)
    units = _list(manifest, "units")
    overview = _list(manifest, "overview")
    page = _page_settings(run_folder, manifest, base)
    sections = [
        _section(run_folder, lang, i == 0, units, overview, base, page, manifest)
        for i, lang in enumerate(languages)
    ]
    # The default (first) language goes last in the page: see the :target rule in the template.
    page_order = sections[1:] + sections[:1]
    first = sections[0]
    context = {
        "kind": "run",
        "date": _text(manifest, "date"),
        "title": _title(page, languages, _text(manifest, "date")),
        "heading": _title({"agency": None}, languages, _text(manifest, "date")),
        "sections": sections,
        "sections_in_page_order": page_order,
        "default_lang": _labels(languages[0]),
        "agency": page["agency"],
        "logo": page["logo"],
        "home": home,
        "latest": None,
        "og": _open_graph(page, first, languages, base),
    }
    return _environment().get_template(TEMPLATE_NAME).render(context)


@dataclass(frozen=True)
class RunPage:
    """A run folder under a daily output root, with its manifest."""

    folder: Path  # ROOT/<YYYY-MM-DD>/<HH>Z
    href: str  # the folder relative to ROOT, ending in "/"
    manifest: Mapping[str, Any]


def find_runs(root: Path) -> list[RunPage]:
    """Every run folder under ``root`` that holds a readable manifest, newest forecast first."""
    root = Path(root)
    runs = []
    if not root.is_dir():
        return runs
    for day in sorted(root.iterdir(), reverse=True):
        if not (_RUN_DAY.fullmatch(day.name) and day.is_dir()):
            continue
        for hour in sorted(day.iterdir(), reverse=True):
            if not (_RUN_HOUR.fullmatch(hour.name) and hour.is_dir()):
                continue
            manifest = read_manifest(hour)
            if isinstance(manifest, Mapping):
                runs.append(RunPage(hour, f"{day.name}/{hour.name}/", manifest))
    return runs


def write_site_pages(root: Path) -> tuple[Path, Path] | None:
    """Write ``root/latest/index.html`` (the newest run's page) and ``root/index.html`` (every
    run, newest first) atomically; return their paths, or None when ``root`` holds no run.
    A run whose manifest cannot be shown (:class:`PageError`) is left out of both."""
    root = Path(root)
    runs, latest_html = [], None
    for run in find_runs(root):
        try:  # a run whose manifest the page cannot show is left out, not fatal to this one
            html = render_index_html(
                run.folder, run.manifest, base="../" + run.href, home="../" + PAGE_NAME
            )
            _languages(run.manifest)
        except PageError:
            continue
        latest_html = latest_html or html
        runs.append(run)
    if not runs:
        return None
    latest_folder = root / LATEST_FOLDER
    try:
        latest_folder.mkdir(exist_ok=True)
    except OSError as exc:
        raise storage_error(exc, latest_folder) from None
    latest = latest_folder / PAGE_NAME
    with atomic_path(latest) as tmp:
        tmp.write_text(latest_html, encoding="utf-8")
    index = root / PAGE_NAME
    with atomic_path(index) as tmp:
        tmp.write_text(render_runs_html(runs), encoding="utf-8")
    return latest, index


def render_runs_html(runs: list[RunPage]) -> str:
    """The index of runs (``runs`` newest first, as :func:`find_runs` gives them), in the
    newest run's languages, agency and logo."""
    newest = runs[0]
    page = _page_settings(newest.folder, newest.manifest, newest.href)
    languages = _languages(newest.manifest)
    sections = []
    for i, lang in enumerate(languages):
        labels = _labels(lang)
        rows = []
        for run in runs:
            if lang not in _languages(run.manifest):
                continue
            units = [u for u in _list(run.manifest, "units") if u.get("lang") == lang]
            run_page = _page_settings(run.folder, run.manifest, run.href)
            ok = sum(u.get("status") in ("ok", "skipped") for u in units)
            rows.append(
                {
                    "href": run.href + PAGE_NAME + "#" + _anchor(lang),
                    "date": _text(run.manifest, "date"),
                    "issued": _local_text(run.manifest, "forecast_init_utc", run_page, lang),
                    "counts": labels.counts.format(ok=ok, failed=len(units) - ok),
                    "venues": "、".join(_venue_name(u, lang, str(u.get("venue_id")), "units")
                                        for u in units) if lang == "zh" else ", ".join(
                        _venue_name(u, lang, str(u.get("venue_id")), "units") for u in units),
                }
            )  # fmt: skip
        sections.append(
            {
                "lang": lang,
                "anchor": _anchor(lang),
                "html_lang": labels.html_lang,
                "default": i == 0,
                "t": labels,
                "runs": rows,
            }
        )
    context = {
        "kind": "runs",
        "date": _text(newest.manifest, "date"),
        "title": _title(page, languages, None),
        "heading": _title({"agency": None}, languages, None),
        "sections": sections,
        "sections_in_page_order": sections[1:] + sections[:1],
        "default_lang": _labels(languages[0]),
        "agency": page["agency"],
        "logo": page["logo"],
        "home": None,
        "latest": LATEST_FOLDER + "/" + PAGE_NAME,
        "og": None,
    }
    return _environment().get_template(TEMPLATE_NAME).render(context)


def _is_run_folder(folder: Path) -> bool:
    return bool(_RUN_HOUR.fullmatch(folder.name) and _RUN_DAY.fullmatch(folder.parent.name))


def _title(page: Mapping[str, Any], languages: list[str], date: str | None) -> str:
    title = " · ".join(_labels(lang).heading for lang in languages)
    if date:
        title += f" {date}"
    return f"{page['agency']} · {title}" if page["agency"] else title


def _page_settings(run_folder: Path, manifest: Mapping[str, Any], base: str) -> dict[str, Any]:
    """The manifest's ``page`` entry, checked: agency, logo (href and size), zone, site URL."""
    entry = manifest.get("page") or {}
    if not isinstance(entry, Mapping):
        raise PageError(f"manifest page must be an object, got {entry!r}")
    agency = entry.get("agency")
    if agency is not None and not isinstance(agency, str):
        raise PageError(f"manifest page.agency must be a string, got {agency!r}")
    logo = None
    name = entry.get("logo")
    if name is not None:
        if not isinstance(name, str) or not _SEGMENT.fullmatch(name):
            raise PageError(f"manifest page.logo has an unsafe file name {name!r}")
        path = run_folder / name
        if path.is_file():
            logo = _image({name: _File(path, base + quote(name))}, name)
    zone_name = entry.get("timezone")
    if zone_name is not None and not isinstance(zone_name, str):
        raise PageError(f"manifest page.timezone must be a string, got {zone_name!r}")
    site_url = entry.get("site_url")
    if site_url is not None and not isinstance(site_url, str):
        raise PageError(f"manifest page.site_url must be a string, got {site_url!r}")
    return {
        "agency": agency.strip() if agency and agency.strip() else None,
        "logo": logo,
        "zone": _zone(zone_name) if zone_name else dt.UTC,
        "site_url": site_url,
        "folder": run_folder,
    }


def _zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PageError(
            f"unknown time zone {name!r} (an IANA name such as Asia/Shanghai)"
        ) from None


def _open_graph(
    page: Mapping[str, Any], section: Mapping[str, Any], languages: list[str], base: str
) -> dict[str, Any]:
    """Open Graph properties (https://ogp.me/) of a run's page: title, description, the
    picture (the overview's thumbnail, else the first venue's, else its poster), locales."""
    labels = section["t"]
    names = [card["name"] for card in section["units"] if not card["failed"]]
    separator = "、" if section["lang"] == "zh" else ", "
    image = None
    for item in section["overview"]:
        image = image or item.get("thumbnail")
    for card in section["units"]:
        image = image or card.get("thumbnail") or card.get("poster")
    site = page["site_url"]
    run_href = ""
    if site:
        folder = page["folder"]
        run_href = f"{folder.parent.name}/{folder.name}/" if _is_run_folder(folder) else ""
    if image is not None and site:
        # The picture's address from the output root: the run folder, then the file.
        image = {**image, "href": site + run_href + image["href"][len(base) :]}
    return {
        "title": section["heading_text"],
        "description": labels.share_description.format(
            date=section["date"], venues=separator.join(names)
        ),
        "image": image,
        "url": site + run_href + PAGE_NAME if site else None,
        "locale": OG_LOCALES.get(languages[0], languages[0]),
        "alternates": [OG_LOCALES.get(lang, lang) for lang in languages[1:]],
    }


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
    run_folder: Path,
    lang: str,
    default: bool,
    units: list,
    overview: list,
    base: str,
    page: Mapping[str, Any],
    manifest: Mapping[str, Any],
) -> dict[str, Any]:
    labels = _labels(lang)
    cards = [
        _unit_card(run_folder, unit, lang, labels, i, base)
        for i, unit in enumerate(units)
        if _text(unit, "lang", where=f"units[{i}]") == lang
    ]
    items = [
        _overview_item(run_folder, item, labels, i, base)
        for i, item in enumerate(overview)
        if _text(item, "lang", where=f"overview[{i}]") == lang
    ]
    date = _text(manifest, "date")
    return {
        "lang": lang,
        "date": date,
        "heading_text": f"{labels.heading} {date}",
        "issued": _local_text(manifest, "forecast_init_utc", page, lang),
        "finished": _local_text(manifest, "finished_utc", page, lang),
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
    run_folder: Path,
    unit: Mapping[str, Any],
    lang: str,
    labels: _Labels,
    position: int,
    base: str,
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
    files = _files(run_folder, unit, where, base)
    card.update(
        alerts=_alerts(files, where),
        poster=_image(files, "poster.png"),
        thumbnail=_image(files, THUMBNAIL_NAME),
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
    run_folder: Path, item: Mapping[str, Any], labels: _Labels, position: int, base: str
) -> dict[str, Any]:
    where = f"overview[{position}]"
    if _status(item, where) == "failed":
        return {"failed": True, "error": _error_text(item)}
    files = _files(run_folder, item, where, base)
    script_text = ""
    if "script.txt" in files:
        script = files["script.txt"].path
        script_text = script.read_text(encoding="utf-8", errors="replace").strip()
    video = _href(files, OVERVIEW_VIDEO_NAME)
    return {
        "failed": False,
        # The overview's video when it has one; its audio alone otherwise.
        "video": video,
        "audio": None if video else _href(files, "speech.wav"),
        "vtt": _href(files, "subtitles.vtt"),
        "thumbnail": _image(files, THUMBNAIL_NAME),
        "script_text": script_text,
        "links": _links(
            files,
            [
                (OVERVIEW_VIDEO_NAME, labels.video),
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


def _files(
    run_folder: Path, entry: Mapping[str, Any], where: str, base: str = ""
) -> dict[str, _File]:
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
            found[name] = _File(
                path, base + "/".join(quote(part) for part in (*folder.parts, name))
            )
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


def _local_text(manifest: Mapping[str, Any], key: str, page: Mapping[str, Any], lang: str) -> str:
    """An ISO 8601 time from the manifest (naive = UTC) in the page's zone, the zone named:
    ``2022-02-04 20:00 北京时间 (UTC+8)``; ``2022-02-04 12:00 UTC`` without a zone."""
    text = _text(manifest, key)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise PageError(f"manifest {key} is not an ISO 8601 time: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return local_time_text(moment, page["zone"], lang)


def _anchor(text: str) -> str:
    # Fragment ids stay in [A-Za-z0-9_-] (already true of venue ids and language codes).
    return re.sub(r"[^A-Za-z0-9_-]", "-", text)
