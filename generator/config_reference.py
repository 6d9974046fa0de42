"""docs/config.md: every key of site_config.yml with its default and description, generated
from the config classes (a test keeps the file equal to this output). The rendered site
shows the same page."""

from __future__ import annotations

import inspect
from typing import Any

import yaml
from pydantic import BaseModel

from generator.config import Config
from generator.config_errors import inner_model


def config_reference() -> str:
    """Markdown documenting every key of site_config.yml with its default."""
    lines = [
        "# Configuration reference",
        "",
        "Every key of `site_config.yml`, its default and what it accepts. Unknown keys are",
        "errors (with a did-you-mean). Generated from `generator/config.py`:",
        "`python -m generator.config_reference > docs/config.md`.",
        "",
    ]
    _document(Config, "", lines)
    return "\n".join(lines) + "\n"


def _document(cls: type[BaseModel], prefix: str, lines: list[str]) -> None:
    lines += [
        f"## `{prefix.rstrip('.') or 'top level'}`",
        "",
        inspect.cleandoc(cls.__doc__ or ""),
        "",
        "| key | default | description |",
        "|---|---|---|",
    ]
    nested: list[tuple[str, type[BaseModel]]] = []
    for name, field in cls.model_fields.items():
        sub = inner_model(field.annotation)
        default = "required" if field.is_required() else _show_default(field)
        desc = " ".join((field.description or "").split()).replace("|", "\\|")
        if sub is not None:  # a section, or a list of entries documented below
            key = f"{prefix}{name}" + ("[]" if _is_list(field.annotation) else "")
            nested.append((f"{key}.", sub))
            anchor = key.replace(".", "").replace("[]", "")
            desc = (desc + " " if desc else "") + f"See [`{key}`](#{anchor})."
        lines.append(f"| `{prefix}{name}` | {default} | {desc} |")
    lines.append("")
    for p, sub in nested:
        _document(sub, p, lines)


def _is_list(annotation: Any) -> bool:
    return getattr(annotation, "__origin__", None) is list


def _show_default(field: Any) -> str:
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "(section)"
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        value = [v.model_dump(mode="json") for v in value]
    return f"`{yaml.safe_dump(value, default_flow_style=True).strip().removesuffix('...').strip()}`"


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.stdout.write(config_reference())
