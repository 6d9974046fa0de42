"""The site: its model, its files, and the pages in a real browser (file:// and http)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from generator.artifacts import load
from generator.site.model import build_model
from generator.site.text import token_html, token_plain, tokens_html

HOSTILE = [
    "<script>alert(1)</script>",
    "|",
    "a|b",
    "**bold**",
    "`code`",
    "[x](y)",
    "\n",
    "\x02",
    "\u2028",
    "a\u00a0b",
    " dog",
    "",
]


@pytest.mark.parametrize("token", HOSTILE)
def test_token_html_leaves_no_markdown_or_html_syntax(token):
    out = token_html(token)
    assert re.fullmatch(r'<code class="tok( lsp)?">.*</code>', out, re.S)
    inner = re.sub(r'^<code class="tok( lsp)?">', "", out)[: -len("</code>")]
    inner = re.sub(r'<span class="ws[^"]*"( title="U\+[0-9A-F]+")?>', "", inner).replace(
        "</span>", ""
    )
    assert not re.search(r"[<>|*`\[\]\n]", inner), inner
    assert "<" not in token_plain(token) and ">" not in token_plain(token)
    assert token_plain(token).isprintable()  # no control or line-breaking character survives
    compact = tokens_html([token, "x"])[len('<code class="toks">') : -len("</code>")]
    assert not re.search(r"[<>|*`\[\]\n]", compact) and compact.count(" ") == 1  # one separator


def test_model_has_every_page_type_and_no_page_per_feature(analyzed):
    out, cfg = analyzed
    arts = load(out)
    model = build_model(arts)
    paths = [p.path for p in model.pages]
    assert paths[:4] == ["index.md", "sweep.md", "lookup.md", "method.md"]
    for rid in arts.run_ids:
        assert f"runs/{rid}/index.md" in paths
        r = arts.run(rid)
        for lv in (0, 1):  # every level-0 and level-1 family of min_page_size+ features has a page
            big = r.clusters[
                (r.clusters["level"] == lv) & (r.clusters["size"] >= model.options.min_page_size)
            ]["cluster"]
            assert {f"runs/{rid}/L{lv}/c{c}.md" for c in big} <= set(paths)
        assert not any(
            p.startswith(f"runs/{rid}/L2/") for p in paths
        )  # deeper levels live in parents
    assert len(paths) < 4 + len(arts.run_ids) * (1 + 2 * len(arts.features))
    assert set(model.figures) >= {"decoder-structure", "sweep-quality", "sweep-clusters"}


def test_home_names_the_sae_as_the_config_does_not_by_the_build_machines_path(analyzed):
    out, cfg = analyzed
    manifest = load(out).manifest
    assert manifest.sae.location.startswith("/")  # provenance keeps the resolved path
    assert manifest.sae_source == cfg.sae.path
    home = next(p for p in build_model(load(out)).pages if p.path == "index.md")
    assert home.context["sae_source"] == cfg.sae.path


def test_built_site_is_offline_and_light(rendered):
    html_files = list(rendered.rglob("*.html"))
    assert len(html_files) > 20
    for f in html_files:
        text = f.read_text()
        assert not re.search(r'(src|href)="(https?:)?//', text), f  # no URL outside the site
        assert "fonts.googleapis" not in text and "unpkg.com" not in text
    assert (rendered / "assets" / "vendor" / "plotly.min.js").stat().st_size > 1_000_000
    assert (rendered / "search" / "search_index.js").exists()  # offline search
    biggest = max(f.stat().st_size for f in html_files)
    assert biggest < 400_000, "figures belong in .js side files"
    assert not list(rendered.rglob("*.md"))


def test_hostile_tokens_are_text_in_the_built_pages(rendered):
    pages = [p.read_text() for p in rendered.rglob("L*/c*.html")]
    joined = "\n".join(pages)
    assert (
        "&#60;script&#62;alert&#40;1&#41;&#60;&#47;script&#62;" in joined
        or "&lt;script&gt;alert(1)" in joined
    )
    assert "<script>alert(1)</script>" not in joined


# ---------------------------------------------------------------------------------------
# browser


def _open(browser, url):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems, outside = [], []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))

    def check(req):
        if not (
            req.url.startswith("file://")
            or req.url.startswith("http://127.0.0.1")
            or req.url.startswith("data:")
            or req.url.startswith("blob:")
        ):
            outside.append(req.url)

    page.on("request", check)
    page.goto(url)
    page.wait_for_load_state("load")
    return page, problems, outside


def _page_urls(rendered, base):
    run = sorted(p for p in (rendered / "runs").iterdir() if p.is_dir())[0]
    cluster = sorted((run / "L0").glob("c*.html"))[0]
    rel = lambda p: p.relative_to(rendered).as_posix()  # noqa: E731
    return {
        "home": f"{base}/index.html",
        "sweep": f"{base}/sweep.html",
        "run": f"{base}/{rel(run / 'index.html')}",
        "cluster": f"{base}/{rel(cluster)}",
        "lookup": f"{base}/lookup.html",
        "method": f"{base}/method.html",
        "reading": f"{base}/reading.html",
    }


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("where", ["http", "file"])
def test_every_page_type_loads_cleanly_and_plots_render(browser, rendered, site_server, where):
    base = site_server if where == "http" else f"file://{rendered}"
    for name, url in _page_urls(rendered, base).items():
        page, problems, outside = _open(browser, url)
        plots = page.locator(".saetax-plot")
        for i in range(plots.count()):
            page.wait_for_selector(
                f".saetax-plot >> nth={i} >> xpath=self::*[@data-rendered='true']", timeout=20_000
            )
        if name == "run":  # the UMAP is a WebGL scatter: its canvas must hold a live GL context
            has_gl = page.evaluate("""() => [...document.querySelectorAll('.saetax-plot canvas')]
                .some(c => { const g = c.getContext('webgl') || c.getContext('webgl2'); return !!g && c.width > 0; })""")
            assert has_gl, "no WebGL canvas drawn"
            assert page.locator(".saetax-plot .main-svg").count() >= 2  # sunburst and map
        assert problems == [], (name, where, problems)
        assert outside == [], (name, where, outside)
        page.close()


@pytest.mark.browser
@pytest.mark.slow
def test_umap_hover_shows_a_feature_and_click_opens_its_card(browser, rendered, site_server):
    page, problems, _ = _open(browser, _page_urls(rendered, site_server)["run"])
    page.wait_for_selector(".saetax-plot[data-fig^='umap-'][data-rendered='true']", timeout=20_000)
    xy = page.evaluate("""() => {
        const el = [...document.querySelectorAll('.saetax-plot')].find(e => e.dataset.fig.startsWith('umap-'));
        el.scrollIntoView({block: 'center'});
        const fl = el._fullLayout, tr = el._fullData[0];
        const box = el.querySelector('.nsewdrag').getBoundingClientRect();
        return [box.left + fl.xaxis.d2p(tr.x[0]), box.top + fl.yaxis.d2p(tr.y[0])];
    }""")
    page.mouse.move(xy[0], xy[1])
    umap = ".saetax-plot[data-fig^='umap-'] .hoverlayer .hovertext"
    page.wait_for_selector(umap, timeout=5_000)
    label = page.locator(umap).first.text_content()
    assert re.search(r"feature \d+", label) and re.search(r"L0 c\d+", label), label
    colours, families = page.evaluate("""() => {
        const el = [...document.querySelectorAll('.saetax-plot')].find(e => e.dataset.fig.startsWith('umap-'));
        const d = el._fullData[0];
        return [new Set(d.marker.color).size, new Set(d.customdata.map(c => c[1])).size];
    }""")
    assert colours == min(families, 13), (colours, families)  # few families: one colour each
    with page.expect_navigation():
        page.mouse.click(xy[0], xy[1])
    assert re.search(r"/lookup\.html#feature=\d+$", page.url), page.url
    page.wait_for_selector("#saetax-result h2", timeout=10_000)
    assert problems == []


@pytest.mark.browser
@pytest.mark.slow
def test_a_feature_card_shows_token_strings_neighbours_and_a_linked_family_path(
    browser, rendered, analyzed
):
    out, _ = analyzed
    a = load(out)
    f = a.features.set_index("feature")
    fid = int(f.index[f["kept"]][3])
    page, problems, outside = _open(browser, f"file://{rendered}/lookup.html#feature={fid}")
    page.wait_for_selector("#saetax-result table.saetax-card-paths", timeout=10_000)
    text = page.inner_text("#saetax-result")
    assert f"Feature {fid}" in text and "L0 c" in text
    tokens = page.eval_on_selector_all(
        "#saetax-result table.saetax-card-tokens code.tok", "els => els.map(e => e.textContent)"
    )
    assert tokens[: len(f.loc[fid, "top_tokens"])] == list(f.loc[fid, "top_tokens"])
    assert tokens[-len(f.loc[fid, "bottom_tokens"]) :] == list(f.loc[fid, "bottom_tokens"])
    near = page.eval_on_selector_all("#saetax-result p a", "els => els.map(e => e.textContent)")
    assert near == [str(n) for n in f.loc[fid, "neighbours"]]
    hrefs = page.eval_on_selector_all(
        "#saetax-result table.saetax-card-paths td:nth-child(2) a", "els => els.map(e => e.href)"
    )
    assert len(hrefs) == sum(a.run(r).meta.n_levels for r in a.run_ids)
    assert len(set(hrefs)) > len(a.run_ids)  # levels open their own place, not one page
    for h in hrefs:  # each resolves to a built page
        assert (rendered / h.split("#")[0].replace(f"file://{rendered}/", "")).is_file(), h
    page.fill("#saetax-feature", "99999")
    page.click("#saetax-find")
    assert "No feature 99999" in page.inner_text("#saetax-result")
    word = next(t.strip() for t in f.loc[fid, "top_tokens"] if t.strip().isalpha())
    page.fill("#saetax-feature", word)
    page.click("#saetax-find")
    listed = page.eval_on_selector_all("#saetax-result li a", "els => els.map(e => e.textContent)")
    assert f"feature {fid}" in listed
    page.fill("#saetax-feature", "zzqqxx")
    page.click("#saetax-find")
    assert "No feature has “zzqqxx”" in page.inner_text("#saetax-result")
    assert problems == [] and outside == []


def test_map_colours_separate_neighbouring_families_with_many_colours():
    from generator.site.figures import family_colours

    rng = np.random.default_rng(0)
    centres = rng.uniform(0, 100, (400, 2))
    labels = np.repeat(np.arange(400), 5)
    xy = centres[labels] + rng.normal(0, 0.3, (2000, 2))
    colour = family_colours(xy, labels, 48)
    per_family = np.array([colour[labels == c][0] for c in range(400)])
    assert len(set(per_family)) > 20
    from scipy.spatial import cKDTree

    _, nearest = cKDTree(centres).query(centres, k=2)
    assert (per_family != per_family[nearest[:, 1]]).all()  # no family shares its nearest's colour


@pytest.mark.browser
@pytest.mark.slow
def test_a_family_page_loads_fast_without_plotly_and_links_its_members(browser, rendered):
    family = sorted(rendered.rglob("L0/c*.html"))[0]
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"file://{family}")
    page.wait_for_load_state("load")
    dcl = page.evaluate("performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd")
    assert not any("plotly" in u for u in requests), [u for u in requests if "plotly" in u]
    assert dcl < 800, f"DOMContentLoaded after {dcl:.0f} ms"
    links = page.eval_on_selector_all("pre.saetax-members a", "els => els.map(e => e.href)")
    assert links and all(re.search(r"/lookup\.html#feature=\d+$", h) for h in links)
    assert page.locator(".saetax-badge").count() == 3
    page.close()


@pytest.mark.browser
@pytest.mark.slow
def test_the_sweep_page_marks_the_recommended_run_above_the_fold(browser, rendered, analyzed):
    out, _ = analyzed
    rec = load(out).manifest.recommended.run
    page, problems, _ = _open(browser, f"file://{rendered}/sweep.html")
    marked = page.locator("tr.saetax-recommended")
    assert marked.count() == 1 and "★ recommended" in marked.inner_text()
    assert rec in marked.locator("a").first.get_attribute("title")
    verdict = page.locator(".saetax-verdict").bounding_box()
    assert verdict["y"] + verdict["height"] < 900  # read before scrolling
    width = page.evaluate("document.querySelector('table[data-sortable]').scrollWidth")
    assert width <= 1366
    assert problems == []


@pytest.mark.browser
@pytest.mark.slow
def test_a_run_page_stays_short_and_long_tables_page_and_filter(browser, rendered, tmp_path):
    run = sorted(p for p in (rendered / "runs").iterdir() if p.is_dir())[0]
    page, problems, _ = _open(browser, f"file://{run}/index.html")
    assert page.evaluate("document.documentElement.scrollHeight") < 15_000
    assert problems == []
    page.close()
    # the pager on a table longer than its page size (the fixture's runs are small)
    rows = "".join(
        f"<tr><td>c{i}</td><td>{'dog' if i % 4 == 0 else 'cat'}</td></tr>" for i in range(120)
    )
    html = tmp_path / "t.html"
    html.write_text(
        f'<table data-sortable data-page-size="50"><thead><tr><th>f</th><th>t</th></tr></thead>'
        f'<tbody>{rows}</tbody></table><script src="file://{rendered}/assets/saetax.js"></script>'
    )
    page, problems, _ = _open(browser, f"file://{html}")
    visible = "table tbody tr:visible"
    assert page.locator(visible).count() == 50
    page.click(".saetax-pager button")
    assert page.locator(visible).count() == 100
    page.fill(".saetax-pager input", "dog")
    assert page.locator(visible).count() == 30 and "30 of 30" in page.inner_text(".saetax-pager")
    assert problems == []


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("where", ["http", "file"])
def test_search_finds_a_family_by_one_of_its_tokens(browser, rendered, site_server, where):
    base = site_server if where == "http" else f"file://{rendered}"
    page, problems, outside = _open(browser, f"{base}/index.html")
    page.click(".md-search__input")
    page.keyboard.type("mountain", delay=20)  # Material listens to key events
    page.wait_for_selector(".md-search-result__item a", timeout=15_000)
    hrefs = page.eval_on_selector_all(".md-search-result__item a", "els => els.map(e => e.href)")
    assert any(re.search(r"/L[01]/c\d+\.html", h) for h in hrefs), hrefs
    assert problems == [] and outside == []


@pytest.mark.browser
@pytest.mark.slow
def test_hostile_tokens_render_as_text_without_breaking_the_page(browser, rendered):
    page_with = None
    for f in sorted(rendered.rglob("L0/c*.html")):
        if "alert&#40;1&#41;" in f.read_text():
            page_with = f
            break
    assert page_with is not None, (
        "the fixture's <script> feature should be listed on some family page"
    )
    page, problems, _ = _open(browser, f"file://{page_with}")
    text = page.inner_text("article")
    assert "<script>alert(1)</script>" in text
    shape = page.evaluate("""() => [...document.querySelectorAll('article table')].map(t =>
        [t.querySelectorAll('thead th').length, [...t.querySelectorAll('tbody tr')].map(r => r.cells.length)])""")
    for header, rows in shape:  # no token (a '|' among them) split or merged a table cell
        assert all(n == header for n in rows if n != 1), shape  # 1: a full-width "and N more" row
    assert page.locator("pre.saetax-members").count() >= 1
    assert problems == []  # no alert dialog, no error


def test_every_relative_link_in_the_built_site_resolves(rendered):
    broken = []
    for page in rendered.rglob("*.html"):  # 404.html included: its links are made relative
        for href in re.findall(r'(?:href|src)="([^"#?]+)', page.read_text()):
            if re.match(r"^[a-z]+:", href):
                continue
            if not (page.parent / href).resolve().exists():
                broken.append((page.relative_to(rendered).as_posix(), href))
    assert broken == [], broken[:10]


@pytest.mark.slow
def test_every_link_and_asset_resolves_when_the_site_is_served_under_a_sub_path(rendered):
    """GitHub Pages serves a project site under /<repo>/: every page's links, scripts and
    stylesheets must resolve there too."""
    import functools
    import http.server
    import threading
    import urllib.error
    import urllib.parse
    import urllib.request

    class SubPath(http.server.SimpleHTTPRequestHandler):
        def translate_path(self, path):
            if not path.startswith("/my-repo/"):
                return str(rendered / "__outside_the_sub_path__")
            return super().translate_path(path[len("/my-repo") :])

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(SubPath, directory=str(rendered))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    root = f"http://127.0.0.1:{server.server_address[1]}/my-repo/"
    seen, broken = set(), []
    try:
        for page in sorted(rendered.rglob("*.html")):
            url = root + page.relative_to(rendered).as_posix()
            for ref in re.findall(r'(?:href|src)="([^"#]+)', page.read_text()):
                if re.match(r"^[a-z]+:", ref):
                    continue
                target = urllib.parse.urljoin(url, ref).split("?")[0]
                if target in seen:
                    continue
                seen.add(target)
                try:
                    urllib.request.urlopen(urllib.request.Request(target, method="HEAD")).close()
                except urllib.error.HTTPError as e:
                    broken.append((page.name, ref, e.code))
    finally:
        server.shutdown()
    assert broken == [], broken[:10]
    assert len(seen) > 50


@pytest.fixture(scope="module")
def rendered_with_url(analyzed, tmp_path_factory):
    """The fixture site rendered with a site URL, as the Pages workflow builds it."""
    import shutil

    from generator.site import render_site

    out, _ = analyzed
    dst = tmp_path_factory.mktemp("with-url")
    shutil.copytree(out / "artifacts", dst / "artifacts")
    return render_site(dst, strict=True, site_url="https://example.org/my-repo/")


@pytest.fixture(scope="module")
def sub_path_server(rendered_with_url):
    """`saetax serve --base /my-repo/`'s server: the site where GitHub Pages would put it."""
    import threading

    from generator.site.serve import make_server

    server = make_server(rendered_with_url, 0, "/my-repo/")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/my-repo/"
    server.shutdown()
    server.server_close()


