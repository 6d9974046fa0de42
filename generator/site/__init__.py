"""The rendering half: artifacts → Markdown → an offline MkDocs Material site (no torch)."""

from generator.site.build import render_site

__all__ = ["render_site"]
