"""Import ecCodes safely next to pyproj.

The ``eccodes`` wheel loads its bundled libraries (``eckitlib.libs``, which include a private
copy of PROJ) with ``RTLD_GLOBAL`` through ``findlibs``. When pyproj is imported *after* that,
its extension binds to ecCodes' PROJ instead of its own, finds no PROJ database and the process
dies with "free(): invalid pointer" / a segmentation fault at the latest on exit (observed with
eccodes 2.50 + eckitlib 2.5.0.33 and pyproj from MetPy's dependencies). Importing pyproj first
makes it bind to its own PROJ; the reverse order is then harmless. pyproj is optional: when it
is not installed there is nothing to protect.
"""

from __future__ import annotations

import importlib.util
from types import ModuleType


def load_eccodes() -> ModuleType:
    """Return the ``eccodes`` module, importing pyproj (when installed) before it."""
    if importlib.util.find_spec("pyproj") is not None:
        import pyproj  # noqa: F401  (import order matters, see the module docstring)
    import eccodes

    return eccodes


def load_cfgrib() -> ModuleType:
    """Return the ``cfgrib`` module, with ecCodes loaded safely first."""
    load_eccodes()
    import cfgrib

    return cfgrib
