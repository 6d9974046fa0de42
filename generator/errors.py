"""The error types users see (a sentence naming the bad value and what is accepted), and
the input rules more than one module enforces, written once."""

from __future__ import annotations

from typing import Any


class SaetaxError(Exception):
    """Bad input from the user (config, files, hookpoints, data).

    The CLI prints ``str(error)`` on one line and exits with code 2; library callers
    can catch it like any ``ValueError``-style input error.
    """


class ConfigError(SaetaxError, ValueError):
    """A config value that is missing, misspelt, of the wrong type or impossible."""


class SourceError(SaetaxError, ValueError):
    """An SAE or lens source that cannot be found or does not fit the rest."""


class DataError(SaetaxError, ValueError):
    """Numeric data that cannot be used as given (NaN rows, wrong rank or width)."""


def check_finite_rows(finite: Any, where: str, ids: str = "rows") -> None:
    """The one message for rows with NaN or infinite values: how many, and which.

    `finite` is a per-row boolean mask; `ids` names what the row numbers are
    (`rows`, or `latents` for an SAE's decoder)."""
    import numpy as np

    bad = np.flatnonzero(~np.asarray(finite, dtype=bool))
    if len(bad):
        shown = ", ".join(map(str, bad[:10])) + (", ..." if len(bad) > 10 else "")
        raise DataError(
            f"{where}: {len(bad)} row(s) contain NaN or infinite values ({ids} {shown}); "
            "every row must be finite."
        )


def resolve_device(name: str) -> str:
    """`auto` → cuda when torch sees a GPU, else cpu; `cuda` without one is an error."""
    if name == "cpu":
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if name == "cuda":
        raise SaetaxError(
            "device='cuda' was asked for but torch sees no CUDA device; use device='auto' or 'cpu'."
        )
    return "cpu"
