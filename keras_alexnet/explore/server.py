"""Serving the explore app with uvicorn, on a socket bound before the server starts (so port 0 works).

`bind(host, port)` opens the listening socket (IPv4 or IPv6 by the host's form) and says clearly when the
port is taken; `serve(app, sock)` runs uvicorn on it until Ctrl-C; `start_in_thread` runs it in a thread
(tests, notebooks) and returns the uvicorn `Server` (set `.should_exit = True` to stop it).

Example:

>>> from keras_alexnet.explore.server import bind, page_url
>>> sock = bind("127.0.0.1", 0)
>>> page_url(sock).startswith("http://127.0.0.1:")
True
>>> sock.close()
"""

from __future__ import annotations

import errno
import socket
import threading
import time

from keras_alexnet.errors import require

PURPOSE = "keras-alexnet explore (a local web page)"


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on `host`:`port` (0: any free port); ValueError if the port is in use."""
    if not 0 <= port <= 65535:
        raise ValueError(f"--port must be between 0 and 65535. Received: --port {port}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise ValueError(
                f"Port {port} on {host} is already in use; choose another with --port (0 picks a free one). "
                f"Received: --host {host} --port {port}"
            ) from None
        if isinstance(error, socket.gaierror) or error.errno == errno.EADDRNOTAVAIL:
            raise ValueError(
                f"Cannot listen on {host}: not an address of this machine (use 127.0.0.1, or 0.0.0.0 for every "
                f"interface). Received: --host {host}"
            ) from None
        raise
    sock.listen(128)
    sock.setblocking(False)
    return sock


def page_url(sock: socket.socket) -> str:
    """The address of the page served on `sock` (for 0.0.0.0 / ::, this machine's loopback address)."""
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1" if host == "0.0.0.0" else "::1"
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def _server(app, log_level: str):
    uvicorn = require("uvicorn", "explore", PURPOSE)
    return uvicorn.Server(uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="off"))


def serve(app, sock: socket.socket, log_level: str = "warning") -> None:
    """Serve `app` on `sock` until interrupted."""
    _server(app, log_level).run(sockets=[sock])


def start_in_thread(app, sock: socket.socket, log_level: str = "warning", timeout: float = 30.0):
    """Serve `app` on `sock` in a daemon thread; returns the started uvicorn `Server`."""
    server = _server(app, log_level)
    server.install_signal_handlers = lambda: None  # uvicorn < 0.29; newer versions skip it off the main thread
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="explore-server")
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("The explore server did not start")
        time.sleep(0.02)
    server.thread = thread
    return server
