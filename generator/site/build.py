"""Phase two of the site build: render the model to Markdown, then build with MkDocs.

Templates get their context from `model.build_model` and a few filters registered here
(the only code they see). The site is built into a fresh folder and swapped in, so a
failed build leaves the previous site in place.
"""

from __future__ import annotations

import html
import json
import logging
import os
import shutil
import tempfile
import time
from importlib.resources import files
from pathlib import Path
from typing import Any

from generator import progress
from generator.artifacts import ModelArtifacts, load_any
from generator.atomic import replacing
from generator.errors import SaetaxError, SiteError
from generator.site import text
from generator.site.model import SiteModel, build_model
from generator.site.page import html_path

log = logging.getLogger(__name__)

# package data (pyproject's package-data), found wherever the package is installed
TEMPLATES = Path(str(files("generator.site").joinpath("templates")))
HAND_WRITTEN = Path(str(files("generator").joinpath("docs")))


def _fmt(fmt: str):
    def f(v: Any) -> str:
        return "–" if v is None or (isinstance(v, float) and v != v) else fmt.format(v)

    return f


def _html_link(md_link: str | None) -> str:
    """A page link as the built site has it (raw HTML in Markdown is not rewritten)."""
    if not md_link:
        return ""
    return html_path(md_link) if md_link.endswith(".md") else md_link


def environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(TEMPLATES / "pages"), str(HAND_WRITTEN)]),
        autoescape=False,  # Markdown output: every untrusted string goes through a filter below
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters.update(
        {
            "tok": text.token_html,
            "toks": lambda ts, n=None: text.tokens_html(list(ts), n),
            "md": lambda s: text.md_text(str(s)),
            "num": _fmt("{:,}"),
            "pct": _fmt("{:.0%}"),
            "f2": _fmt("{:.2f}"),
            "f3": _fmt("{:.3f}"),
            "html_link": _html_link,
            "heading": lambda ts, n=3: text.heading_words(list(ts), n),
            "members": text.members_block,
        }
    )
    return env


def render_markdown(model: SiteModel, docs_dir: Path) -> None:
    """Write every page, figure and data file of the model into docs_dir."""
    env = environment()
    with progress.bar(len(model.pages), "site pages", unit="page") as bar:
        for page in model.pages:
            _render_page(env, page, docs_dir, model.options)
            bar.update(1)
    figs = docs_dir / "assets" / "figs"
    figs.mkdir(parents=True, exist_ok=True)
    for fid, fig in model.figures.items():
        _write_js(figs / f"{fid}.js", "SAETAX_FIGS", fid, fig)
    data = docs_dir / "assets" / "data"
    data.mkdir(parents=True, exist_ok=True)
    for did, payload in model.data.items():
        _write_js(data / f"{did}.js", "SAETAX_DATA", did, payload)


def _render_page(env: Any, page: Any, docs_dir: Path, options: Any) -> None:
    out = docs_dir / page.path
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        md = env.get_template(page.template).render(options=options, **page.context)
    except Exception as e:
        raise SiteError(
            f"rendering {page.path} with {page.template} failed: {type(e).__name__}: {e}"
        ) from e
    out.write_text(md, encoding="utf-8")


