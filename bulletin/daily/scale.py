"""Scale-out of the daily run on dask.distributed.

* ``--scheduler ADDRESS`` (or the environment's ``DASK_SCHEDULER_ADDRESS``) connects to an
  existing cluster; ``--workers N`` starts a :class:`~dask.distributed.LocalCluster` of N
  single-threaded worker processes (ecCodes' GRIB decoding is not thread-safe in every build,
  so processes, not threads); neither: everything runs in this process, one unit after the
  other.
* The forecast is opened with dask chunks (:data:`FORECAST_CHUNKS`): only the chunks that
  hold the grid cells around the venues are read (on the cluster's workers when there is
  one), and the indices are computed at the venues only, in this process
  (:func:`bulletin.venue_table`), so a cluster run and a local run compute the same numbers.
  The venue x language units go out with ``client.map(..., pure=False)``; each worker
  writes its unit straight into the output root and sends back only the manifest record.
  The forecast files and the output root must therefore be at the same paths on every worker
  (a shared file system), and the workers need the same installation (espeak-ng, ffmpeg, the
  fonts) as this machine.
* Local workers die with the process that started them, however it ends (``kill -9``
  included): their preload (:mod:`bulletin.daily.worker_death`) asks the kernel for a
  parent-death signal.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..errors import BulletinError

#: Dask chunks of the forecast on a cluster (our choice): the whole time axis in one chunk
#: (the daily cold/flu index and the 24 h snowfall window need it; compute_indices would
#: rechunk to it anyway), one ensemble member per chunk, 256 x 256 grid points: 85 hourly
#: steps x 256 x 256 float32 = 22 MB per variable and chunk, inside dask's advice of chunks
#: of 10-100s of MB (dask docs, "Choosing good chunk sizes").
FORECAST_CHUNKS = {"time": -1, "member": 1, "latitude": 256, "longitude": 256}
#: The preload of local workers (:mod:`bulletin.daily.worker_death`).
WORKER_PRELOAD = "bulletin.daily.worker_death"
#: Seconds to wait for a remote scheduler to answer (our choice).
CONNECT_TIMEOUT_S = 30


class ClusterError(BulletinError):
    """The dask scheduler cannot be reached, or the local cluster cannot start."""


def _worker_environ() -> dict[str, Any]:
    """The environment of local worker processes: dask's defaults (one OpenMP/BLAS thread)
    plus one numba thread, but without dask's ``MALLOC_TRIM_THRESHOLD_``.

    Each worker runs one task at a time and there are as many workers as cores asked for, so
    inner thread pools would only oversubscribe the cores (the video encoder follows
    ``OMP_NUM_THREADS`` too). Setting any glibc malloc threshold turns off glibc's dynamic mmap
    threshold (mallopt(3)), so every frame-sized array becomes a fresh mmap that the kernel
    must zero, and a venue bulletin gets much slower with dask's
    ``MALLOC_TRIM_THRESHOLD_=65536`` (compare ``benchmarks/pipeline.py --quick --skip-daily``
    with and without it in the environment)."""
    import dask
    import distributed  # noqa: F401  (registers distributed's configuration defaults)

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    environ["NUMBA_NUM_THREADS"] = 1
    return environ


def scheduler_address(scheduler: str | None) -> str | None:
    """``--scheduler`` if given, else ``DASK_SCHEDULER_ADDRESS`` from the environment."""
    return scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or None


@contextlib.contextmanager
def dask_client(
    scheduler: str | None, workers: int | None, log: logging.LoggerAdapter | logging.Logger
) -> Iterator[Any]:
    """A dask.distributed Client for the block (see the module docstring), or None to run
    in-process. The client is the default scheduler of dask computations in the block."""
    address = scheduler_address(scheduler)
    if address is None and not workers:
        yield None
        return
    import dask
    from dask.distributed import Client, LocalCluster

    cluster = None
    try:
        if address is not None:
            log.info("connecting to the dask scheduler at %s", address)
            client = Client(address, timeout=CONNECT_TIMEOUT_S)
        else:
            log.info("starting a local dask cluster of %d worker process(es)", workers)
            with dask.config.set({"distributed.nanny.pre-spawn-environ": _worker_environ()}):
                cluster = LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,  # no fixed port: runs and tests may overlap
                    # Each worker dies with this process, even when killed (kill -9).
                    preload=[WORKER_PRELOAD],
                    preload_argv=[["--parent-pid", str(os.getpid())]],
                )
            client = Client(cluster)
    except (OSError, TimeoutError, RuntimeError) as exc:  # RuntimeError: a nanny that failed
        if cluster is not None:
            cluster.close()
        where = f"the dask scheduler at {address}" if address else "a local dask cluster"
        raise ClusterError(f"cannot reach {where}: {exc}") from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_tasks(
    client: Any,
    function: Callable[[Any], dict[str, Any]],
    tasks: Sequence[Any],
    done: Callable[[Any, dict[str, Any]], None],
) -> list[dict[str, Any]]:
    """``function(task)`` for every task, in-process (``client`` None) or with
    ``client.map(..., pure=False)``; ``done(task, result)`` as each finishes. Returns the
    results in the order of ``tasks``. A worker lost in the middle of a task (killed, out of
    memory) makes that task's result a failure; ``function`` itself must not raise."""
    results: list[dict[str, Any] | None] = [None] * len(tasks)
    if client is None:
        for position, task in enumerate(tasks):
            results[position] = function(task)
            done(task, results[position])
        return results  # type: ignore[return-value]
    if not tasks:
        return []
    from dask.distributed import as_completed

    futures = client.map(function, list(tasks), pure=False)
    position_of = {future.key: position for position, future in enumerate(futures)}
    for future in as_completed(futures):
        position = position_of[future.key]
        try:
            result = future.result()
        except Exception as exc:  # the worker died: the task never returned
            result = {
                "status": "failed",
                "error": f"dask worker lost: {type(exc).__name__}: {exc}".splitlines()[0],
                "outputs": {},
                "speech_seconds": None,
                "stage_seconds": {},
            }
        results[position] = result
        done(tasks[position], result)
    return results  # type: ignore[return-value]


__all__ = [
    "CONNECT_TIMEOUT_S",
    "FORECAST_CHUNKS",
    "WORKER_PRELOAD",
    "ClusterError",
    "dask_client",
    "run_tasks",
    "scheduler_address",
]
