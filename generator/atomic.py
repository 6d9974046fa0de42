"""Atomic writes: the one rule every writer of a folder (cache entries, the artifact set,
the site) or of a file (build.json, the archive) follows, so an interrupted write never
leaves half of one behind.

A new folder is written under a temporary name beside the final one, then swapped in with
two renames (old aside, new in). Between the renames the previous folder survives as
`.<name>-old-<pid>`, which `previous` finds so a reader can recover it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(final: Path) -> Iterator[Path]:
    """Yield an empty temporary folder; when the block ends without an error it replaces
    `final` (whether or not `final` existed). On any error, or Ctrl-C, it is removed and
    `final` is left as it was."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}-new-", dir=final.parent))
    try:
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp's 700 would hide a site from a web server
        yield tmp
        old = final.parent / f".{final.name}-old-{os.getpid()}"
        if final.exists():
            os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def previous(final: Path) -> Path | None:
    """The folder a swap interrupted between its two renames left aside, if any."""
    final = Path(final)
    olds = sorted(final.parent.glob(f".{final.name}-old-*"))
    return olds[-1] if olds else None


@contextmanager
def replacing_file(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside `final`; when the block ends without an error it
    replaces `final` with one rename. On any error the temporary file is removed."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{final.name}-new-", dir=final.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # as open() would have made it
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(final: Path, text: str) -> None:
    """Write a text file so that a reader sees the old content or the new, never half."""
    with replacing_file(final) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
