"""Hostile user templates: sandbox escapes, files outside the template folder and CPU or memory
bombs all fail with a one-line ScriptError naming the template, within small render limits
(1 s, 4 KiB), so that none of these tests can hang."""

from __future__ import annotations

import os

import numpy as np
import pytest

from bulletin import compute_indices, load_catalogue, venue_table
from bulletin.errors import ScriptError
from bulletin.facts import venue_day
from bulletin.sandbox import (
    MAX_RANGE,
    OUTPUT_LIMIT_ENV,
    TIME_LIMIT_ENV,
    render_limits,
    value_size,
)
from bulletin.script import check_templates, render_script

from .clirun import REPO, run_cli
from .synthetic import schema_dataset

VENUE_ID = "national-alpine-skiing-centre"
LIMITS = {"time_limit_s": 1.0, "output_limit": 4096}


@pytest.fixture(scope="module")
def venue():
    return next(v for v in load_catalogue() if v.id == VENUE_ID)


@pytest.fixture(scope="module")
def day(venue):
    forecast = schema_dataset(lat=np.linspace(40.3, 41.2, 4), lon=np.linspace(115.2, 116.0, 4))
    return venue_day(venue_table(compute_indices(forecast), [venue]), venue, None)


def _render_error(day, venue, folder, source: str, **limits) -> str:
    (folder / "venue.en.j2").write_text(source, encoding="utf-8")
    with pytest.raises(ScriptError) as excinfo:
        render_script(day, venue, lang="en", templates_dir=folder, **(limits or LIMITS))
    message = str(excinfo.value)
    assert message and "\n" not in message
    assert "venue.en.j2" in message
    return message


BOMBS = {
    "nested range(100000) loops": (
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "range of 100000 numbers",
    ),
    "nested loops printing nothing": (
        "{% for i in range(10000) %}{% for j in range(10000) %}{% for k in range(10000) %}"
        "{% endfor %}{% endfor %}{% endfor %}",
        "time limit",
    ),
    "nested loops over a list": (
        "{% set r = range(10000)|list %}{% for a in r %}{% for b in r %}{% for c in r %}"
        "{% endfor %}{% endfor %}{% endfor %}",
        "time limit",
    ),
    "loop filter and else": (
        "{% for i in range(10000) if i < 0 %}{% for j in range(10000) if j < 0 %}{% endfor %}"
        "{% else %}{% for k in range(10000) %}{% for m in range(10000) %}{% endfor %}"
        "{% endfor %}{% endfor %}",
        "time limit",
    ),
    "1e5 x 10,000 characters": (
        "{% for i in range(10000) %}{% for j in range(10) %}{{ 'x' * 10000 }}{% endfor %}"
        "{% endfor %}",
        "output limit",
    ),
    "repeated squaring in a namespace": (
        "{% set ns = namespace(x=3) %}{% for i in range(10000) %}{% set ns.x = ns.x * ns.x %}"
        "{% endfor %}{{ ns.x }}",
        "integer product",
    ),
    "huge power": ("{{ 2 ** 1000 }}", "exponent"),
    "power of a big base": ("{{ (10 ** 90) ** 90 }}", "integer power"),
    "repetition of a long string": ("{{ 'x' * 100000000 }}", "repetition"),
    "repetition of a list of long strings": ("{{ (['x' * 10000] * 10000)|join }}", "repetition"),
    "join of mapped padding": (
        "{{ range(10000)|map('string')|map('center', 10000)|join }}",
        "mapped items",
    ),
    "str.join of padding": ("{{ ''.join(range(10000)|map('string')|map('center', 10000)) }}", ""),
    "string doubling in a namespace": (
        "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}"
        "{% endfor %}{{ ns.s|length }}",
        "longer than",
    ),
    "string doubling with +": (
        "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}"
        "{% endfor %}{{ ns.s|length }}",
        "longer than",
    ),
    "list literal doubling": (
        "{% set ns = namespace(a=[1]) %}{% for i in range(64) %}{% set ns.a = [ns.a, ns.a] %}"
        "{% endfor %}{{ ns.a }}",
        "longer than",
    ),
    "list literal doubling without a namespace": (
        "{% set a = [1] %}" + "{% set a = [a, a] %}" * 48 + "{{ a }}",
        "a list or dict",
    ),
    "comparison of two doubled lists": (
        "{% set a = [1] %}{% set b = [1] %}"
        + "{% set a = [a, a] %}{% set b = [b, b] %}" * 48
        + "{{ a == b }}",
        "a list or dict",
    ),
    "concatenation of a doubled list": (
        "{% set a = [1] %}" + "{% set a = [a, a] %}" * 48 + "{{ 'x' ~ a }}",
        "longer than",
    ),
    "macro recursion doubling": (
        "{% macro f(s, n) %}{{ f(s ~ s, n - 1) if n else s|length }}{% endmacro %}{{ f('x', 60) }}",
        "longer than",
    ),
    "str.format width": ("{{ '{:>1000000000}'.format(1) }}", "formatted text"),
    "str.format nested width": ("{{ '{:{}}'.format(1, 1000000000) }}", "nested fields"),
    "str.format repeated field": (
        "{{ ('{0}' * 3000).format('x' * 5000) }}",
        "formatted text",
    ),
    "percent width": ("{{ '%1000000000d' % 1 }}", "formatted text"),
    "percent star width": ("{{ '%*d' % (1000000000, 1) }}", "'*' widths"),
    "format filter width": ("{{ '%1000000000d'|format(1) }}", "formatted text"),
    "center filter": ("{{ 'x'|center(1000000000) }}", "centred text"),
    "ljust method": ("{{ 'x'.ljust(1000000000) }}", "ljust"),
    "expandtabs method": ("{{ ('\\t' * 1000).expandtabs(100000) }}", "expandtabs"),
    "replace filter": ("{{ ('x' * 10000)|replace('x', 'y' * 10000) }}", "replaced text"),
    "replace method": ("{{ ('x' * 10000).replace('x', 'y' * 10000) }}", "replaced text"),
    "indent filter": ("{{ ('x\\n' * 5000)|indent(100000) }}", "indented text"),
    "wordwrap filter": (
        "{{ ('x ' * 5000)|wordwrap(1, wrapstring='y' * 10000) }}",
        "wrapped text",
    ),
    "batch fill": ("{{ [1]|batch(1000000000, 0)|list }}", "batch"),
    "slice fill": ("{{ [1]|slice(1000000000, 0)|list }}", "slice"),
    "dict.fromkeys": ("{{ dict.fromkeys(range(10000), 'x' * 10000) }}", "longer than"),
    "sum of lists": ("{{ ([range(10000)|list] * 100)|sum(start=[]) }}", "longer than"),
    "translate": ("{{ 'x'.translate({120: 'y' * 10000}) }}", "translate"),
    "lipsum is gone": ("{{ lipsum(1000000) }}", "lipsum"),
    "unbounded recursion": ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", ""),
}


