"""What a page is, the site's options, and where pages go (paths relative to docs_dir)."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any


@dataclass
class Page:
    """One Markdown page: where it goes, which template lays it out, and its context."""

    path: str  # relative to docs_dir, e.g. "runs/<id>/L0/c3.md"
    template: str
    title: str
    context: dict[str, Any]


@dataclass
class SiteOptions:
    title: str = "SAE feature taxonomy"
    description: str = ""
    page_levels: int = 2
    min_page_size: int = 3
    max_cluster_pages: int = 2500
    max_children_listed: int = 150
    max_children_detailed: int = 20
    members_shown: int = 50
    tokens_shown: int = 8
    url: str | None = None  # where the site will be served (MkDocs' site_url)
    up: str | None = None  # a hookpoint's site in a model build: the overview, from its home
    up_count: int = 0  # hookpoints in that model


def run_dir(run_id: str) -> str:
    return f"runs/{run_id}"


def cluster_path(run_id: str, level: int, cluster: int) -> str:
    return f"runs/{run_id}/L{level}/c{cluster}.md"


def html_path(md_path: str) -> str:
    """Where MkDocs writes a page (the offline plugin turns directory URLs off)."""
    return md_path[: -len(".md")] + ".html"


def rel(from_md: str, to_md: str) -> str:
    """A relative link between two pages, as Markdown source wants it."""
    return posixpath.relpath(to_md, posixpath.dirname(from_md) or ".")


def link(from_md: str, to_md: str | None) -> str | None:
    return None if to_md is None else rel(from_md, to_md)
