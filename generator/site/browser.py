"""Headless Debian chromium for checking and photographing built sites (tests, screenshots).

One place for the executable and its flags: headless, no sandbox (containers), and every
background fetch off (QUIC, component updates, sync), so a page's own requests are the
only network traffic and an offline check means what it says.
"""

from __future__ import annotations

from typing import Any

CHROMIUM = "/usr/bin/chromium"  # Debian's package, installed by scripts/install.sh --test
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch(playwright: Any) -> Any:
    """A Playwright browser on Debian chromium (`playwright` from sync_playwright())."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
