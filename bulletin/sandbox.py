"""The bounded jinja2 sandbox the script templates run in.

jinja2's :class:`~jinja2.sandbox.ImmutableSandboxedEnvironment` already refuses attributes that
start with ``_`` (``''.__class__``, ``cycler.__init__.__globals__``,
``self._TemplateReference__context``) and any mutation of the context. It does not bound what a
template may cost, so this module adds (all limits are our own choices):

* **Time.** A render has a deadline (:data:`DEFAULT_TIME_LIMIT_S` seconds, or the environment's
  ``BULLETIN_TEMPLATE_TIME_LIMIT``, or the ``time_limit_s`` argument). It is checked on every
  attribute look-up, call, filter, intercepted operator, namespace assignment, printed value and
  every iteration of every ``for`` loop (the loop's iterable is wrapped when the template
  compiles, :class:`_BoundedCodeGenerator`), so a loop that prints nothing is stopped too.
* **Output.** A render writes at most :data:`DEFAULT_OUTPUT_LIMIT` characters (or
  ``BULLETIN_TEMPLATE_OUTPUT_LIMIT``, or ``output_limit``). The values a template makes are
  bounded by :data:`VALUE_SIZE_FACTOR` times that (sizes counted through nested lists and dicts),
  checked *before* an operation that could build more: repetition ``*``, concatenation ``+`` and
  ``~``, ``%`` and ``str.format`` formatting, ``join``, ``replace``, ``center``, ``indent``,
  ``wordwrap``, ``batch``, ``slice``, the padding string methods, and what ``map`` produces.
* **Numbers.** Integer products and powers may not pass :data:`MAX_INT_BITS` bits (about
  10**100); exponents may not pass :data:`MAX_EXPONENT`; ``range`` gives at most
  :data:`MAX_RANGE` numbers; ``lipsum`` is not available.
* **Files.** :class:`ConfinedLoader` reads templates only from inside their folder: a name with
  ``..`` is not found, and a template that is a symbolic link (or lies below one) or whose real
  path is outside the folder is refused.

The deadline of the render in progress is held in a :class:`contextvars.ContextVar`, so renders
in different threads (dask workers) have their own limits and nothing is process-wide.
"""

from __future__ import annotations

import contextvars
import functools
import os
import re
import string
import time
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator
from jinja2.loaders import split_template_path
from jinja2.runtime import LoopContext, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.utils import Namespace

from .errors import ScriptError, ScriptUsageError

DEFAULT_TIME_LIMIT_S = 10.0
DEFAULT_OUTPUT_LIMIT = 64 * 1024
TIME_LIMIT_ENV = "BULLETIN_TEMPLATE_TIME_LIMIT"
OUTPUT_LIMIT_ENV = "BULLETIN_TEMPLATE_OUTPUT_LIMIT"
VALUE_SIZE_FACTOR = 16
MAX_INT_BITS = 333
MAX_EXPONENT = 100
MAX_RANGE = 10_000

_FORMAT_NUMBER_RE = re.compile(r"\d+")
_PERCENT_SPEC_RE = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[a-zA-Z%]")
_PADDING_METHODS = frozenset({"center", "ljust", "rjust", "zfill"})


class LimitExceeded(SecurityError):
    """A template went past one of its render limits."""


class TemplateOutsideFolder(ScriptError):
    """A template that is a symbolic link or resolves outside its folder."""

    def __init__(self, message: str, template: str) -> None:
        super().__init__(message)
        self.template = template


@dataclass(frozen=True)
class RenderLimits:
    """How long one render may run and how many characters it may write."""

    time_limit_s: float = DEFAULT_TIME_LIMIT_S
    output_limit: int = DEFAULT_OUTPUT_LIMIT

    @property
    def value_limit(self) -> int:
        """The largest size of a value a template may make (:data:`VALUE_SIZE_FACTOR` times the
        output limit)."""
        return VALUE_SIZE_FACTOR * self.output_limit