def _write_js(path: Path, registry: str, key: str, payload: Any) -> None:
    """A figure or data file that registers itself: loads from file:// and http alike.
    ensure_ascii keeps every token (U+2028 included) inert inside the JS string."""
    body = json.dumps(payload, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    path.write_text(
        f"window.{registry}=window.{registry}||{{}};window.{registry}[{json.dumps(key)}]={body};\n"
    )


def copy_static(docs_dir: Path, artifacts_dir: Path) -> None:
    """Assets, vendored plotly.js, hand-written pages, the reference pages and the raw
    artifacts."""
    import plotly

    from generator.config_reference import config_reference

    shutil.copytree(TEMPLATES / "assets", docs_dir / "assets", dirs_exist_ok=True)
    plotly_js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not plotly_js.is_file():
        raise SiteError(
            f"plotly.min.js not found in the installed plotly package ({plotly_js}); reinstall plotly."
        )
    shutil.copy2(plotly_js, docs_dir / "assets" / "vendor" / "plotly.min.js")
    shutil.copy2(HAND_WRITTEN / "reading.md", docs_dir / "reading.md")
    (docs_dir / "reference").mkdir(parents=True, exist_ok=True)
    shutil.copy2(HAND_WRITTEN / "artifacts.md", docs_dir / "reference" / "artifacts.md")
    (docs_dir / "reference" / "config.md").write_text(config_reference(), encoding="utf-8")
    shutil.copytree(artifacts_dir, docs_dir / "artifacts")


def write_mkdocs_yml(
    model: SiteModel,
    path: Path,
    docs_dir: Path,
    site_dir: Path,
    strict: bool,
    site_url: str | None = None,
) -> None:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["tojson"] = lambda v: json.dumps(v, ensure_ascii=False)
    path.write_text(
        env.get_template("mkdocs.yml.j2").render(
            # Material puts these into the HTML unescaped (header, nav, <title>, meta)
            title=html.escape(model.options.title, quote=True),
            description=html.escape(model.options.description, quote=True),
            docs_dir=str(docs_dir),
            site_dir=str(site_dir),
            overrides_dir=str(TEMPLATES / "overrides"),
            hooks=str(Path(__file__).with_name("mkdocs_hooks.py")),
            strict=strict,
            site_url=site_url,
            nav=model.nav,
        )
    )


def mkdocs_build(config_file: Path) -> None:
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort, ConfigurationError

    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    logging.getLogger("mkdocs").setLevel(logging.WARNING)
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = epoch or "0"  # reproducible page dates
    try:
        build(load_config(str(config_file)))
    except (Abort, ConfigurationError) as e:
        raise SiteError(f"mkdocs build failed: {e}") from None
    finally:
        if epoch is None:
            del os.environ["SOURCE_DATE_EPOCH"]


def relative_404(page: Path) -> None:
    """Without a site URL MkDocs writes 404.html with links from the server's root (`/…`),
    which break under a sub-path and from file://; make them relative to the site's root,
    where 404.html lies. (With a site URL they start with its path, which is right on that
    host at any depth of a missing page, so they stay.)"""
    import re

    if not page.is_file():
        return
    html = page.read_text(encoding="utf-8")
    html = re.sub(r'((?:href|src)=")/(?!/)', r"\1./", html)
    # Material's scripts read the base and the search worker's path from its config
    html = html.replace('"base": "/"', '"base": "."')
    html = re.sub(r'("search": ")/', r"\1./", html)
    page.write_text(html, encoding="utf-8")


def render_site(out_dir: Path, *, strict: bool = True, site_url: str | None = None) -> Path:
    """OUT/artifacts → OUT/site (atomic swap). Returns the site folder.

    `site_url` (else the config's `site.url`) is where the site will be served: MkDocs
    writes it into the sitemap, the canonical links and 404.html (so a missing page at any
    depth on that host gets a styled 404). Every other link is relative, so the same folder
    also works from file:// and under any sub-path. The build is reproducible: page dates
    come from SOURCE_DATE_EPOCH (the epoch when unset).

    A model build (several hookpoints) becomes one site: the overview at its root and
    each hookpoint's site in the hookpoint's folder."""
    out_dir = Path(out_dir).resolve()  # mkdocs resolves relative paths against its config file
    t0 = time.perf_counter()
    try:
        arts = load_any(out_dir)
    except ValueError as e:
        raise SaetaxError(str(e)) from None
    final = out_dir / "site"
    work = Path(tempfile.mkdtemp(prefix=".site-build-", dir=out_dir))
    try:
        with replacing(final) as site_dir:
            if isinstance(arts, ModelArtifacts):
                n = _model_site(arts, site_dir, work, strict, site_url)
            else:
                model = build_model(arts)
                url = site_url or model.options.url
                _one_site(model, arts.root, site_dir, work, strict, url)
                n = len(model.pages)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log.info("site built in %.1f s: %d pages", time.perf_counter() - t0, n)
    return final


def _model_site(
    arts: ModelArtifacts, site_dir: Path, work: Path, strict: bool, site_url: str | None
) -> int:
    """The overview at the site's root, then each hookpoint's site in its folder (the
    root's MkDocs build would clean them away if it came later)."""
    from generator.artifacts import hookpoint_folder
    from generator.site.overview import hookpoint_options, overview_model

    overview = overview_model(arts)
    url = site_url or overview.options.url
    only_model = work / "model-artifacts"
    only_model.mkdir()
    shutil.copy2(arts.root / "model.json", only_model / "model.json")
    _one_site(overview, only_model, site_dir, work / "overview", strict, url)
    n = len(overview.pages)
    for h in arts.hookpoints:
        folder = hookpoint_folder(h)
        model = build_model(arts.hookpoint(h), hookpoint_options(arts, h))
        sub_url = f"{url}{folder}/" if url else None
        _one_site(
            model,
            arts.root / "hookpoints" / folder,
            site_dir / folder,
            work / folder,
            strict,
            sub_url,
        )
        n += len(model.pages)
    return n


def _one_site(
    model: SiteModel,
    artifacts_dir: Path,
    site_dir: Path,
    work: Path,
    strict: bool,
    site_url: str | None,
) -> None:
    """Render one MkDocs site from its model into site_dir (work holds its sources)."""
    t0 = time.perf_counter()
    docs_dir = work / "docs"
    copy_static(docs_dir, artifacts_dir)
    render_markdown(model, docs_dir)
    t_md = time.perf_counter()
    write_mkdocs_yml(model, work / "mkdocs.yml", docs_dir, site_dir, strict, site_url)
    n_pages = sum(1 for _ in docs_dir.rglob("*.md"))
    with progress.ticking(n_pages, "mkdocs", unit="page"):  # ticked by mkdocs_hooks.py
        mkdocs_build(work / "mkdocs.yml")
    if not site_url:
        relative_404(site_dir / "404.html")
    log.info(
        "%s: markdown %.1f s, mkdocs %.1f s",
        model.options.title,
        t_md - t0,
        time.perf_counter() - t_md,
    )
