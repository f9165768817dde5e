"""``bulletin serve [ROOT]``: the daily output on a local HTTP server that browsers can seek in.

Starlette's ``StaticFiles`` (https://www.starlette.io/staticfiles/) answers GET and HEAD for
the files under ROOT: byte-range requests with ``206 Partial Content`` (RFC 9110, section 14),
which a browser needs to seek in a video it has not fully downloaded; ``index.html`` for a
folder (``/latest/``); ``404`` for any path that leads outside ROOT, through ``..`` or a
symbolic link. uvicorn (https://www.uvicorn.org/) runs it, on 127.0.0.1 unless ``--host``
says otherwise: the output is published by choice, not by accident. ``python -m http.server``
is no substitute: it ignores ``Range`` and answers every request with the whole file.
"""

from __future__ import annotations

import errno
import socket
from pathlib import Path

import click

from .errors import BulletinError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


class ServeError(BulletinError):
    """The server cannot start: the address is taken or cannot be bound."""


def make_app(root: Path):
    """The ASGI application serving the files under ``root`` (see the module docstring)."""
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    files = StaticFiles(directory=Path(root), html=True, follow_symlink=False)
    return Starlette(routes=[Mount("/", app=files)])


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (port 0: any free port); :class:`ServeError`
    naming the address when it cannot be bound."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ServeError(f"cannot serve on host {host!r}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        cause = "the port is in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise ServeError(f"cannot serve on {host}:{port}: {cause}") from None
    return sock


def url_of(sock: socket.socket) -> str:
    """``http://HOST:PORT/`` of a bound socket (IPv6 hosts in brackets)."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


@click.command("serve")
@click.argument(
    "root",
    required=False,
    default=".",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)
@click.option(
    "--host",
    default=DEFAULT_HOST,
    show_default=True,
    help="Address to listen on (0.0.0.0: every interface; publishes the output to the network).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="TCP port (0: any free port, printed at start).",
)
def serve_command(root: Path, host: str, port: int) -> None:
    """Serve ROOT (default: this folder; a bulletin daily output root) over HTTP with byte
    ranges, so that the page's videos can be seeked. Ctrl-C stops it."""
    import uvicorn

    root = root.resolve()
    sock = bind(host, port)
    config = uvicorn.Config(
        make_app(root), log_config=None, access_log=False, lifespan="off", server_header=False
    )
    url = url_of(sock)
    click.echo(f"bulletin: serving {root} at {url} (Ctrl-C stops)", err=True)
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    if server.started:
        # Only a signal stops a started server. uvicorn re-raises it after its shutdown, but
        # asyncio's own SIGINT handling can swallow that re-raise: the stop is an interrupt
        # (exit 130) either way.
        raise KeyboardInterrupt
    raise ServeError(f"the server on {url} did not start")


__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "ServeError", "bind", "make_app", "serve_command"]
