"""Test-session setup shared by every test module."""

from bulletin.readers.eccodes_loader import load_eccodes

# MetPy (a test-only dependency) pulls in pyproj; loaded after ecCodes it binds to ecCodes'
# private PROJ and the process crashes at exit. Load them in the safe order before any test
# opens a file through xarray (see bulletin.readers.eccodes_loader).
load_eccodes()
