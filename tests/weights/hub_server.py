"""A small Hugging Face Hub-compatible HTTP server for tests (stdlib only, threaded, in memory).

It implements what `huggingface_hub` 2.x uses to push and pull model repos
without Xet (`HF_HUB_DISABLE_XET=1`):

- `POST /api/repos/create` (409 if the repo exists), `POST /api/models/{repo}/branch/{branch}`,
  `POST /api/validate-yaml` (the model card's metadata must parse as a YAML mapping);
- `POST /api/models/{repo}/preupload/{rev}`, `POST /{repo}.git/info/lfs/objects/batch`,
  `PUT /lfs-upload/{oid}` (the bytes), `POST /api/models/{repo}/commit/{rev}` (NDJSON);
- `HEAD`/`GET /{repo}/resolve/{rev}/{path}` with `X-Repo-Commit`, `ETag`, `Content-Length`
  and `Range` support; errors are 404 with `X-Error-Code` RepoNotFound / RevisionNotFound /
  EntryNotFound;
- `GET /api/models/{repo}[/revision/{rev}]` and `GET /api/models/{repo}/tree/{rev}` for
  `snapshot_download`;
- tags: `POST /api/models/{repo}/tag/{rev}` (`create_tag`; 409 if the tag exists) and
  `DELETE /api/models/{repo}/tag/{tag}` (`delete_tag`); a tag resolves like a branch.

Tests seed a repository without pushing with `server.add_files(repo_id, {path: bytes})`.

Faults for tests: `server.corrupt.add(path)` serves that file with one byte flipped (same
size); `server.truncate.add(path)` announces the full length but never sends more than the
first half of the file (resuming cannot finish); `server.truncate_once.add(path)` cuts the
next response half-way, once. `server.requests` logs `(method, path)`; `server.auth_headers` the Authorization
headers received on writes.

Example:

>>> server = HubServer().start()
>>> server.endpoint.startswith("http://127.0.0.1:")
True
>>> server.stop()
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import secrets
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse

LFS_THRESHOLD = 64 * 1024


def _git_blob_oid(data: bytes) -> str:
    digest = hashlib.sha1(b"blob %d\0" % len(data))
    digest.update(data)  # not `header + data`: that copies a 228 MB checkpoint file first
    return digest.hexdigest()


class _OidCache:
    """The git blob oid and sha256 of each large `bytes` object served, computed once per object.

    Every HEAD, GET and tree listing of a file names its oids; hashing a 228 MB checkpoint file costs about
    0.6 s, and a download asks several times. `bytes` cannot change, so an object's hashes stay right for as
    long as it exists: an entry is keyed by the object's id, checked by identity, and dropped once the cache
    holds the only reference (a repository or test that let go of the data must not keep it in memory).
    """

    def __init__(self):
        self._entries: dict[int, tuple[bytes, str, str]] = {}
        self._lock = threading.Lock()

    def __call__(self, data: bytes) -> tuple[str, str]:
        """(git blob oid, sha256) of `data`."""
        if len(data) <= LFS_THRESHOLD:
            return _git_blob_oid(data), hashlib.sha256(data).hexdigest()
        with self._lock:
            entry = self._entries.get(id(data))
        if entry is not None and entry[0] is data:
            return entry[1], entry[2]
        oids = _git_blob_oid(data), hashlib.sha256(data).hexdigest()
        with self._lock:
            for key, entry in list(self._entries.items()):
                if sys.getrefcount(entry[0]) <= 2:  # held only by the entry (and the call's own argument)
                    del self._entries[key]
            self._entries[id(data)] = (data, *oids)
        return oids


class Repo:
    def __init__(self):
        self.branches: dict[str, str] = {}
        self.commits: dict[str, dict[str, bytes]] = {}
        self.lfs_paths: set[str] = set()
        self.tags: dict[str, str] = {}
        empty = secrets.token_hex(20)
        self.commits[empty] = {}
        self.branches["main"] = empty

    def resolve(self, revision: str) -> str | None:
        if revision in self.branches:
            return self.branches[revision]
        if revision in self.tags:
            return self.tags[revision]
        return revision if revision in self.commits else None


class HubServer:
    """The server; `start()` binds 127.0.0.1 on a free port (or `port`) and serves in a thread."""

    def __init__(self, port: int = 0):
        self.port = port
        self.repos: dict[str, Repo] = {}
        self.lfs_objects: dict[str, bytes] = {}
        self.corrupt: set[str] = set()
        self.truncate: set[str] = set()
        self.truncate_once: set[str] = set()
        self._connections: set = set()
        self.requests: list[tuple[str, str]] = []
        self.auth_headers: list[str] = []
        self.range_requests: list[tuple[str, str]] = []
        self.validated_cards: list[dict] = []
        self.lock = threading.Lock()
        self.oids = _OidCache()
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HubServer:
        server = self

        class Handler(_Handler):
            hub = server

        ThreadingHTTPServer.allow_reuse_address = True
        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving and drop open connections (refused until `start()` again, on the same port)."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        with self.lock:
            for connection in list(self._connections):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            self._connections.clear()

    def add_files(self, repo_id: str, files: dict[str, bytes], *, branch: str = "main") -> str:
        """Seed `repo_id` (created if needed) with a commit on `branch` adding `files` (paths may have folders),
        as if pushed: files above `LFS_THRESHOLD` are LFS files (their ETag is the sha256). Returns the commit sha."""
        with self.lock:
            repo = self.repos.setdefault(repo_id, Repo())
            parent = repo.commits[repo.branches.get(branch, repo.branches["main"])]
            sha = secrets.token_hex(20)
            repo.commits[sha] = {**parent, **files}
            repo.branches[branch] = sha
            repo.lfs_paths.update(path for path, data in files.items() if len(data) > LFS_THRESHOLD)
        return sha

    def files(self, repo_id: str, revision: str = "main") -> dict[str, bytes]:
        repo = self.repos[repo_id]
        return repo.commits[repo.resolve(revision)]


class _Handler(BaseHTTPRequestHandler):
    hub: HubServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # quiet
        pass

    def setup(self):
        super().setup()
        with self.hub.lock:
            self.hub._connections.add(self.connection)

    def finish(self):
        with self.hub.lock:
            self.hub._connections.discard(self.connection)
        super().finish()

    # --- helpers -----------------------------------------------------------------
    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes = b"", headers: dict | None = None, content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload, headers: dict | None = None):
        self._send(status, json.dumps(payload).encode(), headers)

    def _error(self, status: int, code: str, message: str):
        self._json(status, {"error": message}, {"X-Error-Code": code, "X-Error-Message": message})

    def _repo(self, repo_id: str) -> Repo | None:
        repo = self.hub.repos.get(repo_id)
        if repo is None:
            self._error(404, "RepoNotFound", f"Repository {repo_id} not found")
        return repo

    def _record(self):
        with self.hub.lock:
            self.hub.requests.append((self.command, unquote(urlparse(self.path).path)))
            if self.headers.get("Range"):
                self.hub.range_requests.append((unquote(urlparse(self.path).path), self.headers["Range"]))
        if self.command in ("POST", "PUT"):
            self.hub.auth_headers.append(self.headers.get("Authorization", ""))

    # --- routes --------------------------------------------------------------------
    def do_HEAD(self):
        self._record()
        self._resolve()

    def do_GET(self):
        self._record()
        path = unquote(urlparse(self.path).path)
        if m := re.fullmatch(r"/api/models/([^/]+/[^/]+)/tree/([^/]+)(/.*)?", path):
            return self._tree(m.group(1), m.group(2))
        if m := re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/revision/([^/]+))?", path):
            return self._info(m.group(1), m.group(2) or "main")
        return self._resolve()

    def do_POST(self):
        self._record()
        path = unquote(urlparse(self.path).path)
        body = self._body()
        if path == "/api/repos/create":
            payload = json.loads(body)
            repo_id = f"{payload['organization']}/{payload['name']}"
            with self.hub.lock:
                if repo_id in self.hub.repos:
                    return self._json(409, {"error": "You already created this model repo", "url": repo_id})
                self.hub.repos[repo_id] = Repo()
            return self._json(200, {"url": f"{self.hub.endpoint}/{repo_id}"})
        if path == "/api/validate-yaml":
            return self._validate_yaml(json.loads(body)["content"])
        if m := re.fullmatch(r"/api/models/([^/]+/[^/]+)/branch/([^/]+)", path):
            if (repo := self._repo(m.group(1))) is None:
                return None
            if m.group(2) in repo.branches:
                return self._error(409, "BranchExists", "Branch already exists")
            repo.branches[m.group(2)] = repo.branches["main"]
            return self._json(200, {})
        if m := re.fullmatch(r"/api/models/([^/]+/[^/]+)/tag/([^/]+)", path):
            return self._create_tag(m.group(1), m.group(2), json.loads(body)["tag"])
        if m := re.fullmatch(r"/api/models/([^/]+/[^/]+)/preupload/([^/]+)", path):
            if self._repo(m.group(1)) is None:
                return None
            files = json.loads(body)["files"]
            modes = [
                {
                    "path": f["path"],
                    "uploadMode": "lfs" if f["size"] > LFS_THRESHOLD or f["path"].endswith(".h5") else "regular",
                    "shouldIgnore": False,
                }
                for f in files
            ]
            return self._json(200, {"files": modes})
        if m := re.fullmatch(r"/([^/]+/[^/]+)\.git/info/lfs/objects/batch", path):
            objects = []
            for obj in json.loads(body)["objects"]:
                entry = {"oid": obj["oid"], "size": obj["size"]}
                if obj["oid"] not in self.hub.lfs_objects:
                    entry["actions"] = {"upload": {"href": f"{self.hub.endpoint}/lfs-upload/{obj['oid']}"}}
                objects.append(entry)
            return self._json(200, {"transfer": "basic", "objects": objects})
        if m := re.fullmatch(r"/api/models/([^/]+/[^/]+)/commit/([^/]+)", path):
            return self._commit(m.group(1), m.group(2), body)
        return self._error(404, "NotFound", f"No route for POST {path}")

    def do_PUT(self):
        self._record()
        path = unquote(urlparse(self.path).path)
        body = self._body()
        if m := re.fullmatch(r"/lfs-upload/([0-9a-f]{64})", path):
            if hashlib.sha256(body).hexdigest() != m.group(1):
                return self._error(400, "BadRequest", "sha256 of the uploaded bytes does not match the oid")
            with self.hub.lock:
                self.hub.lfs_objects[m.group(1)] = body
            return self._send(200, b"")
        return self._error(404, "NotFound", f"No route for PUT {path}")

    def do_DELETE(self):
        self._record()
        path = unquote(urlparse(self.path).path)
        if m := re.fullmatch(r"/api/models/([^/]+/[^/]+)/tag/([^/]+)", path):
            if (repo := self._repo(m.group(1))) is None:
                return None
            with self.hub.lock:
                if repo.tags.pop(m.group(2), None) is None:
                    return self._error(404, "RevisionNotFound", f"Tag {m.group(2)} not found")
            return self._json(200, {})
        return self._error(404, "NotFound", f"No route for DELETE {path}")

    def _create_tag(self, repo_id: str, revision: str, tag: str):
        if (repo := self._repo(repo_id)) is None:
            return None
        with self.hub.lock:
            if (sha := repo.resolve(revision)) is None:
                return self._error(404, "RevisionNotFound", f"Revision {revision} not found")
            if tag in repo.tags or tag in repo.branches:
                return self._json(409, {"error": f"Tag {tag} already exists"})
            repo.tags[tag] = sha
        return self._json(200, {})

    def _validate_yaml(self, content: str):
        """Check the README's YAML front matter parses to a mapping (the Hub checks more)."""
        import yaml

        match = re.match(r"^---\n(.*?)\n---\n", content, re.S)
        try:
            metadata = yaml.safe_load(match.group(1)) if match else {}
        except yaml.YAMLError as error:
            return self._json(400, {"errors": [{"message": str(error)}], "warnings": []})
        if not isinstance(metadata, dict):
            return self._json(400, {"errors": [{"message": "metadata is not a mapping"}], "warnings": []})
        self.hub.validated_cards.append(metadata)
        return self._json(200, {"errors": [], "warnings": []})

    def _commit(self, repo_id: str, revision: str, body: bytes):
        if (repo := self._repo(repo_id)) is None:
            return None
        if revision not in repo.branches:
            return self._error(404, "RevisionNotFound", f"Branch {revision} not found")
        lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
        with self.hub.lock:
            files = dict(repo.commits[repo.branches[revision]])
            for line in lines:
                key, value = line["key"], line["value"]
                if key == "file":
                    files[value["path"]] = base64.b64decode(value["content"])
                elif key == "lfsFile":
                    if value["oid"] not in self.hub.lfs_objects:
                        return self._error(422, "LfsObjectMissing", f"LFS object {value['oid']} was not uploaded")
                    files[value["path"]] = self.hub.lfs_objects[value["oid"]]
                    repo.lfs_paths.add(value["path"])
                elif key in ("deletedFile", "deletedFolder"):
                    files.pop(value["path"], None)
            sha = secrets.token_hex(20)
            repo.commits[sha] = files
            repo.branches[revision] = sha
        url = f"{self.hub.endpoint}/{repo_id}/commit/{sha}"
        return self._json(200, {"commitUrl": url, "commitOid": sha, "pullRequestUrl": None})

    def _entry(self, repo: Repo, path: str, data: bytes) -> dict:
        blob_oid, sha256 = self.hub.oids(data)
        entry = {"type": "file", "path": path, "size": len(data), "oid": blob_oid}
        if path in repo.lfs_paths:
            entry["lfs"] = {"oid": sha256, "size": len(data), "pointerSize": 134}
        return entry

    def _info(self, repo_id: str, revision: str):
        if (repo := self._repo(repo_id)) is None:
            return None
        if (sha := repo.resolve(revision)) is None:
            return self._error(404, "RevisionNotFound", f"Revision {revision} not found")
        siblings = [{"rfilename": p} for p in sorted(repo.commits[sha])]
        return self._json(200, {"id": repo_id, "modelId": repo_id, "sha": sha, "siblings": siblings, "private": False})

    def _tree(self, repo_id: str, revision: str):
        if (repo := self._repo(repo_id)) is None:
            return None
        if (sha := repo.resolve(revision)) is None:
            return self._error(404, "RevisionNotFound", f"Revision {revision} not found")
        files = repo.commits[sha]
        return self._json(200, [self._entry(repo, p, files[p]) for p in sorted(files)])

    def _resolve(self):
        path = unquote(urlparse(self.path).path)
        m = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
        if not m:
            return self._error(404, "NotFound", f"No route for {self.command} {path}")
        repo_id, revision, filename = m.groups()
        if (repo := self._repo(repo_id)) is None:
            return None
        if (sha := repo.resolve(revision)) is None:
            return self._error(404, "RevisionNotFound", f"Revision {revision} not found")
        files = repo.commits[sha]
        if filename not in files:
            return self._error(404, "EntryNotFound", f"{filename} not found at {revision}")
        data = files[filename]
        entry = self._entry(repo, filename, data)
        etag = entry["lfs"]["oid"] if "lfs" in entry else entry["oid"]
        if filename in self.hub.corrupt and data:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        headers = {"X-Repo-Commit": sha, "ETag": f'"{etag}"', "Accept-Ranges": "bytes"}
        start = 0
        if (rng := self.headers.get("Range")) and (rm := re.fullmatch(r"bytes=(\d+)-", rng.strip())):
            start = int(rm.group(1))
        body = data[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Type", "application/octet-stream")
        for key, value in headers.items():
            self.send_header(key, value)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(body)))
        cut = None
        if self.command == "GET" and filename in self.hub.truncate_once:
            self.hub.truncate_once.discard(filename)
            cut = len(body) // 2
        elif self.command == "GET" and filename in self.hub.truncate:
            cut = max(0, len(data) // 2 - start)  # never serves past the middle of the file
        if cut is not None:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return None
        if cut is not None:
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self.close_connection = True
            return None
        self.wfile.write(body)
        return None
