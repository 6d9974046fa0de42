"""Screenshots of a built site for the README: home, a run page and a cluster page.

Serves the site on 127.0.0.1, opens it in headless Debian chromium (Playwright, as the
browser tests do), waits for the Plotly figures to draw, and writes PNGs. The committed
docs/images/*.png come from the demo build (`saetax build`) with:

    .venv/bin/python scripts/screenshots.py out/site --cluster <a level-0 cluster page>

Without --run / --cluster the first run linked from the home page and the first cluster
linked from that run page are used.
"""

from __future__ import annotations

import argparse
import re
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _first_link(html: str, pattern: str) -> str:
    m = re.search(rf'href="((?:\.\./)*{pattern})"', html)
    if m is None:
        raise SystemExit(f"no link matching {pattern!r} on the page; pass it explicitly.")
    return m.group(1)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("site", type=Path, nargs="?", default=ROOT / "out" / "site")
    ap.add_argument("--run", help="run page, relative to the site (runs/<id>/index.html)")
    ap.add_argument("--cluster", help="cluster page, relative to the site")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=860)
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    from generator.site.browser import launch
    from generator.site.serve import serve_site

    site = args.site.resolve()
    ready = threading.Event()
    url: list[str] = []

    def on_ready(u: str) -> None:
        url.append(u)
        ready.set()

    threading.Thread(target=serve_site, args=(site, 0, on_ready), daemon=True).start()
    if not ready.wait(10):
        raise SystemExit(f"could not serve {site}")
    base = url[0]
    run = args.run or _first_link((site / "index.html").read_text(), r"runs/[^/\"]+/index\.html")
    run = run.lstrip("./")
    cluster = args.cluster
    if cluster is None:
        run_html = (site / run).read_text()
        cluster = str(Path(run).parent / _first_link(run_html, r"L0/c\d+\.html"))
    args.out.mkdir(parents=True, exist_ok=True)
    # (page, scroll to its first figure?) - a run page is shown from its taxonomy chart
    shots = {
        "home.png": ("index.html", False),
        "run.png": (run, True),
        "cluster.png": (cluster, False),
    }
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": args.width, "height": args.height})
        for name, (rel, to_figure) in shots.items():
            page.goto(base + rel)
            page.wait_for_load_state("networkidle")
            plots = page.locator(".js-plotly-plot")
            if plots.count():
                page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
                if to_figure:
                    plots.first.evaluate(
                        "el => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 190)"
                    )
                page.wait_for_timeout(500)
            page.screenshot(path=str(args.out / name))
            print(f"{args.out / name}: {rel}")
        browser.close()


if __name__ == "__main__":
    main()
