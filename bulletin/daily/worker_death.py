"""A dask worker preload: the worker process dies with the process that started it.

:func:`bulletin.daily.scale.dask_client` starts its local workers with this module as their
``preload`` and the starting process's pid as ``--parent-pid``. ``dask_setup`` runs in each
worker process as it starts and asks Linux to send it SIGKILL when its parent dies
(``prctl(PR_SET_PDEATHSIG, SIGKILL)``, prctl(2)); should the parent already be gone by then
(its pid is no longer the worker's parent), the worker exits at once. distributed's own
watch (a thread that exits when a pipe to the parent closes) needs the interpreter lock,
which a task in a long C call holds; the kernel's signal does not. Only this worker process
is affected; on systems without prctl nothing is changed.

prctl(2): the signal is sent when the *thread* that created the worker ends; distributed
starts workers from its event-loop thread, which lives as long as the cluster.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

import click

#: prctl(2) option numbers from <linux/prctl.h>.
PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> bool:
    """Ask the kernel to SIGKILL this process when its parent dies; exit now if the parent
    is no longer ``parent_pid``. Returns whether the request was made (Linux only)."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
        return False
    if os.getppid() != parent_pid:  # the parent died before the request was made
        os._exit(1)
    return True


@click.command()
@click.option("--parent-pid", type=int, required=True)
def dask_setup(worker, parent_pid: int) -> None:
    """distributed's preload hook (``Worker(preload=[__name__], preload_argv=[...])``)."""
    die_with_parent(parent_pid)


__all__ = ["PR_SET_PDEATHSIG", "dask_setup", "die_with_parent"]