@pytest.mark.parametrize("source, expected", list(BOMBS.values()), ids=list(BOMBS))
def test_bombs_stop_with_one_line(day, venue, tmp_path, source, expected):
    assert expected in _render_error(day, venue, tmp_path, source)


ESCAPES = {
    "str mro": ("{{ ''.__class__.__mro__ }}", "sandbox"),
    "cycler globals": ("{{ cycler.__init__.__globals__ }}", "sandbox"),
    "template reference context": ("{{ self._TemplateReference__context }}", "sandbox"),
    "namespace internals": ("{{ namespace()._Namespace__attrs }}", "sandbox"),
    "namespace class": ("{{ namespace.__init__.__globals__ }}", "sandbox"),
    "namespace of a context object": (
        "{% set ns = namespace() %}{% set ns.x = venue.__class__ %}{{ ns.x }}",
        "sandbox",
    ),
    "format attribute lookup": ("{{ '{0.__class__}'.format('') }}", "sandbox"),
    "include an absolute path": ("{% include '/etc/passwd' %}", "not found"),
    "extends a parent folder": ("{% extends '../../x' %}", "not found"),
    "include a parent folder": ("{% include '../../../../etc/passwd' %}", "not found"),
}


@pytest.mark.parametrize("source, expected", list(ESCAPES.values()), ids=list(ESCAPES))
def test_escapes_are_refused(day, venue, tmp_path, source, expected):
    message = _render_error(day, venue, tmp_path, source)
    assert expected in message
    assert "root:" not in message


def _passwd_or_skip() -> str:
    if not os.path.isfile("/etc/passwd"):
        pytest.skip("needs /etc/passwd")
    return "/etc/passwd"


def test_symlinked_template_is_refused(day, venue, tmp_path):
    (tmp_path / "venue.en.j2").symlink_to(_passwd_or_skip())
    with pytest.raises(ScriptError, match="symbolic link") as excinfo:
        render_script(day, venue, lang="en", templates_dir=tmp_path, **LIMITS)
    assert "root:" not in str(excinfo.value)
    with pytest.raises(ScriptError, match="symbolic link"):
        check_templates(tmp_path, lang="en")


def test_symlinked_include_and_folder_are_refused(day, venue, tmp_path):
    (tmp_path / "p.j2").symlink_to(_passwd_or_skip())
    (tmp_path / "sub").symlink_to("/etc")
    for source in ("{% include 'p.j2' %}", "{% include 'sub/passwd' %}"):
        message = _render_error(day, venue, tmp_path, source)
        assert "symbolic link" in message and "root:" not in message