def render_limits(
    time_limit_s: float | None = None, output_limit: int | None = None
) -> RenderLimits:
    """The limits of a render: the arguments, else the environment's
    ``BULLETIN_TEMPLATE_TIME_LIMIT`` (seconds) and ``BULLETIN_TEMPLATE_OUTPUT_LIMIT``
    (characters), else the defaults."""
    if time_limit_s is None:
        time_limit_s = _from_environment(TIME_LIMIT_ENV, float, DEFAULT_TIME_LIMIT_S)
    if output_limit is None:
        output_limit = _from_environment(OUTPUT_LIMIT_ENV, int, DEFAULT_OUTPUT_LIMIT)
    if not time_limit_s > 0:
        raise ScriptUsageError(f"template time limit must be positive, got {time_limit_s}")
    if not output_limit > 0:
        raise ScriptUsageError(f"template output limit must be positive, got {output_limit}")
    return RenderLimits(float(time_limit_s), int(output_limit))


def _from_environment(name: str, kind: Callable[[str], Any], default: Any) -> Any:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        return kind(text)
    except ValueError:
        raise ScriptUsageError(f"{name}={text!r} is not a {kind.__name__}") from None


class _Budget:
    """The deadline and size limits of the render in progress."""

    __slots__ = ("deadline", "limits")

    def __init__(self, limits: RenderLimits) -> None:
        self.limits = limits
        self.deadline = time.perf_counter() + limits.time_limit_s

    def tick(self) -> None:
        if time.perf_counter() > self.deadline:
            raise LimitExceeded(f"ran past the time limit of {self.limits.time_limit_s:g} s")

    def refuse_size(self, size: int, what: str) -> None:
        if size > self.limits.value_limit:
            raise LimitExceeded(
                f"{what} would be longer than {self.limits.value_limit} characters "
                f"({VALUE_SIZE_FACTOR} times the output limit)"
            )

    def check(self, *values: Any, what: str = "a value") -> None:
        self.tick()
        limit = self.limits.value_limit
        self.refuse_size(sum(value_size(v, limit) for v in values), what)


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar(
    "bulletin_template_budget", default=None
)


def _budget() -> _Budget:
    budget = _BUDGET.get()
    if budget is None:
        raise SecurityError("templates render only through bulletin.sandbox.render")
    return budget


def value_size(value: Any, limit: int) -> int:
    """The size of ``value`` counted through nested lists, tuples, sets and dicts (characters of
    strings, digits of integers, one for anything else); stops counting once past ``limit``."""
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str | bytes):
            total += len(item)
        elif isinstance(item, bool | float) or item is None:
            total += 1
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 1
        elif isinstance(item, range):
            total += len(item)
        elif isinstance(item, Mapping):
            total += 1
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            total += 1
            stack.extend(item)
        elif isinstance(item, Namespace):
            total += 1
            stack.append(item._Namespace__attrs)
        else:
            total += 1
        if total > limit:
            break
    return total


def _refuse_big_int_product(left: Any, right: Any) -> None:
    if isinstance(left, int) and isinstance(right, int):
        if left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise LimitExceeded(f"integer product beyond {MAX_INT_BITS} bits")


def _percent_format_size(fmt: str, args: Any, budget: _Budget) -> int:
    """An upper bound of the length of ``fmt % args``."""
    specs = _PERCENT_SPEC_RE.findall(fmt)
    widths = 0
    for width, precision in specs:
        if width == "*" or precision == "*":
            raise SecurityError("'*' widths are not allowed in templates")
        widths += int(width or 0) + int(precision or 0)
    return len(fmt) + widths + len(specs) * value_size(args, budget.limits.value_limit)


