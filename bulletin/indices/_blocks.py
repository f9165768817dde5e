"""Cache-sized blocks on a thread pool, for element-wise work on large numpy arrays.

A chain of numpy operations over a 1e7-point grid streams every temporary through main memory
(and page-faults each freshly allocated one); on blocks of a few 1e5 points the temporaries
stay in the CPU caches and are reused by the allocator, which is several times faster. numpy releases
the GIL inside its loops, so blocks also run in parallel on a thread pool. Results are
identical to one call on the whole arrays for element-wise functions (every element goes
through the same operations), and for functions that only reduce or scan along the one axis
that is never split (``keep_axis``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.typing import NDArray

#: Points per block for one or two threads (our choice, measured on the forecast-like
#: benchmark grid with the blocks cut along the outer axis, CPU time of the engine: one
#: thread 0.60 s on blocks of 2**17 points, 0.56 s on 2**18, 0.99 s on 2**19, whose ~60 MB
#: of inputs, temporaries and outputs no longer fit the 32 MB last-level cache; two threads
#: 0.45 / 0.36 / 0.53 s of wall). More threads get smaller blocks (:func:`block_points_for`).
BLOCK_POINTS = 1 << 18
#: The smallest block (our choice: below it the per-block Python overhead, ~1 ms, dominates).
MIN_BLOCK_POINTS = 1 << 17


def default_workers() -> int:
    """Threads for block-wise work: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def block_points_for(workers: int) -> int:
    """Points per block for ``workers`` threads: :data:`BLOCK_POINTS` for one or two, shared
    out beyond two (the threads share the last-level cache; measured on two threads only),
    at least :data:`MIN_BLOCK_POINTS`."""
    return max(MIN_BLOCK_POINTS, BLOCK_POINTS * 2 // max(2, workers))


def map_blocks(
    func: Callable[..., Mapping[str, NDArray]],
    arrays: Mapping[str, NDArray | None],
    shape: tuple[int, ...],
    *,
    keep_axis: int | None = None,
    block_points: int | None = None,
    workers: int | None = None,
    dtypes: Mapping[str, np.dtype] | None = None,
    emit: bool = False,
    **kwargs,
) -> dict[str, NDArray]:
    """Call ``func(**blocks, **kwargs)`` on blocks of ``arrays`` and assemble its outputs.

    ``arrays`` are broadcastable to ``shape`` with the same number of dimensions (size-1 axes
    are broadcast, ``None`` is passed through). The blocks split one axis other than
    ``keep_axis``, so a function may reduce or scan along ``keep_axis``: the outermost axis
    long enough for blocks of at most ``block_points`` (a block is then made of long
    contiguous runs of memory: cutting the innermost axis instead gave runs of a few values
    and ~1.6x the time), else the longest.
    ``block_points`` defaults to :func:`block_points_for` the number of threads.
    ``func`` returns a dict of arrays broadcastable to the block's shape; the result holds each
    as a full ``shape`` array. The outputs' dtypes are ``dtypes`` (by output name) when given,
    else learnt from a one-slice block run first; then the blocks run on ``workers`` threads
    (default: :func:`default_workers`) and write straight into the outputs. With ``emit``,
    ``func`` also gets ``emit=callback``, and may hand each output to ``callback(name,
    array)`` as soon as it has it instead of returning it.
    """
    workers = default_workers() if workers is None else workers
    if block_points is None:
        block_points = block_points_for(workers)
    total = int(np.prod(shape))
    axes = [axis for axis in range(len(shape)) if axis != keep_axis and shape[axis] > 1]
    if not axes or total <= block_points:
        return {
            key: np.broadcast_to(value, shape).copy() if value.shape != shape else value
            for key, value in func(**arrays, **kwargs).items()
        }
    fitting = [axis for axis in axes if shape[axis] * block_points >= total]
    axis = fitting[0] if fitting else max(axes, key=lambda a: shape[a])
    width = max(1, shape[axis] * block_points // total)
    starts = list(range(0, shape[axis], width))

    def index(start: int, ndim: int, size: int) -> tuple[slice, ...]:
        part = slice(start, start + width) if size > 1 else slice(None)
        return (slice(None),) * axis + (part,) + (slice(None),) * (ndim - axis - 1)

    def run(start: int) -> dict[str, NDArray]:
        blocks = {
            key: None if value is None else value[index(start, value.ndim, value.shape[axis])]
            for key, value in arrays.items()
        }
        if not emit:
            return func(**blocks, **kwargs)
        where = index(start, len(shape), shape[axis])

        def callback(key: str, value: NDArray) -> None:
            outputs[key][where] = value

        return func(**blocks, **kwargs, emit=callback)

    outputs: dict[str, NDArray] = {}

    def store(start: int, result: Mapping[str, NDArray]) -> None:
        where = index(start, len(shape), shape[axis])
        for key, value in result.items():
            outputs[key][where] = value

    if dtypes is None:
        # From the first element of the split axis (a one-slice block run ahead: cheaper
        # than running the whole first block alone while the other threads wait).
        sample = {
            key: None
            if value is None
            else value[
                tuple(
                    slice(0, 1) if dim == axis and value.shape[axis] > 1 else slice(None)
                    for dim in range(value.ndim)
                )
            ]
            for key, value in arrays.items()
        }
        dtypes = {key: value.dtype for key, value in func(**sample, **kwargs).items()}
    for key, dtype in dtypes.items():
        outputs[key] = np.empty(shape, dtype=dtype)
    if workers <= 1:
        for start in starts:
            store(start, run(start))
        return outputs
    with ThreadPoolExecutor(max_workers=min(workers, len(starts))) as pool:
        for _ in pool.map(lambda start: store(start, run(start)), starts):
            pass
    return outputs
