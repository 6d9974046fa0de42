"""The error types users see (a sentence naming the bad value and what is accepted), and
the input rules more than one module enforces, written once."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# exit codes of the command line (documented in docs/publishing.md)
EXIT_OK = 0
EXIT_INTERNAL = 1  # a bug: please report it (run with -v for the traceback)
EXIT_INPUT = 2  # bad config, files, hookpoints or data
EXIT_SITE = 3  # the site could not be built (MkDocs failed, or warned under --strict)
EXIT_CHECK = 4  # a --fail-on check failed; the site and artifacts were still written
EXIT_CLUSTER = 5  # the Dask scheduler could not be reached, or runs kept killing workers
EXIT_INTERRUPTED = 130


class SaetaxError(Exception):
    """Bad input from the user (config, files, hookpoints, data).

    The CLI prints ``str(error)`` on one line and exits with `exit_code` (2 for input;
    subclasses for other classes of failure); library callers can catch it like any
    ``ValueError``-style input error.
    """

    exit_code = EXIT_INPUT


class ConfigError(SaetaxError, ValueError):
    """A config value that is missing, misspelt, of the wrong type or impossible."""


class SourceError(SaetaxError, ValueError):
    """An SAE or lens source that cannot be found or does not fit the rest."""


class DataError(SaetaxError, ValueError):
    """Numeric data that cannot be used as given (NaN rows, wrong rank or width)."""


class SiteError(SaetaxError):
    """The site could not be built (names the page or file); exit code 3."""

    exit_code = EXIT_SITE


class CheckFailed(SaetaxError):
    """A check the user asked to fail on (`--fail-on`) failed; exit code 4."""

    exit_code = EXIT_CHECK


class ClusterError(SaetaxError):
    """The executor's cluster failed us (unreachable scheduler, workers lost); exit code 5.
    Runs that finished are in the cache: rerun when the cluster is back."""

    exit_code = EXIT_CLUSTER


@contextmanager
def reading(path: Any, what: str, error: type[SaetaxError] | None = None) -> Iterator[None]:
    """Turn a reader's failure on a damaged file (truncated, garbage, wrong format) into
    one input error naming the file, instead of a traceback from deep in a library."""
    try:
        yield
    except SaetaxError:
        raise
    except Exception as e:
        first = (str(e).strip().splitlines() or [""])[0][:200]
        raise (error or DataError)(
            f"{path}: cannot be read as {what} ({type(e).__name__}: {first}); the file may be "
            f"truncated or not {what}. Replace it, or delete it to have it rebuilt if saetax "
            "wrote it."
        ) from None


def exit_code_of(error: BaseException) -> int:
    """The command line's exit code for an error that ended a command."""
    if isinstance(error, SaetaxError):
        return error.exit_code
    if isinstance(error, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if filesystem_problem(error):
        return EXIT_INPUT
    return EXIT_INTERNAL


def filesystem_problem(error: BaseException) -> str | None:
    """The one-line message for a file the user must fix (a read-only or full OUT, a file
    saetax may not read), or None when the error is something else."""
    import errno

    write = {errno.ENOSPC, errno.EROFS, errno.EDQUOT}
    if not isinstance(error, OSError) or not error.filename:
        return None
    if error.errno not in write | {errno.EACCES, errno.EPERM}:
        return None
    verb = "write" if error.errno in write else "use"
    return (
        f"cannot {verb} {error.filename}: {error.strerror}. Check the folder's permissions "
        "and free space."
    )


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


GPU_NODES = ("/dev/nvidiactl", "/dev/dxg", "/dev/kfd")  # NVIDIA, NVIDIA under WSL2, ROCm
GPU_VENDORS = ("0x10de", "0x1002")  # NVIDIA, AMD: PCI vendor ids


def no_gpu_here() -> bool:
    """True on Linux when neither a GPU's device files nor an NVIDIA or AMD display
    controller on the PCI bus is there: torch can then see no GPU, and `auto` is cpu
    without importing torch (a second in every fresh process, each Dask worker among
    them). The bus is read too because the driver may create the device files only when
    CUDA first starts. Elsewhere False: ask torch."""
    if not sys.platform.startswith("linux") or any(map(os.path.exists, GPU_NODES)):
        return False
    return not _gpu_on_pci()


def _gpu_on_pci(root: str = "/sys/bus/pci/devices") -> bool:
    """Whether an NVIDIA or AMD display controller (PCI class 0x03) is on the bus."""
    try:
        devices = os.listdir(root)
    except OSError:
        return False
    for dev in devices:
        try:
            with (
                open(os.path.join(root, dev, "vendor")) as v,
                open(os.path.join(root, dev, "class")) as c,
            ):
                vendor, cls = v.read().strip(), c.read().strip()
        except OSError:
            continue
        if vendor in GPU_VENDORS and cls.startswith("0x03"):
            return True
    return False


@functools.cache
def _no_gpu_in_this_process() -> bool:
    """`no_gpu_here()`, read once per process: a machine's GPUs do not come and go while it
    runs, and the device is resolved for every sequence a fit presents (thousands of
    nested groups per run: reading the bus each time cost 2 of a run's 3.3 s)."""
    return no_gpu_here()


def resolve_device(name: str) -> str:
    """`auto` → cuda when torch sees a GPU, else cpu; `cuda` without one is an error."""
    if name == "cpu" or (
        name == "auto" and "torch" not in sys.modules and _no_gpu_in_this_process()
    ):
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if name == "cuda":
        raise SaetaxError(
            "device='cuda' was asked for but torch sees no CUDA device; use device='auto' or 'cpu'."
        )
    return "cpu"
