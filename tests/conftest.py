"""Test-session setup shared by every test module."""

import os

import pytest

from bulletin.readers.eccodes_loader import load_eccodes

# MetPy (a test-only dependency) pulls in pyproj; loaded after ecCodes it binds to ecCodes'
# private PROJ and the process crashes at exit. Load them in the safe order before any test
# opens a file through xarray (see bulletin.readers.eccodes_loader).
load_eccodes()

#: HDF5_PLUGIN_PATH as the test session started.
USER_HDF5_PLUGIN_PATH = os.environ.get("HDF5_PLUGIN_PATH")


@pytest.fixture(autouse=True)
def _children_get_the_users_hdf5_plugin_path(monkeypatch):
    """Importing netCDF4 (tests that write fixtures as netCDF-C does) points HDF5_PLUGIN_PATH
    at netCDF4's own filter plugins, which link netCDF4's HDF5 build: a command started with
    that environment maps a second HDF5 beside h5py's (README, "One HDF5 library per
    process"). Each test sees the variable as the session began, as a user's shell has it."""
    if os.environ.get("HDF5_PLUGIN_PATH") != USER_HDF5_PLUGIN_PATH:
        if USER_HDF5_PLUGIN_PATH is None:
            monkeypatch.delenv("HDF5_PLUGIN_PATH")
        else:
            monkeypatch.setenv("HDF5_PLUGIN_PATH", USER_HDF5_PLUGIN_PATH)
