"""A stand-in for the part of Fivetran's REST API that `fivetran deploy` uses to create a connection, on loopback.

`fivetran deploy` sends its requests to the `production_base_url` of `~/.fivetran/connector_sdk/_config.json` when
that file names one (the SDK's `update_base_url_if_required`), so a test gives the CLI a HOME of its own pointing
here. The answers are the smallest that let a first deploy go through: no connection to migrate, one destination
(group), no connection of that name yet, the package accepted, the connection created with its setup tests passed.
Every request is recorded, with its JSON body or the uploaded zip, for the test to look at.
"""
from __future__ import annotations

import email
import email.policy
import json
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit

GROUP = {"id": "group_id_1", "name": "warehouse"}
PACKAGE_ID = "package_id_1"
CONNECTION_ID = "connection_id_1"


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any  # the JSON body, the uploaded file's bytes, or None


class FakeFivetranApi:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()

    def record(self, request: Recorded) -> None:
        with self._lock:
            self.requests.append(request)

    def sent(self, method: str, path: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if (r.method, r.path) == (method, path)]

    def answer(self, method: str, path: str, body: Any) -> tuple[int, dict[str, Any]]:
        if method == "GET" and path == "/v1/connector-sdk/migration/connections":
            return 200, {"data": {"items": []}}
        if method == "GET" and path == "/v1/groups":
            return 200, {"data": {"items": [GROUP]}}
        if method == "GET" and path == f"/v1/groups/{GROUP['id']}/connectors":
            return 200, {"data": {"items": []}}
        if method == "POST" and path == "/v1/connector-sdk/packages":
            return 201, {"code": "Success", "data": {"id": PACKAGE_ID}}
        if method == "POST" and path == "/v1/connectors":
            return 201, {"code": "Success", "data": {
                "id": CONNECTION_ID, "destination_schema_names": body.get("destination_schema_names"),
                "config": {"python_version": body["config"].get("python_version", "3.12")}, "setup_tests": []}}
        return 404, {"code": "NotFound", "message": f"the fake API has no {method} {path}"}


def _handler(api: FakeFivetranApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body: Any = None
            kind = self.headers.get("Content-Type", "")
            if kind.startswith("application/json") and raw:
                body = json.loads(raw)
            elif kind.startswith("multipart/form-data"):
                message = email.message_from_bytes(f"Content-Type: {kind}\r\n\r\n".encode() + raw,
                                                   policy=email.policy.HTTP)
                body = next(part.get_payload(decode=True) for part in message.iter_parts()
                            if part.get_param("name", header="content-disposition") == "file")
            api.record(Recorded(self.command, url.path, parse_qs(url.query), body))
            status, answer = api.answer(self.command, url.path, body)
            payload = json.dumps(answer).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_DELETE = _serve

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def fake_fivetran_api(home: Path) -> Iterator[FakeFivetranApi]:
    """Serve the fake API on a free loopback port, and point the SDK in `home` at it, until the block ends."""
    api = FakeFivetranApi()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings = home / ".fivetran" / "connector_sdk"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "_config.json").write_text(
        json.dumps({"production_base_url": f"http://127.0.0.1:{server.server_address[1]}"}), encoding="utf-8")
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