def _str_format_size(fmt: str, args: Any, budget: _Budget) -> int:
    """An upper bound of the length of ``fmt.format(*args)``."""
    fields = 0
    widths = 0
    for _, field, spec, _ in string.Formatter().parse(fmt):
        if field is None:
            continue
        if spec and "{" in spec:
            raise SecurityError("nested fields in format specifications are not allowed")
        fields += 1
        widths += sum(int(n) for n in _FORMAT_NUMBER_RE.findall(spec or ""))
    return len(fmt) + widths + fields * value_size(args, budget.limits.value_limit)


def _bounded_iter(iterable: Iterable[Any]) -> Iterator[Any]:
    budget = _budget()
    for item in iterable:
        budget.tick()
        yield item


def _bounded_items(iterable: Iterable[Any], what: str) -> Iterator[Any]:
    """The items of ``iterable``, refused once their sizes add up past the value limit."""
    budget = _budget()
    limit = budget.limits.value_limit
    total = 0
    for item in iterable:
        budget.tick()
        total += value_size(item, limit)
        budget.refuse_size(total, what)
        yield item


def bounded_range(*args: int) -> range:
    """``range`` with at most :data:`MAX_RANGE` numbers."""
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise LimitExceeded(f"range of {len(numbers)} numbers (at most {MAX_RANGE})")
    return numbers


class BoundedNamespace(Namespace):
    """jinja2's ``namespace`` whose assignments are bounded like every other value."""

    def __setitem__(self, name: str, value: Any) -> None:
        _budget().check(value, what=f"namespace value {name!r}")
        super().__setitem__(name, value)


def _pre_check(name: str, args: tuple[Any, ...], kwargs: dict[str, Any], budget: _Budget) -> None:
    """Refuse the filters whose result can be much larger than their arguments."""
    value = args[0] if args else None

    def arg(position: int, key: str, default: Any) -> Any:
        return args[position] if len(args) > position else kwargs.get(key, default)

    text = value if isinstance(value, str) else str(value)
    if name == "center":
        budget.refuse_size(int(arg(1, "width", 80)), "the centred text")
    elif name == "indent":
        width = arg(1, "width", 4)
        pad = len(width) if isinstance(width, str) else int(width)
        budget.refuse_size(len(text) + (text.count("\n") + 1) * pad, "the indented text")
    elif name == "wordwrap":
        wrap = arg(4, "wrapstring", None) or "\n"
        budget.refuse_size(len(text) * (1 + len(str(wrap))), "the wrapped text")
    elif name == "replace":
        old, new = str(arg(1, "old", "")), str(arg(2, "new", ""))
        budget.refuse_size(len(text) + text.count(old) * len(new), "the replaced text")
    elif name == "format":
        budget.refuse_size(_percent_format_size(text, args[1:], budget), "the formatted text")
    elif name in ("batch", "slice"):
        budget.refuse_size(int(arg(1, "linecount" if name == "batch" else "slices", 1)), name)


_FILTER_CONTEXTS = (jinja2.runtime.Context, nodes.EvalContext, jinja2.Environment)


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        plain = [a for a in args if not isinstance(a, _FILTER_CONTEXTS)]
        budget.check(*plain, *kwargs.values(), what=f"the argument of filter {name!r}")
        values = tuple(plain)
        _pre_check(name, values, kwargs, budget)
        if name == "join" and values:
            items = list(_bounded_items(values[0], "the joined text"))
            separator = values[1] if len(values) > 1 else kwargs.get("d", "")
            budget.refuse_size(len(str(separator)) * len(items), "the joined text")
            args = tuple(items if a is values[0] else a for a in args)
        result = function(*args, **kwargs)
        if name == "map":
            return _bounded_items(result, "the mapped items")
        budget.check(result, what=f"the result of filter {name!r}")
        return result

    return bounded


def _is_bounded(node: nodes.Node) -> bool:
    return (
        isinstance(node, nodes.Call)
        and isinstance(node.node, nodes.EnvironmentAttribute)
        and node.node.name == "bounded_iter"
    )


