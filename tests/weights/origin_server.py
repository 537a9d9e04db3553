"""A static HTTP file server on 127.0.0.1 standing in for the public originals' hosts (tests only).

Serves `files[path] = bytes` with `Range: bytes=N-` support; a range that starts at or past
the end is answered 416 with `Content-Range: bytes */SIZE` (without it when
`range_416_total` is False). Faults: `die_once[path] = n` closes the connection after `n`
bytes of the next response (Content-Length announced in full), `ignore_range` answers 200
with the whole file, `trickle[path] = (n, seconds)` sends the body `n` bytes at a time with
a pause after each (a stalling host), `hold[path] = threading.Event()` answers only once the
event is set (at most a minute later). `requests` logs `(path, range)`.

Example:

>>> server = OriginServer({"/a.bin": b"abc"}).start()
>>> import requests
>>> requests.get(server.url("/a.bin"), timeout=5).content
b'abc'
>>> server.stop()
"""

from __future__ import annotations

import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class OriginServer:
    def __init__(self, files: dict[str, bytes] | None = None):
        self.files: dict[str, bytes] = dict(files or {})
        self.die_once: dict[str, int] = {}
        self.ignore_range = False
        self.range_416_total = True
        self.trickle: dict[str, tuple[int, float]] = {}
        self.hold: dict[str, threading.Event] = {}
        self._stopping = threading.Event()
        self.requests: list[tuple[str, str | None]] = []
        self._httpd: ThreadingHTTPServer | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{path}"

    def start(self) -> OriginServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):
                pass

            def do_GET(self):
                server.requests.append((self.path, self.headers.get("Range")))
                if self.path in server.hold:
                    server.hold[self.path].wait(timeout=60)
                data = server.files.get(self.path)
                if data is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start = 0
                match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
                if match and not server.ignore_range:
                    start = int(match.group(1))
                if start and start >= len(data):
                    self.send_response(416)
                    if server.range_416_total:
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = data[start:]
                self.send_response(206 if start else 200)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("Content-Length", str(len(body)))
                cut = server.die_once.pop(self.path, None)
                if cut is not None:
                    self.send_header("Connection", "close")
                self.end_headers()
                if cut is not None:
                    self.wfile.write(body[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if self.path in server.trickle:
                    step, pause = server.trickle[self.path]
                    try:
                        for offset in range(0, len(body), step):
                            if server._stopping.is_set():
                                break
                            self.wfile.write(body[offset : offset + step])
                            self.wfile.flush()
                            time.sleep(pause)
                    except (BrokenPipeError, ConnectionResetError):
                        pass  # the client gave up: what the test expects
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # trickling responses end
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
