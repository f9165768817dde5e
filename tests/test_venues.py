"""The venue catalogue, user venue files and the ``bulletin venues`` command."""

from __future__ import annotations

import csv
import io
import json
import logging

import pytest

from bulletin.errors import VenueError
from bulletin.venues import (
    check_venue_id,
    load_catalogue,
    load_venues_file,
    select_venues,
)

from .clirun import run_cli

EXPECTED_IDS = {
    "big-air-shougang",
    "national-stadium",
    "national-alpine-skiing-centre",
    "national-sliding-centre",
    "genting-snow-park",
    "national-ski-jumping-centre",
    "national-cross-country-skiing-centre",
    "national-biathlon-centre",
}


def test_catalogue_holds_the_eight_outdoor_venues():
    venues = load_catalogue()
    assert {v.id for v in venues} == EXPECTED_IDS
    for v in venues:
        assert v.id == v.id.lower() and set(v.id) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")
        assert 39.5 < v.lat < 41.5 and 115 < v.lon < 117
        assert v.name and v.name_zh and v.name_zh != v.name
        assert v.timezone == "Asia/Shanghai"
    by_id = {v.id: v for v in venues}
    # Zones: Beijing near sea level, Zhangjiakou venues around 1600-1800 m.
    assert by_id["national-stadium"].elevation_m < 100
    assert 1500 < by_id["genting-snow-park"].elevation_m < 2100


def write(tmp_path, text, name="venues.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_venues_file_replaces_catalogue(tmp_path):
    path = write(
        tmp_path,
        "id,name,lat,lon,elevation_m,name_zh,timezone\n"
        "my_venue-1,My venue,40.1,116.2,300,我的场馆,Asia/Tokyo\n"
        "other,Other,40.2,244.0,10,,\n",
    )
    venues = load_venues_file(path)
    assert [v.id for v in venues] == ["my_venue-1", "other"]
    assert venues[0].timezone == "Asia/Tokyo" and venues[0].name_zh == "我的场馆"
    # Longitudes past 180 are folded into -180..180; missing optional columns get defaults.
    assert venues[1].lon == pytest.approx(-116.0)
    # A venue without a timezone gets the zone at its coordinates (Nevada here).
    assert venues[1].timezone == "America/Los_Angeles" and venues[1].name_zh == "Other"


@pytest.mark.parametrize(
    "bad_id", ["../etc", "UPPER", "a b", "a/b", "", ".hidden", "x" * 65, "-lead", "é"]
)
def test_unsafe_venue_ids_are_rejected(tmp_path, bad_id):
    path = write(tmp_path, f"id,name,lat,lon,elevation_m\n{bad_id},X,40,116,10\n")
    with pytest.raises(VenueError, match="invalid venue id"):
        load_venues_file(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id,name,lat,elevation_m\na,A,40,10\n", "missing column"),
        ("id,name,lat,lon,elevation_m\na,A,north,116,10\n", "lat 'north' is not a number"),
        ("id,name,lat,lon,elevation_m\na,A,95,116,10\n", "outside -90..90"),
        ("id,name,lat,lon,elevation_m\na,A,40,116,nan\n", "not a finite number"),
        ("id,name,lat,lon,elevation_m,timezone\na,A,40,116,10,Mars/Olympus\n", "timezone"),
        ("id,name,lat,lon,elevation_m\na,A,40,116,10\na,B,41,116,10\n", "duplicate"),
        ("id,name,lat,lon,elevation_m\n", "lists no venues"),
    ],
)
def test_bad_venue_files(tmp_path, text, message):
    with pytest.raises(VenueError, match=message):
        load_venues_file(write(tmp_path, text))


def test_missing_venue_file(tmp_path):
    with pytest.raises(VenueError, match="does not exist"):
        load_venues_file(tmp_path / "nope.csv")


def test_select_keeps_order_and_rejects_unknown():
    venues = load_catalogue()
    picked = select_venues(venues, ["national-stadium", "big-air-shougang", "national-stadium"])
    assert [v.id for v in picked] == ["national-stadium", "big-air-shougang"]
    with pytest.raises(VenueError, match="unknown venue id 'nowhere'"):
        select_venues(venues, ["nowhere"])
    with pytest.raises(VenueError, match="invalid venue id"):
        select_venues(venues, ["../../x"])
    assert check_venue_id("ok_id-1") == "ok_id-1"


def test_cli_venues_csv_and_json():
    result = run_cli("venues", "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert result.stdout.splitlines()[0].split(",")[0] == "id"
    assert {r["id"] for r in rows} == EXPECTED_IDS
    result = run_cli("venues", "--format", "json")
    assert {v["id"] for v in json.loads(result.stdout)} == EXPECTED_IDS
    result = run_cli("venues")
    assert "genting-snow-park" in result.stdout and result.returncode == 0


def test_cli_venues_bad_file_is_one_line(tmp_path):
    path = write(tmp_path, "id,name,lat,lon,elevation_m\nBad Id,X,40,116,10\n")
    result = run_cli("venues", "--venues-file", str(path))
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "invalid venue id 'Bad Id'" in result.stderr and "Traceback" not in result.stderr
    result = run_cli("venues", "--format", "xml")
    assert result.returncode == 2


def test_venues_without_timezone_column_get_the_zone_of_their_coordinates(tmp_path, caplog):
    path = write(
        tmp_path,
        "id,name,lat,lon,elevation_m\n"
        "cortina,Cortina d'Ampezzo,46.54,12.14,1224\n"
        "park-city,Park City,40.65,-111.51,2100\n"
        "zhangjiakou,Genting,40.96,115.46,1650\n",
    )
    with caplog.at_level(logging.INFO, logger="bulletin.venues"):
        venues = load_venues_file(path)
    assert [v.timezone for v in venues] == ["Europe/Rome", "America/Denver", "Asia/Shanghai"]
    logged = "\n".join(r.getMessage() for r in caplog.records if r.levelno == logging.INFO)
    for venue in venues:
        assert f"venue {venue.id!r} has no timezone; {venue.timezone} found" in logged
