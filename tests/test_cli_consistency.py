"""Command-line conventions shared by every ``bulletin`` command, through the real CLI."""

from __future__ import annotations

from tests.clirun import run_cli

FORECAST = "samples/forecast_cf.nc"
VENUE = "genting-snow-park"


def test_verbose_and_quiet_after_the_subcommand(tmp_path):
    out = tmp_path / "idx.csv"
    quiet = run_cli("indices", FORECAST, "--venue", VENUE, "-o", str(out), "-q")
    assert quiet.returncode == 0, quiet.stderr
    assert "reading" not in quiet.stderr and out.read_text().startswith("venue_id,")
    verbose = run_cli("-q", "venues", "--format", "csv", "-v")
    assert verbose.returncode == 0, verbose.stderr
    before = run_cli("indices", FORECAST, "--venue", VENUE, "-o", "-", "-v")
    assert before.returncode == 0 and "bulletin: reading" in before.stderr, before.stderr
    assert before.stdout.startswith("venue_id,")


def test_unknown_table_extension_is_a_usage_error(tmp_path):
    out = tmp_path / "idx.xlsx"
    result = run_cli("indices", FORECAST, "--venue", VENUE, "-o", str(out))
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and ".xlsx" in lines[-1] and "Traceback" not in result.stderr
    assert not out.exists()
    json_out = tmp_path / "idx.json"
    ok = run_cli("indices", FORECAST, "--venue", VENUE, "-o", str(json_out), "--no-summary")
    assert ok.returncode == 0, ok.stderr
    assert json_out.read_text().lstrip().startswith(("[", "{"))
