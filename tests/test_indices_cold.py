"""Cold/flu risk: GB/T 20484-2017 cooling grades, component scores, score, level, humidity."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bulletin.indices import (
    COLD_RISK_COMPONENTS,
    IndexInputError,
    cold_risk_components,
    cold_risk_level,
    cold_risk_score,
    specific_humidity_gkg,
)

# A mild, unremarkable day: every component 0.
CALM_DAY = dict(
    d_tmin24=0.0, d_tmin48=0.0, d_tmin72=0.0, tmin=12.0, tmax=18.0, tmean=15.0, rh_pct=60.0,
    q_gkg=6.0, v10_ms=2.0, precip_mm=0.0,
)  # fmt: skip


def components(**changes):
    return {k: int(v) for k, v in cold_risk_components(**{**CALM_DAY, **changes}).items()}


def test_calm_day_scores_zero():
    parts = components()
    assert list(parts) == list(COLD_RISK_COMPONENTS)
    assert set(parts.values()) == {0}


@pytest.mark.parametrize(
    ("changes", "cooling"),
    [
        ({"d_tmin48": 2.9}, 0),
        ({"d_tmin48": 3.0}, 1),
        ({"d_tmin48": 6.0}, 2),  # GB/T 20484 moderate cold air
        ({"d_tmin48": 8.0}, 3),  # fairly strong (Tmin 12 > 8 °C)
        ({"d_tmin48": 8.0, "tmin": 5.0}, 3),  # strong cold air, no cold wave (Tmin > 4)
        ({"d_tmin24": 8.0, "tmin": 4.0}, 4),  # 寒潮 by the 24 h drop
        ({"d_tmin48": 10.0, "tmin": 0.0}, 4),  # 寒潮 by the 48 h drop
        ({"d_tmin72": 12.0, "tmin": -3.0}, 4),  # 寒潮 by the 72 h drop
        ({"d_tmin72": 11.9, "tmin": -3.0}, 0),
        ({"d_tmin24": 8.0, "tmin": 4.1}, 0),  # big drop but not cold enough for a cold wave
    ],
)
def test_cooling_grades(changes, cooling):
    assert components(**changes)["cooling"] == cooling


@pytest.mark.parametrize(
    ("changes", "name", "score"),
    [
        ({"tmax": 21.9}, "diurnal_range", 0), ({"tmax": 22.0}, "diurnal_range", 1),
        ({"tmax": 24.0}, "diurnal_range", 2), ({"tmax": 26.0}, "diurnal_range", 3),
        ({"tmean": 10.0}, "cold", 0), ({"tmean": 9.9}, "cold", 1), ({"tmean": -10.0}, "cold", 1),
        ({"tmean": -10.1}, "cold", 2),
        ({"q_gkg": 1.9}, "dry_air", 1), ({"rh_pct": 29.0}, "dry_air", 1),
        ({"rh_pct": 85.0, "tmean": 4.9}, "damp_cold", 1), ({"rh_pct": 85.0}, "damp_cold", 0),
        ({"v10_ms": 5.5}, "wind_precip", 1), ({"precip_mm": 0.1}, "wind_precip", 1),
        ({"v10_ms": 5.4, "precip_mm": 0.09}, "wind_precip", 0),
    ],
)  # fmt: skip
def test_component_edges(changes, name, score):
    assert components(**changes)[name] == score


def test_score_sums_and_levels():
    worst = cold_risk_components(
        d_tmin24=9.0, d_tmin48=11.0, d_tmin72=13.0, tmin=-15.0, tmax=0.0, tmean=-12.0,
        rh_pct=20.0, q_gkg=0.5, v10_ms=9.0, precip_mm=2.0,
    )  # fmt: skip
    assert int(cold_risk_score(worst)) == 4 + 3 + 2 + 1 + 0 + 1
    np.testing.assert_array_equal(
        cold_risk_level(np.arange(13)), [1, 1, 1, 2, 2, 3, 3, 3, 4, 4, 4, 4, 4]
    )


def test_every_level_reachable_from_weather():
    days = dict(
        d_tmin24=np.array([0.0, 0.0, 3.0, 9.0]), d_tmin48=np.array([0.0, 3.0, 6.0, 10.0]),
        d_tmin72=np.zeros(4), tmin=np.array([12.0, 2.0, -5.0, -12.0]),
        tmax=np.array([18.0, 13.0, 7.0, 3.0]), tmean=np.array([15.0, 7.0, 1.0, -8.0]),
        rh_pct=np.array([60.0, 60.0, 40.0, 25.0]), q_gkg=np.array([6.0, 4.0, 2.5, 0.8]),
        v10_ms=np.array([2.0, 3.0, 6.0, 8.0]), precip_mm=np.zeros(4),
    )  # fmt: skip
    levels = cold_risk_level(cold_risk_score(cold_risk_components(**days)))
    np.testing.assert_array_equal(levels, [1, 2, 3, 4])
    assert levels.dtype == np.int8


def test_missing_drivers_mark_only_their_components():
    parts = cold_risk_components(**{**CALM_DAY, "rh_pct": np.nan})
    assert parts["dry_air"] == -1 and parts["damp_cold"] == -1 and parts["cooling"] == 0
    assert cold_risk_score(parts) == -1 and cold_risk_level(cold_risk_score(parts)) == -1
    assert cold_risk_level(np.nan) == -1


def test_score_and_level_validate_their_inputs():
    with pytest.raises(IndexInputError, match="components lack wind_precip"):
        cold_risk_score({k: 0 for k in COLD_RISK_COMPONENTS[:-1]})
    with pytest.raises(IndexInputError, match="cooling"):
        cold_risk_score({**{k: 0 for k in COLD_RISK_COMPONENTS}, "cooling": 7})
    with pytest.raises(IndexInputError, match="score"):
        cold_risk_level(13)
    with pytest.raises(IndexInputError, match="rh_pct"):
        cold_risk_components(**{**CALM_DAY, "rh_pct": 0.6 * 100 * 10})


@given(
    drop=st.floats(0, 20, allow_nan=False, allow_subnormal=False),
    extra=st.floats(0, 10, allow_nan=False, allow_subnormal=False),
    tmean=st.floats(-30, 20, allow_nan=False, allow_subnormal=False),
)
def test_more_cooling_or_cold_never_lowers_the_score(drop, extra, tmean):
    base = cold_risk_score(cold_risk_components(**{**CALM_DAY, "d_tmin48": drop, "tmean": tmean}))
    colder = cold_risk_score(
        cold_risk_components(**{**CALM_DAY, "d_tmin48": drop + extra, "tmean": tmean - extra})
    )
    assert colder >= base


@given(a=st.integers(0, 12), b=st.integers(0, 12))
def test_level_monotone_in_score(a, b):
    low, high = sorted((a, b))
    assert cold_risk_level(low) <= cold_risk_level(high)


def test_dask_components_are_lazy_and_equal():
    import dask.array as da

    rng = np.random.default_rng(4)
    args = {k: np.full(8, v) for k, v in CALM_DAY.items()}
    args["d_tmin48"] = rng.uniform(0, 12, 8)
    args["tmin"] = rng.uniform(-10, 10, 8)
    eager = cold_risk_components(**args)
    lazy = cold_risk_components(**{**args, "d_tmin48": da.from_array(args["d_tmin48"], chunks=4)})
    for key in COLD_RISK_COMPONENTS:
        assert isinstance(lazy[key], da.Array)
        np.testing.assert_array_equal(lazy[key].compute(), eager[key])
    np.testing.assert_array_equal(cold_risk_score(lazy).compute(), cold_risk_score(eager))


def test_specific_humidity_against_metpy():
    from metpy.calc import specific_humidity_from_dewpoint
    from metpy.units import units

    t = np.array([-20.0, -5.0, 0.0, 10.0, 25.0])
    rh = np.array([30.0, 60.0, 80.0, 50.0, 90.0])
    # Dewpoint from RH with the same Bolton (1980) formula, then MetPy's specific humidity.
    gamma = np.log(rh / 100) + 17.67 * t / (t + 243.5)
    dewpoint = 243.5 * gamma / (17.67 - gamma)
    ref = specific_humidity_from_dewpoint(1013.25 * units.hPa, dewpoint * units.degC)
    np.testing.assert_allclose(specific_humidity_gkg(t, rh), ref.to("g/kg").magnitude, rtol=0.01)
    assert specific_humidity_gkg(np.float32(0), np.float32(100)).dtype == np.float32
    assert specific_humidity_gkg(0.0, 100.0, 700.0) > specific_humidity_gkg(0.0, 100.0)
    # By hand: es(-10 °C) = 6.112 exp(-176.7 / 233.5) = 2.8676 hPa, e = 2.2941 hPa,
    # q = 622 e / (1013.25 - 0.378 e) = 1.4095 g/kg.
    assert specific_humidity_gkg(-10.0, 80.0) == pytest.approx(1.4095, abs=0.0005)
