"""Shared test fixtures: the repo root, the real data set, a tiny HTTP server on 127.0.0.1."""

from __future__ import annotations

import http.server
import shutil
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "notebooks"))  # so tests can `import mm_utils`

NAMES = ROOT / "data" / "names.txt"


@pytest.fixture(scope="session")
def names_path() -> Path:
    """The real data set: .ci/run copies it from ../shared; elsewhere load_words() downloads it once."""
    if not NAMES.exists():
        shared = ROOT.parent / "shared" / "data" / "names.txt"
        if shared.exists():
            shutil.copyfile(shared, NAMES)
        else:
            import mm_utils

            mm_utils.load_words(NAMES)
    return NAMES


class _Server:
    """Serve a dict {url_path: bytes} on 127.0.0.1; record the paths requested."""

    def __init__(self, routes: dict[str, bytes]):
        self.routes = routes
        self.requests: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # the name is http.server's API
                outer.requests.append(self.path)
                body = outer.routes.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # keep test output quiet
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def http_server():
    """Factory: `with http_server({'/names.txt': b'...'}) as srv: srv.url, srv.requests`."""
    return _Server
