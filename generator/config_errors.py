"""Pydantic's validation errors turned into the one sentence a user reads: the key, what
was wrong, the value given, and (for a misspelt key) the closest accepted key."""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ValidationError

from generator.config import Config


def _loc_str(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The config class found by following a location path (for did-you-mean)."""
    cls: Any = Config
    for part in loc:
        if isinstance(part, int):
            continue
        field = (
            cls.model_fields.get(part)
            if isinstance(cls, type) and issubclass(cls, BaseModel)
            else None
        )
        if field is None:
            return None
        cls = inner_model(field.annotation)
        if cls is None:
            return None
    return cls


def inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = inner_model(arg)
        if found is not None:
            return found
    return None


def _one_error(err: dict[str, Any]) -> str:
    loc = tuple(p for p in err["loc"] if p not in ("function-after", "function-before"))
    loc = tuple(p for p in loc if not _branch(p))
    where = _loc_str(loc)
    kind = err["type"]
    given = err.get("input")
    if kind == "extra_forbidden":
        key = str(loc[-1])
        parent = _model_at(loc[:-1])
        allowed = sorted(parent.model_fields) if parent else []
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"{where}: unknown key {key!r}{hint} Accepted keys here: {', '.join(allowed)}."
    if kind == "missing":
        return f"{where}: required key is missing."
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind in {
        "greater_than",
        "less_than_equal",
        "greater_than_equal",
        "less_than",
    } and where.startswith("sweep.rho_sets"):
        msg = "rho must be a float in (0, 1]"
    msg = msg.rstrip(".")
    if not isinstance(given, (dict, list)) and "Got " not in msg:
        msg += f"; got {given!r}"
    return f"{where}: {msg}."


def _branch(part: Any) -> bool:
    """A union branch name pydantic puts into an error's location ("int", "none",
    "list[constrained-float]", "literal['auto']"), not a key the user wrote."""
    return isinstance(part, str) and (
        part in {"int", "none", "float", "str", "bool"} or "[" in part
    )


def _literal_branch(err: dict[str, Any]) -> bool:
    return any(isinstance(p, str) and p.startswith("literal[") for p in err["loc"])


def format_errors(error: ValidationError, source: str) -> str:
    errors = error.errors()
    # a value that fails every branch of a union is one problem: keep the branch that is
    # not a bare literal such as `auto` (its error says more)
    if any(not _literal_branch(e) for e in errors):
        errors = [e for e in errors if not _literal_branch(e)]
    first = _one_error(errors[0])
    more = (
        f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
        if len(errors) > 1
        else ""
    )
    return f"{source}: {first}{more}"
