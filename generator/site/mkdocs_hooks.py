"""MkDocs hooks (`hooks:` in the generated mkdocs.yml): advance the site's progress bar
once per page MkDocs writes, so a long build shows an ETA."""

from __future__ import annotations

from typing import Any

from generator import progress


def on_post_page(output: str, page: Any, config: Any) -> str:
    progress.tick()
    return output