def test_symlink_inside_the_folder_is_refused_too(day, venue, tmp_path):
    """Any symbolic link is refused, also one that points at a file inside the folder."""
    (tmp_path / "real.j2").write_text("Snow.\n", encoding="utf-8")
    (tmp_path / "venue.en.j2").symlink_to(tmp_path / "real.j2")
    with pytest.raises(ScriptError, match="symbolic link"):
        render_script(day, venue, lang="en", templates_dir=tmp_path, **LIMITS)


def test_symlinked_wording_file_is_refused(day, venue, tmp_path):
    (tmp_path / "wording.toml").symlink_to(_passwd_or_skip())
    with pytest.raises(ScriptError, match="symbolic link") as excinfo:
        render_script(day, venue, lang="en", templates_dir=tmp_path, **LIMITS)
    assert "root:" not in str(excinfo.value)


def test_plain_user_template_with_loops_renders(day, venue, tmp_path):
    (tmp_path / "venue.en.j2").write_text(
        "{% for i in range(3) %}{% for p in periods %}{{ loop.index }}{% endfor %}{% endfor %}"
        "{% set ns = namespace(n=0) %}{% for i in range(100) %}{% set ns.n = ns.n + i %}"
        "{% endfor %}Total {{ ns.n }} and {{ '%d' % 5 }} {{ '{:>3}'.format(7) }}"
        " {{ [1, 2]|join('-') }}.\n"
        "{% for a, b in [(1, 2), (3, 4)] %}{{ a + b }}{% endfor %} {{ 'abc'|upper }}"
        " {{ {'k': 'v'}.k }}.\n",
        encoding="utf-8",
    )
    script = render_script(day, venue, lang="en", templates_dir=tmp_path, **LIMITS)
    assert "Total 4950 and 5" in script.display_text
    assert "1-2." in script.display_text
    assert "37 ABC v." in script.display_text


def test_shipped_templates_render_within_the_default_limits(day, venue):
    limits = render_limits()
    assert limits.time_limit_s == 10 and limits.output_limit == 64 * 1024
    assert render_script(day, venue, lang="zh").sentences
    assert render_script(day, venue, lang="en", kind="overview").sentences


def test_limits_from_the_environment(day, venue, monkeypatch):
    monkeypatch.setenv(OUTPUT_LIMIT_ENV, "100")
    with pytest.raises(ScriptError, match="output limit of 100 characters"):
        render_script(day, venue, lang="en")
    monkeypatch.setenv(OUTPUT_LIMIT_ENV, "lots")
    with pytest.raises(ScriptError, match=OUTPUT_LIMIT_ENV):
        render_script(day, venue, lang="en")
    monkeypatch.delenv(OUTPUT_LIMIT_ENV)
    monkeypatch.setenv(TIME_LIMIT_ENV, "0")
    with pytest.raises(ScriptError, match="time limit must be positive"):
        render_script(day, venue, lang="en")
    # the keyword arguments win over the environment
    assert render_script(day, venue, lang="en", time_limit_s=5.0).sentences


def test_value_size_counts_nested_values_and_stops_at_the_limit():
    shared = ["x" * 1000]
    assert value_size(shared * 3, 10**6) == 1 + 3000
    nested = [1]
    for _ in range(60):
        nested = [nested, nested]
    assert 100 < value_size(nested, 100) < 200
    assert len(range(MAX_RANGE)) == MAX_RANGE


# -- through the command line: exit code 1 and one error line, nothing written ---------------------
YULONG_ARGS = (
    str(REPO / "samples" / "forecast_yulong_spring.nc"),
    "--venues-file",
    str(REPO / "samples" / "venues_yulong.csv"),
    "--venue",
    "yulong-ganhaizi",
    "--lang",
    "en",
)


def _cli_error(result, fragment: str) -> str:
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("bulletin: error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    assert fragment in errors[0], errors[0]
    return errors[0]


def test_cli_refuses_a_symlinked_template(tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "venue.en.j2").symlink_to(_passwd_or_skip())
    out = tmp_path / "out"
    result = run_cli("script", *YULONG_ARGS, "--templates", str(templates), "-o", str(out))
    assert "root:" not in _cli_error(result, "symbolic link")
    assert not (out / "script.txt").exists()


def test_cli_stops_a_loop_bomb_at_the_time_limit(tmp_path, monkeypatch):
    (tmp_path / "venue.en.j2").write_text(
        "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}Snow.\n",
        encoding="utf-8",
    )
    monkeypatch.setenv(TIME_LIMIT_ENV, "1")
    result = run_cli("script", *YULONG_ARGS, "--templates", str(tmp_path), timeout=120)
    _cli_error(result, "venue.en.j2 line 1: stopped by the sandbox: ran past the time limit of 1 s")
