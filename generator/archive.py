"""`saetax build --archive`: the site and its artifacts as one file for a release, with the
same bytes for the same inputs.

Entries are sorted, under one top folder (`taxonomy/site/…`, `taxonomy/artifacts/…`),
with the time from SOURCE_DATE_EPOCH (else the epoch, 1980 for zip), owner 0 and no
names, and modes 644/755; the gzip header carries no time or file name. Only the
content of the two folders decides the bytes, so two builds of the same config agree.
"""

from __future__ import annotations

import gzip
import os
import tarfile
import zipfile
from pathlib import Path

from generator.atomic import replacing_file
from generator.errors import SaetaxError

FORMATS = ("tar.gz", "zip")
TOP = "taxonomy"
PARTS = ("site", "artifacts")


def _epoch() -> int:
    raw = os.environ.get("SOURCE_DATE_EPOCH") or "0"  # unset or empty: the epoch
    try:
        return max(0, int(raw))
    except ValueError:
        raise SaetaxError(
            f"SOURCE_DATE_EPOCH={raw!r} is not a whole number of seconds since 1970."
        ) from None


def _entries(out_dir: Path) -> list[tuple[str, Path]]:
    """(archive name, path) of every folder and file, sorted by name."""
    found = []
    for part in PARTS:
        root = out_dir / part
        if not root.is_dir():
            raise SaetaxError(f"{root} does not exist; nothing to archive (build the site first).")
        for path in [root, *root.rglob("*")]:
            if path.is_symlink():
                raise SaetaxError(f"{path} is a symbolic link; the archive holds plain files only.")
            found.append((f"{TOP}/{path.relative_to(out_dir).as_posix()}", path))
    return sorted(found)


def write_archive(out_dir: Path, fmt: str = "tar.gz") -> Path:
    """OUT/site.tar.gz (or site.zip) holding OUT/site and OUT/artifacts; written atomically."""
    if fmt not in FORMATS:
        raise SaetaxError(f"archive format {fmt!r} is not known; accepted: {', '.join(FORMATS)}.")
    out_dir = Path(out_dir)
    entries = _entries(out_dir)
    final = out_dir / f"site.{fmt}"
    with replacing_file(final) as tmp:
        (_write_tar if fmt == "tar.gz" else _write_zip)(tmp, entries, _epoch())
    return final


def _write_tar(target: Path, entries: list[tuple[str, Path]], mtime: int) -> None:
    with (
        open(target, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=mtime, compresslevel=6) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for name, path in entries:
            info = tarfile.TarInfo(name)
            info.mtime, info.uid, info.gid, info.uname, info.gname = mtime, 0, 0, "", ""
            if path.is_dir():
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = path.stat().st_size, 0o644
                with open(path, "rb") as f:
                    tar.addfile(info, f)


def _write_zip(target: Path, entries: list[tuple[str, Path]], mtime: int) -> None:
    import time

    stamp = time.gmtime(max(mtime, 315532800))[:6]  # zip cannot say before 1980
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, path in entries:
            is_dir = path.is_dir()
            info = zipfile.ZipInfo(name + ("/" if is_dir else ""), date_time=stamp)
            info.create_system = 3  # unix, so the modes below are read
            info.external_attr = ((0o40755 if is_dir else 0o100644) << 16) | (0x10 if is_dir else 0)
            if is_dir:
                z.writestr(info, b"")
            else:
                info.compress_type = zipfile.ZIP_DEFLATED
                with open(path, "rb") as src, z.open(info, "w") as dst:
                    while chunk := src.read(1 << 20):
                        dst.write(chunk)
