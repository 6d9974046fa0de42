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


def _dead_pid() -> int:
    import subprocess
    import sys

    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_leftovers_of_a_killed_writer_are_cleaned_and_the_newest_old_set_is_recovered(tmp_path):
    import os
    import time

    from generator.atomic import previous, replacing

    final, dead = tmp_path / "artifacts", _dead_pid()
    # a kill -9 between the two renames of two earlier swaps: no final, two old sets
    older = tmp_path / f".artifacts-old-{dead}9"
    newer = tmp_path / f".artifacts-old-{dead}"
    for d, t in ((newer, 2_000_000_000), (older, 1_000_000_000)):  # the name sorts the other way
        d.mkdir()
        (d / "manifest.json").write_text(d.name)
        os.utime(d, (t, t))
    assert previous(final) == newer  # by age, not by name
    stale_tmp = tmp_path / f".artifacts-new-{dead}-abc"
    stale_tmp.mkdir()
    live_tmp = tmp_path / f".artifacts-new-{os.getpid()}-xyz"  # a writer still at work
    live_tmp.mkdir()
    with replacing(final) as tmp:
        assert not stale_tmp.exists() and live_tmp.exists()
        assert newer.exists() and not older.exists()  # the recoverable set stays until replaced
        (tmp / "manifest.json").write_text("new")
    time.sleep(0.01)
    with replacing(final) as tmp:  # with the final set in place, old sets go
        (tmp / "manifest.json").write_text("newer")
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == [live_tmp.name, "artifacts"], left
