"""The daily job: every venue's bulletin in every language, published as one dated folder.

::

    from bulletin.daily import load_config, run_daily

    result = run_daily(load_config("bulletin.toml"))   # ROOT/<init date>/<init hour>Z/...
    result.exit_code                                   # 0 all done, 3 some units failed

Modules: :mod:`~bulletin.daily.config` (the TOML file), :mod:`~bulletin.daily.run` (the
run), :mod:`~bulletin.daily.manifest` (``manifest.json``), :mod:`~bulletin.daily.lock` (one
run at a time), :mod:`~bulletin.daily.scale` (dask.distributed),
:mod:`~bulletin.daily.schedule` (APScheduler) and :mod:`~bulletin.daily.page` (``index.html``).
"""

from __future__ import annotations

from .config import ConfigError, DailyConfig, load_config
from .run import (
    EXIT_ERROR,
    EXIT_NOT_AVAILABLE,
    EXIT_OK,
    EXIT_SOME_FAILED,
    EXIT_USAGE,
    DailyResult,
    ForecastNotAvailable,
    run_daily,
)

__all__ = [
    "EXIT_ERROR",
    "EXIT_NOT_AVAILABLE",
    "EXIT_OK",
    "EXIT_SOME_FAILED",
    "EXIT_USAGE",
    "ConfigError",
    "DailyConfig",
    "DailyResult",
    "ForecastNotAvailable",
    "load_config",
    "run_daily",
]
