"""`saetax serve`: the built site on 127.0.0.1 (the site also works straight from disk).

`--base /my-repo/` serves it under a sub-path, as GitHub Pages serves a project site, and a
missing page gets the site's 404.html with status 404, as there: a preview of the
published site before pushing it.
"""

from __future__ import annotations

import functools
import http.server
from collections.abc import Callable
from pathlib import Path

from generator.errors import SaetaxError


def check_base(base: str) -> str:
    """A URL path that starts and ends with '/' ('/' itself, or '/my-repo/')."""
    if not (base.startswith("/") and base.endswith("/")) or "//" in base or ".." in base:
        raise SaetaxError(
            f"--base {base!r} is not a URL path; accepted: '/' or a path such as '/my-repo/' "
            "(starting and ending with '/')."
        )
    return base


class _SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Files of the site under `base`; anything else is a 404 with the site's 404.html."""

    base = "/"

    def translate_path(self, path: str) -> str:
        clean = path.split("?", 1)[0].split("#", 1)[0]
        if clean + "/" == self.base:  # '/my-repo' → the folder, which redirects to '/my-repo/'
            clean += "/"
        if not clean.startswith(self.base):
            return str(Path(self.directory) / ".saetax-outside-the-base")  # does not exist
        return super().translate_path("/" + clean[len(self.base) :])

    def send_error(self, code: int, message: str | None = None, explain: str | None = None):
        page = Path(self.directory) / "404.html"
        if code != 404 or not page.is_file() or self.command != "GET":
            return super().send_error(code, message, explain)
        body = page.read_bytes()
        self.send_response(404, message)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return None

    def log_message(self, format: str, *args) -> None:  # quiet: one line per request is noise
        pass


def make_server(site_dir: Path, port: int = 0, base: str = "/") -> http.server.ThreadingHTTPServer:
    """A server for the site on 127.0.0.1 (port 0: a free one); call serve_forever()."""
    site_dir = Path(site_dir)
    if not (site_dir / "index.html").is_file():
        raise SaetaxError(f"no site at {site_dir}; run `saetax build` (or `saetax render`) first.")
    handler_cls = type("SiteHandler", (_SiteHandler,), {"base": check_base(base)})
    handler = functools.partial(handler_cls, directory=str(site_dir))
    try:
        return http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as e:
        raise SaetaxError(
            f"cannot listen on 127.0.0.1:{port} ({e.strerror}); pick another --port."
        ) from None


def serve_site(
    site_dir: Path,
    port: int,
    on_ready: Callable[[str], None] | None = None,
    base: str = "/",
) -> None:
    """Serve until Ctrl-C; `on_ready` gets the URL once the port is bound."""
    server = make_server(site_dir, port, base)
    if on_ready is not None:
        on_ready(f"http://127.0.0.1:{server.server_address[1]}{base}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