def _watch(browser):
    """A page that records every failed request, every HTTP error and every script error."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    failures = []
    page.on(
        "console", lambda m: failures.append(f"console: {m.text}") if m.type == "error" else None
    )
    page.on("pageerror", lambda e: failures.append(f"script: {e}"))
    page.on("requestfailed", lambda r: failures.append(f"failed: {r.url} {r.failure}"))
    loaded = []

    def response(r):
        if r.status >= 400:
            failures.append(f"HTTP {r.status}: {r.url}")
        else:
            loaded.append(r.url)

    page.on("response", response)
    return page, failures, loaded


@pytest.mark.browser
@pytest.mark.slow
def test_a_browser_crawl_under_a_sub_path_finds_no_failure(
    browser, rendered_with_url, sub_path_server
):
    """Every page opened in Chromium under /my-repo/: its scripts, stylesheets, figures and
    data files load, no script fails, and every link it holds leads to a page that exists."""
    import urllib.request

    root = sub_path_server
    pages = sorted(
        p.relative_to(rendered_with_url).as_posix() for p in rendered_with_url.rglob("*.html")
    )
    pages.remove("404.html")  # served for missing pages; checked below
    page, failures, loaded = _watch(browser)
    links: set[str] = set()
    for rel in pages:
        page.goto(root + rel, wait_until="networkidle")
        for i in range(page.locator(".saetax-plot").count()):
            page.wait_for_selector(
                f".saetax-plot >> nth={i} >> xpath=self::*[@data-rendered='true']", timeout=20_000
            )
        links.update(
            page.eval_on_selector_all("a[href]", "els => els.map(e => e.href.split('#')[0])")
        )
        assert failures == [], (rel, failures)
    for kind in ("assets/figs/", "assets/data/", "assets/vendor/plotly.min.js", "search_index"):
        assert any(u.startswith(root) and kind in u for u in loaded), kind  # were fetched
    internal = sorted(h for h in links if h.startswith("http://127.0.0.1"))
    assert all(h.startswith(root) for h in internal), [
        h for h in internal if not h.startswith(root)
    ]
    broken = []
    for href in internal:
        try:
            urllib.request.urlopen(href).close()
        except OSError as e:
            broken.append((href, str(e)))
    assert broken == [] and len(internal) >= len(pages) // 2, broken[:10]

    # a missing page, however deep, gets the styled 404 page with every asset loading
    page.goto(root + "runs/no-such-run/L0/c9.html", wait_until="networkidle")
    assert "404" in page.inner_text("body")
    own = "console: Failed to load resource: the server responded with a status of 404"
    # the page's own 404 (an asset's would be listed with its URL by the response handler)
    failures[:] = [f for f in failures if "no-such-run" not in f and not f.startswith(own)]
    assert failures == [] and page.locator("link[rel=stylesheet]").count() >= 2
    assert page.evaluate("getComputedStyle(document.body).fontFamily") != ""
    page.close()


@pytest.mark.browser
@pytest.mark.slow
def test_search_and_lookup_work_under_a_sub_path(browser, sub_path_server, analyzed):
    out, _ = analyzed
    f = load(out).features.set_index("feature")
    fid = int(f.index[f["kept"]][3])
    page, failures, loaded = _watch(browser)
    page.goto(sub_path_server + "index.html", wait_until="networkidle")
    page.click(".md-search__input")
    page.keyboard.type("mountain", delay=20)
    page.wait_for_selector(".md-search-result__item a", timeout=15_000)
    hit = page.eval_on_selector_all(".md-search-result__item a", "els => els.map(e => e.href)")[0]
    assert any(u.startswith(sub_path_server) and "search_index" in u for u in loaded)
    assert hit.startswith(sub_path_server), hit
    page.goto(hit, wait_until="networkidle")
    page.goto(f"{sub_path_server}lookup.html#feature={fid}", wait_until="networkidle")
    page.wait_for_selector("#saetax-result table.saetax-card-paths", timeout=10_000)
    assert f"Feature {fid}" in page.inner_text("#saetax-result")
    for href in page.eval_on_selector_all("#saetax-result a", "els => els.map(e => e.href)"):
        assert href.startswith(sub_path_server), href
    assert failures == []
    page.close()


def test_serve_under_a_base_path_answers_like_github_pages(rendered):
    """`saetax serve --base /my-repo/`: the site there only, '/my-repo' redirects, and a
    missing page gets the site's 404.html with status 404."""
    import threading
    import urllib.error
    import urllib.request

    from generator.errors import SaetaxError
    from generator.site.serve import make_server

    server = make_server(rendered, 0, "/my-repo/")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with urllib.request.urlopen(f"{host}/my-repo/index.html") as r:
            assert r.status == 200 and r.read() == (rendered / "index.html").read_bytes()
        with urllib.request.urlopen(f"{host}/my-repo") as r:  # redirected to the folder
            assert (
                r.url == f"{host}/my-repo/" and r.read() == (rendered / "index.html").read_bytes()
            )
        for missing in ("/index.html", "/my-repo/runs/nope.html", "/other/my-repo/index.html"):
            with pytest.raises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(host + missing)
            assert e.value.code == 404
            assert e.value.read() == (rendered / "404.html").read_bytes(), missing
    finally:
        server.shutdown()
        server.server_close()
    for bad in ("my-repo/", "/my-repo", "/a//b/", "/../"):
        with pytest.raises(SaetaxError, match=r"--base .* is not a URL path; accepted: '/'"):
            make_server(rendered, 0, bad)


