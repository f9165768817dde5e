#!/usr/bin/env bash
# Creates .venv and installs the project with its test tools. Debian packages named in
# scripts/debian-packages.txt are installed when missing (as root) or reported (otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

need_pkgs=()
# The venv module is split out of python3 on Debian.
if ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
    need_pkgs+=("python3-venv")
fi
while read -r pkg _; do
    case "$pkg" in ""|\#*) continue ;; esac
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        need_pkgs+=("$pkg")
    fi
done < scripts/debian-packages.txt

if [ ${#need_pkgs[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "setup: installing Debian packages: ${need_pkgs[*]}" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
    else
        echo "setup: missing Debian packages: ${need_pkgs[*]}" >&2
        echo "setup: install them with: sudo apt-get install ${need_pkgs[*]}" >&2
        exit 1
    fi
fi

"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "setup: Python 3.11 or newer is needed ($PYTHON is $("$PYTHON" --version 2>&1))" >&2; exit 1; }
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -U pip
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[test,avatar,piper]'
