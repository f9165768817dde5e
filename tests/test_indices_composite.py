"""Composite spectator level, level names and colours."""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bulletin.indices import (
    IMPACT_TABLES,
    LEVEL_NAMES,
    LEVEL_SOURCES,
    IndexInputError,
    frostbite_level,
    level_name,
    spectator_level,
    wind_chill_level,
)
from bulletin.indices.composite import LEVEL_RANGES

COMPONENTS = ("wind_chill", "frostbite", "clothing", "cold", "sunscreen", "goggles")
QUIET = {"wind_chill": 0, "frostbite": 1, "clothing": 1, "cold": 1, "sunscreen": 1, "goggles": 1}


def composite(**levels):
    merged = {**QUIET, **levels}
    return int(spectator_level(*(merged[name] for name in COMPONENTS)))


@pytest.mark.parametrize("name", COMPONENTS)
def test_each_component_drives_the_composite_by_its_table(name):
    low, high = LEVEL_RANGES[name]
    for component_level in range(low, high + 1):
        assert composite(**{name: component_level}) == IMPACT_TABLES[name][component_level]


def test_quiet_day_is_level_one_and_worst_component_wins():
    assert composite() == 1
    assert composite(sunscreen=5, goggles=4, cold=4) == 2
    assert composite(sunscreen=5, clothing=6) == 3
    assert composite(wind_chill=5, clothing=7) == 4
    assert composite(frostbite=2, clothing=4) == 3


def test_every_composite_level_reachable_and_only_cold_hazards_limit_the_stay():
    reached = {composite(**{n: lv}) for n in COMPONENTS for lv in range(*LEVEL_RANGES[n])}
    reached |= {composite(**{n: LEVEL_RANGES[n][1]}) for n in COMPONENTS}
    assert reached == {1, 2, 3, 4}
    # Sunscreen, goggles and a cold are prepared for; only the cold hazards limit the stay.
    for name in ("cold", "sunscreen", "goggles"):
        assert max(IMPACT_TABLES[name]) == 2
    for name in ("wind_chill", "frostbite", "clothing"):
        assert max(IMPACT_TABLES[name]) == 4


def test_wind_chill_and_frostbite_give_one_impact_per_eccc_band():
    # From WCI -28 on, both indices follow the ECCC bands: the same band, the same impact.
    wci = np.arange(-70.0, -27.4, 0.25)
    by_wind_chill = [IMPACT_TABLES["wind_chill"][lv] for lv in wind_chill_level(wci)]
    by_frostbite = [IMPACT_TABLES["frostbite"][lv] for lv in frostbite_level(np.nan, wci)]
    assert by_wind_chill == by_frostbite
    assert set(by_wind_chill) == {3, 4}
    # Frostbite within 5 minutes (WCI -48 and below) is the ECCC warning level: IV.
    assert IMPACT_TABLES["wind_chill"][int(wind_chill_level(-48.0))] == 4
    assert IMPACT_TABLES["wind_chill"][int(wind_chill_level(-47.0))] == 3


def test_clothing_impact_follows_its_time_limits():
    from bulletin.indices.clothing import CLOTHING_TIERS

    for tier in CLOTHING_TIERS:
        impact = IMPACT_TABLES["clothing"][tier.level]
        if tier.exposure_h is None or math.isinf(tier.exposure_h[1]):
            assert impact <= 2  # an outfit, no time limit: prepared, watching is fine
        elif tier.exposure_h[0] > 0:
            assert impact == 3  # warm-up breaks within 1-8 h
        else:
            assert impact == 4  # even the warmest outfit lasts under an hour
    assert IMPACT_TABLES["clothing"][1:4] == (1, 1, 1)


def _rst_rows(text):
    """Rows of the first reStructuredText simple table in ``text``, cut at its columns."""
    lines = text.splitlines()
    border = next(i for i, line in enumerate(lines) if re.fullmatch(r"=+( +=+)+", line.strip()))
    spans = [m.span() for m in re.finditer(r"=+", lines[border])]
    rows = []
    for line in lines[border + 1 :]:
        if re.fullmatch(r"=+( +=+)+", line.strip()):
            continue
        if not line.strip():
            break
        cells = [line[a:b].strip() for a, b in spans[:-1]]
        rows.append([*cells, line[spans[-1][0] :].strip()])
    return rows


def _levels(cell):
    if cell == "-":
        return []
    low, _, high = cell.partition("-")
    return list(range(int(low), int(high or low) + 1))


def _table_impacts(rows):
    """{component: impact per level} from rows of component, I, II, III, IV cells."""
    tables = {}
    for name, *cells in rows:
        if name not in IMPACT_TABLES:
            continue
        impacts = {}
        for impact, cell in enumerate(cells[:4], start=1):
            impacts |= dict.fromkeys(_levels(cell), impact)
        tables[name] = impacts
    return tables