ODD_HOOKPOINT = 'odd <b>&"hp|x'


@pytest.fixture(scope="module")
def model_site(sae_root, tiny_lm, tmp_path_factory):
    """A model build of two hookpoints (one with a hostile name), rendered with a site URL."""
    import shutil

    from generator.pipeline import analyze
    from generator.site import render_site
    from tests.conftest import fixture_config

    root = tmp_path_factory.mktemp("model-sae")
    shutil.copytree(sae_root / "layers.0", root / "layers.0")
    shutil.copytree(sae_root / "layers.1", root / ODD_HOOKPOINT)
    out = tmp_path_factory.mktemp("model-out")
    sae = {"path": str(root), "hookpoint": None, "hookpoints": "all"}
    analyze(fixture_config(root, tiny_lm, sae=sae, sweep={"hierarchy": ["nested"]}), out)
    return out, render_site(out, strict=True, site_url="https://example.org/my-repo/")


def test_a_model_site_opens_on_an_overview_row_per_hookpoint(model_site):
    from generator.artifacts import load_model

    out, site = model_site
    model = load_model(out)
    assert model.hookpoints == ["layers.0", ODD_HOOKPOINT]
    html = (site / "index.html").read_text()
    assert "<b>" not in html and "odd &#60;b&#62;&#38;&#34;hp&#124;x" in html  # inert text
    for h in model.hookpoints:
        arts = model.hookpoint(h)
        folder = arts.root.name
        assert f'href="{folder}/index.html"' in html
        run = arts.manifest.recommended.run
        assert f'href="{folder}/runs/{run}/index.html"' in html
        home = (site / folder / "index.html").read_text()
        assert 'href="../index.html"' in home and "Model overview: all 2 hookpoints" in home
        assert "<b>" not in home  # the hookpoint in the site's name, title and nav is text
        assert (site / folder / "sweep.html").is_file()
        # each hookpoint's site knows where it is served
        assert (
            f"https://example.org/my-repo/{folder}/" in (site / folder / "sitemap.xml").read_text()
        )
    broken = []
    for page in site.rglob("*.html"):
        for href in re.findall(r'(?:href|src)="([^"#?]+)', page.read_text()):
            absolute = re.match(r"^([a-z]+:|/)", href)  # 404.html's, from the site URL
            if not absolute and not (page.parent / href).resolve().exists():
                broken.append((page.relative_to(site).as_posix(), href))
    assert broken == [], broken[:10]


@pytest.mark.browser
@pytest.mark.slow
def test_a_model_site_navigates_from_the_overview_to_a_hookpoint_and_back(browser, model_site):
    _, site = model_site
    page, failures, _ = _watch(browser)
    page.goto((site / "index.html").as_uri(), wait_until="networkidle")
    rows = page.locator("table tbody tr")
    assert rows.count() == 2
    assert ODD_HOOKPOINT in rows.nth(1).inner_text()  # the name shown as text
    rows.nth(1).locator("a").first.click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/index.html") and "/odd" in page.url
    page.get_by_text("Model overview: all 2 hookpoints").click()
    page.wait_for_load_state("networkidle")
    assert page.url == (site / "index.html").as_uri()
    assert failures == []
    page.close()
