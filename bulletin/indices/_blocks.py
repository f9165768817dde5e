"""Cache-sized blocks on a thread pool, for element-wise work on large numpy arrays.

A chain of numpy operations over a 1e7-point grid streams every temporary through main memory
(and page-faults each freshly allocated one); on blocks of a few 1e5 points the temporaries
stay in the CPU caches and are reused by the allocator, which is several times faster. numpy releases
the GIL inside its loops, so blocks also run in parallel on a thread pool. Results are
identical to one call on the whole arrays for element-wise functions (every element goes
through the same operations), and for functions that only reduce or scan along the one axis
that is never split (``keep_axis``).

While blocks run, glibc's malloc is asked to keep freed memory (:func:`steady_heap`): each
block allocates and frees some 100 bytes of temporaries per point, and with glibc's default
(dynamic) thresholds the heap was given back to the kernel and faulted in again block after
block as soon as blocks grew past ~2.6e5 points (measured on the 1e7-point benchmark grid,
one thread, blocks of 3.9e5 points: 1514 ``brk`` calls and 183,000 page faults per call,
0.29 s of system time, against 0.4 s of work).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import os
import platform
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.typing import NDArray

#: Points per block for one or two threads (our choice, measured with :func:`steady_heap` on
#: the 1e7-point forecast-like benchmark grid, 100 latitude rows, two threads, whole
#: ``compute_indices``: 0.323 s on blocks of 2**18 points (2 rows), 0.277 s on 4 rows,
#: 0.268 s on 2**19 (5 rows), 0.266 s on 6 rows; fewer blocks mean less of the ~0.65 ms of
#: Python per block, which two threads partly serialise on the GIL). Without steady_heap,
#: blocks past ~2.6e5 points were much slower (see the module docstring), which an earlier
#: version of this note put down to the last-level cache. More threads get smaller blocks
#: (:func:`block_points_for`).
BLOCK_POINTS = 1 << 19
#: The smallest block (our choice: below it the per-block Python overhead, ~1 ms, dominates).
MIN_BLOCK_POINTS = 1 << 17


#: glibc ``mallopt`` parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: While blocks run: allocations below 32 MiB (glibc's own ceiling for its dynamic mmap
#: threshold) come from the heap, and up to 1 GiB of free heap is kept rather than given back
#: (our choices: a block's temporaries are a few MiB each, its peak some 100 MiB).
_MMAP_THRESHOLD = 32 << 20
_TRIM_THRESHOLD_WHILE_RUNNING = 1 << 30
#: Afterwards: the trim threshold that glibc's dynamic rule pairs with that mmap threshold
#: (twice it); the memory kept meanwhile is handed back with ``malloc_trim(0)``.
_TRIM_THRESHOLD_AFTER = 2 * _MMAP_THRESHOLD
#: Set to "0" to leave malloc's settings alone.
MALLOC_TUNING_ENV = "BULLETIN_MALLOC_TUNING"

_heap_lock = threading.Lock()
_heap_users = 0


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc (``mallopt`` and ``malloc_trim`` exist), else None."""
    if platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
        libc.mallopt.restype = ctypes.c_int
        libc.malloc_trim.argtypes = (ctypes.c_size_t,)
        libc.malloc_trim.restype = ctypes.c_int
    except (OSError, AttributeError):
        return None
    return libc


@contextlib.contextmanager
def steady_heap() -> Iterator[None]:
    """Within the block, glibc malloc keeps the memory that is freed (see the module
    docstring), and on leaving it hands it back (``malloc_trim``). Nested and concurrent uses
    (dask threads each computing a chunk) share one setting: the last to leave restores.

    These are process-wide settings, in force only while some caller is inside. A no-op off
    glibc, and when the environment variable ``BULLETIN_MALLOC_TUNING`` is ``0``. glibc has
    no call to read its settings back, so "restore" means the mmap threshold stays at 32 MiB
    (the ceiling that glibc's dynamic threshold grows to by itself) and the trim threshold
    returns to twice that, as glibc's dynamic rule pairs them.
    """
    global _heap_users
    libc = None if os.environ.get(MALLOC_TUNING_ENV) == "0" else _glibc()
    if libc is None:
        yield
        return
    with _heap_lock:
        if _heap_users == 0:
            libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
            libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_WHILE_RUNNING)
        _heap_users += 1
    try:
        yield
    finally:
        with _heap_lock:
            _heap_users -= 1
            if _heap_users == 0:
                libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_AFTER)
                libc.malloc_trim(0)


#: Transparent huge page size on x86-64 and arm64 (4 KiB base pages).
HUGE_PAGE = 1 << 21


def huge_page_aligned_empty(shape: tuple[int, ...], dtype: np.dtype) -> NDArray:
    """``np.empty(shape, dtype)`` starting on a 2 MiB boundary when it is 4 MiB or more.

    numpy asks the kernel for transparent huge pages on allocations of 4 MiB and more, but
    malloc places them at arbitrary 4 KiB boundaries, and the parts before the first and after
    the last 2 MiB boundary are then faulted in 4 KiB at a time (~11,000 faults for the 22
    outputs of the 1e7-point benchmark grid). Aligned, the whole array is huge pages; measured
    (two threads, compute_indices, alternating runs): 0.291 -> 0.282 s median, 27,000 ->
    16,000 page faults. The unused start of the buffer is never touched, so costs no memory.
    """
    dtype = np.dtype(dtype)
    size = int(np.prod(shape)) * dtype.itemsize
    if size < 2 * HUGE_PAGE:
        return np.empty(shape, dtype=dtype)
    raw = np.empty(-(-size // HUGE_PAGE) * HUGE_PAGE + HUGE_PAGE, dtype=np.uint8)
    offset = -raw.ctypes.data % HUGE_PAGE
    return raw[offset : offset + size].view(dtype).reshape(shape)


def default_workers() -> int:
    """Threads for block-wise work: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def block_points_for(workers: int) -> int:
    """Points per block for ``workers`` threads: :data:`BLOCK_POINTS` for one or two, shared
    out beyond two (our choice, measured on two threads only: it keeps the memory of the
    blocks in flight, ~100 bytes a point each, about the same), at least
    :data:`MIN_BLOCK_POINTS`."""
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
        outputs[key] = huge_page_aligned_empty(shape, dtype)
    with steady_heap():
        if workers <= 1:
            for start in starts:
                store(start, run(start))
            return outputs
        with ThreadPoolExecutor(max_workers=min(workers, len(starts))) as pool:
            for _ in pool.map(lambda start: store(start, run(start)), starts):
                pass
    return outputs