def _expected():
    return {
        name: {lv: IMPACT_TABLES[name][lv] for lv in range(low, high + 1)}
        for name, (low, high) in LEVEL_RANGES.items()
    }


def test_the_mapping_table_in_the_docstring_is_the_code():
    from bulletin.indices import composite as module

    assert _table_impacts(_rst_rows(module.__doc__)) == _expected()


def test_the_mapping_table_in_the_readme_is_the_code():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The six indices", 1)[1].split("\n## ", 1)[0]
    table = section.split("**Spectator level**", 1)[1]
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in table.splitlines()
        if line.startswith("| ") and not line.startswith("| component")
    ]
    assert _table_impacts(rows) == _expected()


def test_missing_component_makes_the_composite_missing():
    levels = np.array([[0, 1, 1, 1, 1, 1], [0, -1, 1, 1, 1, 1], [6, 1, 1, 1, 1, -1]])
    out = spectator_level(*levels.T.astype(np.int8))
    np.testing.assert_array_equal(out, [1, -1, -1])
    assert out.dtype == np.int8


def test_bad_levels_are_rejected():
    with pytest.raises(IndexInputError, match=r"frostbite_level has level values in \[0, 0\]"):
        composite(frostbite=0)
    with pytest.raises(IndexInputError, match="wind_chill_level"):
        composite(wind_chill=7)
    with pytest.raises(IndexInputError, match="whole level numbers"):
        composite(cold=1.5)


@given(st.tuples(*(st.integers(*LEVEL_RANGES[n]) for n in COMPONENTS)), st.sampled_from(COMPONENTS))
def test_composite_monotone_in_every_component(levels, name):
    base = dict(zip(COMPONENTS, levels, strict=True))
    raised = {**base, name: min(base[name] + 1, LEVEL_RANGES[name][1])}
    assert composite(**raised) >= composite(**base)


def test_broadcasting_and_dask():
    import dask.array as da

    wind = np.arange(7, dtype=np.int8)[:, None]
    others = [np.ones((1, 3), np.int8)] * 5
    eager = spectator_level(wind, *others)
    assert eager.shape == (7, 3)
    lazy = spectator_level(da.from_array(wind, chunks=3), *others)
    np.testing.assert_array_equal(lazy.compute(), eager)


# --- level names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "levels"),
    [
        ("wind_chill", range(0, 7)), ("frostbite", range(1, 6)), ("clothing", range(1, 8)),
        ("cold", range(1, 5)), ("sunscreen", range(1, 6)), ("uv_category", range(0, 5)),
        ("goggles", range(1, 5)), ("goggles_lens", range(0, 5)), ("spectator", range(1, 5)),
    ],
)  # fmt: skip
def test_every_level_has_names_and_a_colour(index, levels):
    table = LEVEL_NAMES[index]
    assert sorted(table) == list(levels)
    for entry in table.values():
        assert entry.zh and entry.en
        assert re.fullmatch(r"#[0-9a-f]{6}", entry.colour)
        assert entry[1] == entry.en  # positional access, as flag_meanings use it
    assert LEVEL_SOURCES[index]
    names = [entry.en for entry in table.values()]
    assert len(set(names)) == len(names)


def test_documented_wordings():
    assert LEVEL_NAMES["wind_chill"][0].zh == "不冷" and LEVEL_NAMES["wind_chill"][6].zh == "危险"
    assert [LEVEL_NAMES["cold"][i].zh for i in range(1, 5)] == ["少发", "较易发", "易发", "极易发"]
    assert LEVEL_NAMES["sunscreen"][1].zh == "最弱"
    spectator = LEVEL_NAMES["spectator"][1]
    assert (spectator.zh, spectator.en, spectator.colour) == ("影响很小", "minimal", "#0084c7")
    assert "our choice" in LEVEL_SOURCES["spectator"]


def test_level_name_helper():
    assert level_name("frostbite", 4) == "冻伤风险很高"
    assert level_name("uv_category", 2, "en") == "high"
    assert level_name("cold", -1) == ""
    with pytest.raises(IndexInputError, match="no level 9"):
        level_name("cold", 9)


def test_component_ranges_match_the_name_tables():
    for name, (low, high) in LEVEL_RANGES.items():
        assert sorted(LEVEL_NAMES[name]) == list(range(low, high + 1))
        assert len(IMPACT_TABLES[name]) == high + 1
        table = IMPACT_TABLES[name][low:]
        assert all(b >= a for a, b in itertools.pairwise(table))
