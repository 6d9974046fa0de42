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
    clean_stale(final)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}-new-{os.getpid()}-", dir=final.parent))
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
    """The folder a swap interrupted between its two renames left aside, if any (the
    newest, by modification time, if several were)."""
    final = Path(final)
    olds = [p for p in final.parent.glob(f".{final.name}-old-*") if p.is_dir()]
    return max(olds, key=lambda p: p.stat().st_mtime_ns) if olds else None


def _pid_of(leftover: Path, kind: str, final: Path) -> int | None:
    head = leftover.name[len(f".{final.name}-{kind}-") :].split("-", 1)[0]
    return int(head) if head.isdigit() else None


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def clean_stale(final: Path) -> None:
    """Remove what writers killed mid-write (kill -9, a lost node) left beside `final`:
    their temporary folders, and set-aside old folders once `final` is in place (without
    `final`, the newest old folder is what `previous` recovers, so it stays)."""
    final = Path(final)
    for tmp in final.parent.glob(f".{final.name}-new-*"):
        if not _alive(_pid_of(tmp, "new", final)):
            shutil.rmtree(tmp, ignore_errors=True)
    olds = [p for p in final.parent.glob(f".{final.name}-old-*") if p.is_dir()]
    keep = None if final.exists() or not olds else previous(final)
    for old in olds:
        if old != keep and not _alive(_pid_of(old, "old", final)):
            shutil.rmtree(old, ignore_errors=True)


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
