"""The twin's quality gates: each named with its value, threshold and verdict; an invalid
confidence ratio (ground truth's confidence near zero) never passes."""

from avatar.metrics import GATES, format_gate, gate_report, gates

GOOD = {
    "sync_offset": 0,
    "sync_confidence_ratio": 1.1,
    "jaw_mae": 0.05,
    "ssim": 0.95,
    "outside_mask_max_diff": 0,
    "jitter_ratio": 1.0,
    "rest_jaw_in_silence": 0.02,
}


def test_every_gate_is_named_with_value_threshold_and_verdict():
    rows = gate_report(GOOD)
    assert [r["name"] for r in rows] == [g[0] for g in GATES]
    assert all(r["passed"] for r in rows)
    line = format_gate(rows[2])
    assert line == "jaw_mae_le_0.1: 0.05 (<= 0.1) pass"


def test_invalid_confidence_ratio_fails_and_says_invalid():
    metrics = dict(GOOD, sync_confidence_ratio=None)
    assert gates(metrics)["sync_confidence_ratio_ge_0.8"] is False
    row = next(r for r in gate_report(metrics) if r["metric"] == "sync_confidence_ratio")
    assert "invalid" in format_gate(row) and format_gate(row).endswith("FAIL")


def test_a_failing_value_fails_its_gate_only():
    verdicts = gates(dict(GOOD, ssim=0.5, sync_offset=-2))
    assert not verdicts["ssim_ge_0.90"] and not verdicts["sync_offset_within_1"]
    assert sum(verdicts.values()) == len(GATES) - 2
