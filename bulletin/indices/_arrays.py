"""Array plumbing shared by the index modules: dtypes, input checks, missing levels, dask.

Every public index function is element-wise over broadcastable arrays. The numpy path is
written for speed (float32 kept, in-place operations); :func:`elementwise` adds the rest:

* 0-d inputs (Python or numpy scalars) give 0-d array outputs;
* dask arrays among the inputs give a lazy dask result computed block by block with the same
  numpy code (``dask.array.core.elemwise``, the machinery dask uses for numpy ufuncs), so a
  caller may pass dask arrays directly as well as through ``xr.apply_ufunc``.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, DTypeLike, NDArray

from bulletin.errors import BulletinError

F = TypeVar("F", bound=Callable[..., Any])

#: Level value that marks a missing level (a NaN driver) in every int8 level array.
MISSING = np.int8(-1)


class IndexInputError(BulletinError):
    """An index function got impossible input values (wrong units, out of physical range)."""


def float_dtype(*arrays: ArrayLike) -> np.dtype:
    """The float dtype of a computation on ``arrays``: float32 stays float32 (Python scalars do
    not promote it), anything else floating or integer gives float64; Python scalars alone
    give float64."""
    if not any(isinstance(a, np.ndarray | np.generic) for a in arrays):
        return np.dtype(np.float64)
    dtype = np.result_type(*arrays, np.float32)
    return dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)


def _is_python_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _scalar_dtype(values: list[Any]) -> np.dtype:
    """Float dtype for Python numbers among ``values``: that of the numeric arrays beside them
    (as numpy's weak scalars behave: a Python float does not promote float32), else float64."""
    numeric = [
        v
        for v in values
        if isinstance(v, np.ndarray | np.generic) and np.asarray(v).dtype.kind in "fiu"
    ]
    if numeric:
        dtype = np.result_type(*numeric)
        if np.issubdtype(dtype, np.floating):
            return dtype
    return np.dtype(np.float64)


def as_float(x: ArrayLike, dtype: np.dtype) -> NDArray[np.floating]:
    """``x`` as an array of ``dtype`` without copying when it already is one."""
    return np.asarray(x, dtype=dtype)


#: False while a caller that has already checked its raw inputs runs the index functions on
#: them and on values derived from them (:func:`inputs_already_checked`).
_CHECKING = contextvars.ContextVar("bulletin_index_input_checks", default=True)


@contextlib.contextmanager
def inputs_already_checked() -> Iterator[None]:
    """Within the block (in the current thread), :func:`check_range` and :func:`check_levels`
    do no work: for a caller such as the combined engine that checks each raw input once
    instead of once in every index function it feeds."""
    token = _CHECKING.set(False)
    try:
        yield
    finally:
        _CHECKING.reset(token)


def flat_as(x: NDArray, shape: tuple[int, ...], dtype: DTypeLike = None) -> NDArray:
    """``x`` broadcast to ``shape`` as a flat C-contiguous array (of ``dtype`` when given): a
    view when it already is one, else a copy (the compiled kernels take flat arrays)."""
    if x.shape != shape:
        x = np.broadcast_to(x, shape)
    return np.ascontiguousarray(x, dtype=dtype).reshape(-1)


def check_range(
    function: str,
    name: str,
    values: NDArray,
    low: float | None,
    high: float | None,
    unit: str,
    hint: str = "",
) -> None:
    """Raise :class:`IndexInputError` when a non-NaN value of ``values`` is outside [low, high].

    NaN is allowed everywhere (it means missing). ``np.fmin.reduce`` / ``np.fmax.reduce`` skip
    NaN and cost about a millisecond per 1e7 values, so the check is cheap enough to be always on.
    """
    if values.size == 0 or not _CHECKING.get():
        return
    suffix = f" ({hint})" if hint else ""
    if low is not None:
        smallest = np.fmin.reduce(values, axis=None)
        if smallest < low:
            raise IndexInputError(
                f"{function}: {name} has a value {float(smallest):.6g} {unit} below the "
                f"possible minimum {low:g} {unit}{suffix}"
            )
    if high is not None:
        largest = np.fmax.reduce(values, axis=None)
        if largest > high:
            raise IndexInputError(
                f"{function}: {name} has a value {float(largest):.6g} {unit} above the "
                f"possible maximum {high:g} {unit}{suffix}"
            )


def check_levels(function: str, name: str, levels: NDArray, low: int, high: int) -> NDArray:
    """``levels`` as an integer array whose values are ``MISSING`` or within [low, high]."""
    levels = np.asarray(levels)
    if not (np.issubdtype(levels.dtype, np.integer) or levels.dtype == np.bool_):
        rounded = np.where(np.isnan(levels), MISSING, levels)
        if not np.array_equal(rounded, np.round(rounded)):
            raise IndexInputError(f"{function}: {name} must hold whole level numbers")
        levels = rounded.astype(np.int8)
    if levels.size and _CHECKING.get():
        smallest, largest = int(levels.min()), int(levels.max())
        bad = largest > high or (smallest < low and smallest != MISSING) or smallest < MISSING
        if bad:
            raise IndexInputError(
                f"{function}: {name} has level values in [{smallest}, {largest}]; expected "
                f"{low}..{high} or {int(MISSING)} for missing"
            )
    return levels


def mark_missing(levels: NDArray[np.int8], *drivers: NDArray) -> NDArray[np.int8]:
    """Set ``levels`` to ``MISSING`` (in place) wherever any float driver is NaN."""
    for driver in drivers:
        if np.issubdtype(driver.dtype, np.floating):
            np.copyto(levels, MISSING, where=np.isnan(driver))
    return levels


def count_at_or_below(
    values: NDArray, edges: tuple[float, ...], start: int = 0, *, nan_missing: bool = False
) -> NDArray:
    """``start`` + number of ``edges`` that ``values`` is at or below, as int8.

    The cheap form of a band lookup for descending thresholds (a count of comparisons costs
    less than ``np.digitize`` or ``np.select``; one compiled pass over ``values``). NaN counts
    0, or gives ``MISSING`` with ``nan_missing``.
    """
    return _count_edges(values, edges, start, below=True, nan_missing=nan_missing)


def count_at_or_above(
    values: NDArray, edges: tuple[float, ...], start: int = 0, *, nan_missing: bool = False
) -> NDArray:
    """``start`` + number of ``edges`` that ``values`` is at or above, as int8 (NaN counts 0,
    or gives ``MISSING`` with ``nan_missing``)."""
    return _count_edges(values, edges, start, below=False, nan_missing=nan_missing)


def _count_edges(
    values: NDArray, edges: tuple[float, ...], start: int, below: bool, nan_missing: bool
) -> NDArray:
    values = np.asarray(values)
    out = np.empty(values.shape, dtype=np.int8)
    typed = tuple(values.dtype.type(edge) for edge in edges)
    flat = np.ascontiguousarray(values).reshape(-1)
    if typed:
        _count_edges_kernel(flat, typed, np.int8(start), below, nan_missing, out.reshape(-1))
    else:
        out.fill(start)
        if nan_missing:
            mark_missing(out, values)
    return out


# The edges come as a tuple of known length, so the loop over them is unrolled and the loop
# over the points vectorised: one pass and no temporaries, instead of a numpy comparison and
# addition per edge.
@njit(nogil=True, cache=True, error_model="numpy")
def _count_edges_kernel(values, edges, start, below, nan_missing, out):  # pragma: no cover
    for i in range(values.shape[0]):
        value = values[i]
        level = start
        for edge in edges:
            level += (value <= edge) if below else (value >= edge)
        out[i] = MISSING if nan_missing and value != value else level


def _is_dask(x: Any) -> bool:
    return type(x).__module__.split(".", 1)[0] == "dask"


def elementwise(*array_params: str) -> Callable[[F], F]:
    """Decorate an element-wise function whose parameters ``array_params`` hold array data.

    Numpy path: Python numbers take the float dtype of the arrays beside them (so a float32
    grid with a Python constant stays float32); 0-d arrays are promoted to 1-d for the body
    (so in-place operations and ``out=`` work) and the result is returned 0-d again; ``None``
    marks an optional array input that was not given and is passed on as ``None``.

    Dask path: the function runs block by block through ``dask.array.core.elemwise`` with
    broadcasting; the output dtype is found by calling the function on empty arrays.
    Functions returning a ``dict`` of arrays give a dict of lazy arrays.
    """

    def decorate(func: F) -> F:
        signature = inspect.signature(func)

        def numpy_call(arguments: dict[str, Any]) -> Any:
            scalar = True
            scalar_dtype = _scalar_dtype([arguments[name] for name in array_params])
            for name in array_params:
                value = arguments[name]
                if value is None:
                    continue
                array = np.asarray(value, scalar_dtype if _is_python_number(value) else None)
                scalar &= array.ndim == 0
                arguments[name] = array.reshape(1) if array.ndim == 0 else array
            result = func(**arguments)
            if not scalar:
                return result
            if isinstance(result, dict):
                return {key: value.reshape(()) for key, value in result.items()}
            return result.reshape(())

        names = list(signature.parameters)
        slots = [
            (name, names.index(name), signature.parameters[name].default) for name in array_params
        ]

        def is_plain(value: Any) -> bool:
            return value is None or (type(value) is np.ndarray and value.ndim > 0)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            # Fast path (the index engine's calls): every array parameter a
            # numpy array of at least one dimension (or None): nothing to convert.
            if all(
                is_plain(args[index] if index < len(args) else kwargs.get(name, default))
                for name, index, default in slots
            ):
                return func(*args, **kwargs)
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            arguments = dict(bound.arguments)
            if any(_is_dask(arguments[name]) for name in array_params):
                return _dask_call(numpy_call, arguments, array_params)
            return numpy_call(arguments)

        return wrapper  # type: ignore[return-value]

    return decorate


def _meta(value: Any) -> np.ndarray:
    """A stand-in for ``value`` to find the output dtype: scalars as they are, arrays empty."""
    if _is_dask(value):
        return np.empty((0,) * max(value.ndim, 1), dtype=value.dtype)
    array = np.asarray(value)
    return array if array.ndim == 0 else np.empty((0,) * array.ndim, dtype=array.dtype)


def _dask_call(numpy_call: Callable, arguments: dict[str, Any], array_params: tuple[str, ...]):
    from dask.array.core import elemwise as dask_elemwise

    names = [name for name in array_params if arguments[name] is not None]
    values = [arguments[name] for name in names]

    def call(*blocks: Any, key: str | None = None) -> Any:
        result = numpy_call({**arguments, **dict(zip(names, blocks, strict=True))})
        return result if key is None else result[key]

    meta = call(*(_meta(value) for value in values))
    if isinstance(meta, dict):
        return {
            key: dask_elemwise(functools.partial(call, key=key), *values, dtype=part.dtype)
            for key, part in meta.items()
        }
    return dask_elemwise(call, *values, dtype=meta.dtype)