class _BoundedCodeGenerator(CodeGenerator):
    """jinja2's code generator, with every ``for`` loop's iterable, every ``~`` concatenation
    and every list, tuple and dict literal going through the sandbox's checks (so that every
    value a template holds is bounded, and comparing or printing one is too)."""

    def visit_For(self, node: nodes.For, frame: Any) -> None:
        if not _is_bounded(node.iter):
            bounded = nodes.Call(
                nodes.EnvironmentAttribute("bounded_iter"), [node.iter], [], None, None
            )
            node.iter = bounded.set_lineno(node.iter.lineno or node.lineno)
        super().visit_For(node, frame)

    def _bounded_literal(self, visit: Callable[..., None], node: nodes.Expr, frame: Any) -> None:
        if getattr(node, "ctx", "load") != "load":
            visit(node, frame)
            return
        self.write("environment.bounded_value(")
        visit(node, frame)
        self.write(")")

    def visit_List(self, node: nodes.List, frame: Any) -> None:
        self._bounded_literal(super().visit_List, node, frame)

    def visit_Tuple(self, node: nodes.Tuple, frame: Any) -> None:
        self._bounded_literal(super().visit_Tuple, node, frame)

    def visit_Dict(self, node: nodes.Dict, frame: Any) -> None:
        self._bounded_literal(super().visit_Dict, node, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Any) -> None:
        self.write("environment.bounded_concat((")
        for part in node.nodes:
            self.visit(part, frame)
            self.write(", ")
        self.write("))")


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The sandbox with the time, size and number limits of this module."""

    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, *, filters: Mapping[str, Callable[..., Any]], **options: Any) -> None:
        super().__init__(finalize=self._finalize, **options)
        self.globals["range"] = bounded_range
        self.globals["namespace"] = BoundedNamespace
        self.globals.pop("lipsum", None)
        every = {**self.filters, **filters}
        self.filters = {name: _bounded_filter(name, f) for name, f in every.items()}

    @staticmethod
    def _finalize(value: Any) -> Any:
        budget = _BUDGET.get()
        if budget is not None:  # None while a constant is folded at compile time
            budget.check(value, what="a printed value")
        return value

    @staticmethod
    def bounded_iter(iterable: Iterable[Any]) -> Iterator[Any]:
        return _bounded_iter(iterable)

    @staticmethod
    def bounded_value(value: Any) -> Any:
        _budget().check(value, what="a list or dict")
        return value

    @staticmethod
    def bounded_concat(parts: tuple[Any, ...]) -> str:
        _budget().check(*parts, what="the joined text")
        return str_join(parts)

    def getattr(self, obj: Any, attribute: str) -> Any:
        _budget().tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _budget().tick()
        return super().getitem(obj, argument)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapper = super().wrap_str_format(value)
        if wrapper is None:
            return None
        fmt = value.__self__

        @functools.wraps(wrapper)
        def bounded(*args: Any, **kwargs: Any) -> str:
            budget = _budget()
            size = _str_format_size(fmt, (args, kwargs), budget)
            budget.refuse_size(size, "the formatted text")
            return wrapper(*args, **kwargs)

        return bounded

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        budget.check(*args, *kwargs.values(), what="the arguments of a call")
        if isinstance(__obj, types.BuiltinMethodType) and isinstance(__obj.__self__, str):
            _check_str_method(__obj.__self__, __obj.__name__, args, budget)
            if __obj.__name__ == "join" and args:
                args = (list(_bounded_items(args[0], "the joined text")), *args[1:])
                budget.refuse_size(len(__obj.__self__) * len(args[0]), "the joined text")
        if isinstance(__obj, LoopContext) and args:
            args = (_bounded_iter(args[0]), *args[1:])
        result = super().call(__context, __obj, *args, **kwargs)
        budget.check(result, what="the result of a call")
        return result

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        budget = _budget()
        limit = budget.limits.value_limit
        budget.tick()
        if operator == "**" and isinstance(right, int | float):
            if abs(right) > MAX_EXPONENT:
                raise LimitExceeded(f"exponent {right} is too large for a template")
            if isinstance(left, int) and right > 0 and left.bit_length() * right > MAX_INT_BITS:
                raise LimitExceeded(f"integer power beyond {MAX_INT_BITS} bits")
        elif operator == "*":
            _refuse_big_int_product(left, right)
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(count, int):
                    budget.refuse_size(value_size(seq, limit) * count, "the repetition")
        elif operator == "+":
            if not (isinstance(left, int | float) and isinstance(right, int | float)):
                budget.check(left, right, what="the sum")
        elif operator == "%" and isinstance(left, str):
            budget.refuse_size(_percent_format_size(left, right, budget), "the formatted text")
        return super().call_binop(context, operator, left, right)


def _check_str_method(text: str, name: str, args: tuple[Any, ...], budget: _Budget) -> None:
    if name in _PADDING_METHODS and args and isinstance(args[0], int):
        budget.refuse_size(args[0], f"the result of {name}")
    elif name == "expandtabs":
        tab = args[0] if args and isinstance(args[0], int) else 8
        budget.refuse_size(len(text) * max(tab, 1), "the result of expandtabs")
    elif name == "replace" and len(args) >= 2:
        budget.refuse_size(
            len(text) + text.count(str(args[0])) * len(str(args[1])), "the replaced text"
        )
    elif name in ("translate", "maketrans"):
        raise SecurityError(f"str.{name} is not available in templates")


class ConfinedLoader(jinja2.FileSystemLoader):
    """A :class:`jinja2.FileSystemLoader` of one folder that refuses a template which is a
    symbolic link, lies below one inside the folder, or whose real path is outside the
    folder (:func:`os.path.realpath`). Names with ``..`` are not found (jinja2's rule)."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        super().__init__(os.fspath(folder))
        self.folder = os.path.realpath(folder)

    def get_source(self, environment: jinja2.Environment, template: str) -> Any:
        pieces = split_template_path(template)
        path = self.folder
        for piece in pieces:
            path = os.path.join(path, piece)
            if os.path.islink(path):
                raise TemplateOutsideFolder(
                    f"template {template!r} in {self.folder} is a symbolic link (or lies below "
                    "one); templates must be plain files inside their folder",
                    template,
                )
        real = os.path.realpath(path)
        if os.path.commonpath([real, self.folder]) != self.folder:
            raise TemplateOutsideFolder(
                f"template {template!r} resolves outside its folder {self.folder}", template
            )
        return super().get_source(environment, template)


def render(template: jinja2.Template, context: dict[str, Any], limits: RenderLimits) -> str:
    """Render ``template`` (of a :class:`BoundedSandbox`) within ``limits``; raises
    :class:`LimitExceeded` when it runs too long, writes too much or makes too large a value."""
    budget = _Budget(limits)
    token = _BUDGET.set(budget)
    try:
        parts = []
        size = 0
        for chunk in template.generate(context):
            size += len(chunk)
            if size > limits.output_limit:
                raise LimitExceeded(
                    f"wrote more than the output limit of {limits.output_limit} characters"
                )
            budget.tick()
            parts.append(chunk)
        return "".join(parts)
    finally:
        _BUDGET.reset(token)


__all__ = [
    "DEFAULT_OUTPUT_LIMIT",
    "DEFAULT_TIME_LIMIT_S",
    "MAX_EXPONENT",
    "MAX_INT_BITS",
    "MAX_RANGE",
    "OUTPUT_LIMIT_ENV",
    "TIME_LIMIT_ENV",
    "VALUE_SIZE_FACTOR",
    "BoundedNamespace",
    "BoundedSandbox",
    "ConfinedLoader",
    "LimitExceeded",
    "RenderLimits",
    "TemplateOutsideFolder",
    "bounded_range",
    "render",
    "render_limits",
    "value_size",
]
