"""Real files from registry packages' shipped test data, for the real-data tests.

``real_file("pygrib", "sampledata/eta.grb")`` is the file as the package ships it, fetched once
into the cache by ``scripts/fetch_test_data.py``; where the registry cannot be reached the test
is skipped, saying so. Tests using it carry the ``slow`` marker (the first run downloads).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "fetch_test_data.py"


def _fetcher():
    module = sys.modules.get("fetch_test_data")
    if module is None:
        spec = importlib.util.spec_from_file_location("fetch_test_data", _SCRIPT)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["fetch_test_data"] = module
        spec.loader.exec_module(module)
    return module


def real_file(package: str, relpath: str) -> Path:
    """The path of ``relpath`` inside the pinned registry ``package``, fetched and cached.

    Skips the calling test with the reason when the package cannot be fetched.
    """
    fetcher = _fetcher()
    try:
        return fetcher.extract_member(package, relpath)
    except fetcher.FetchError as error:
        pytest.skip(f"real test data unavailable ({package} {relpath}): {error}")
