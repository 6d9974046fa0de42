"""Progress in a log: periodic plain lines with done/total and an ETA; none under -q."""

from __future__ import annotations

import logging

from generator import progress


def test_a_long_sweep_in_a_log_writes_periodic_lines_with_an_eta(caplog, monkeypatch):
    clock = iter([0.0, 0.0, 10.0, 20.0, 30.0, 40.0])
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    p = progress.LineProgress(total=10, desc="runs", unit="run", every=15)
    with caplog.at_level(logging.INFO, logger="generator.progress"):
        p.update(2)  # at 0 s: two runs came from the cache
        p.update(1)  # 10 s: too soon for a line
        p.update(1)  # 20 s: 2 computed in 20 s → 6 left ≈ 60 s
        p.update(1)  # 30 s: too soon again
        p.update(1)  # 40 s: 4 in 40 s → 4 left ≈ 40 s
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["runs  4/10 runs (40%), ETA 1 min 00 s", "runs  6/10 runs (60%), ETA 40 s"]


def test_bars_become_lines_only_off_a_terminal_and_never_under_quiet(monkeypatch):
    monkeypatch.setattr("sys.stderr.isatty", lambda: False, raising=False)
    try:
        progress.configure(0)
        assert isinstance(progress.bar(5, "runs", lines=True), progress.LineProgress)
        assert not isinstance(progress.bar(5, "pages"), progress.LineProgress)  # one line per step
        progress.configure(-1)
        assert not isinstance(progress.bar(5, "runs", lines=True), progress.LineProgress)
    finally:
        progress.configure(0)
