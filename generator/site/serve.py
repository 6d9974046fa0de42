"""`saetax serve`: the built site on 127.0.0.1 (the site also works straight from disk)."""

from __future__ import annotations

import functools
import http.server
from collections.abc import Callable
from pathlib import Path

from generator.errors import SaetaxError


def serve_site(site_dir: Path, port: int, on_ready: Callable[[str], None] | None = None) -> None:
    """Serve until Ctrl-C; `on_ready` gets the URL once the port is bound."""
    site_dir = Path(site_dir)
    if not (site_dir / "index.html").is_file():
        raise SaetaxError(f"no site at {site_dir}; run `saetax build` (or `saetax render`) first.")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site_dir))
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as e:
        raise SaetaxError(
            f"cannot listen on 127.0.0.1:{port} ({e.strerror}); pick another --port."
        ) from None
    if on_ready is not None:
        on_ready(f"http://127.0.0.1:{server.server_address[1]}/")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
