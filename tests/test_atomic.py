"""Atomic writes: a reader sees the old folder or file or the new one, never half, and a
published folder is readable by a web server."""

from __future__ import annotations

import os
import stat

import pytest

from generator.atomic import atomic_write_text, replacing, replacing_file


def test_a_replaced_folder_gets_the_usual_permissions(tmp_path):
    mask = os.umask(0o022)
    try:
        with replacing(tmp_path / "site") as tmp:
            (tmp / "index.html").write_text("<p>new</p>")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "site").stat().st_mode) == 0o755  # not mkdtemp's 700


def test_a_file_is_replaced_whole_or_not_at_all(tmp_path):
    target = tmp_path / "build.json"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError):
        with replacing_file(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["build.json"]  # no temporary left
    mask = os.umask(0o022)
    try:
        atomic_write_text(target, "new")
    finally:
        os.umask(mask)
    assert target.read_text() == "new" and stat.S_IMODE(target.stat().st_mode) == 0o644
