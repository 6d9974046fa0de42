"""The sweep's executors: tasks and results are values; every executor gives the same runs."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from generator import pipeline
from generator.sweep import (
    ProcessExecutor,
    RunSpec,
    RunTask,
    SequentialExecutor,
    grid,
    run_task,
)
from tests.conftest import fixture_config


def _spec(rhos=(0.3, 0.6), seed=0):
    params = {
        "module": "cosine",
        "module_params": {},
        "rho_values": list(rhos),
        "hierarchy": "nested",
    }
    return RunSpec(
        "art", params, None, seed, {"orders": 1, "seeds": 1, "subsamples": 2, "fraction": 0.9}
    )


def test_a_task_is_a_small_value_and_its_array_travels_apart():
    X = np.random.default_rng(0).standard_normal((300, 16)).astype(np.float32)
    task = RunTask(_spec(), "x1")
    assert len(pickle.dumps(task)) < 1_000  # no array, no path inside
    done = run_task(task, {"x1": X})
    again = pickle.loads(pickle.dumps(done))  # results come back as values
    np.testing.assert_array_equal(again.result.labels, done.result.labels)
    assert done.result.labels.shape == (300, 2) and done.seconds > 0


def test_the_process_executor_returns_what_the_sequential_one_does():
    rng = np.random.default_rng(1)
    arrays = {"a": rng.standard_normal((200, 8)), "b": rng.standard_normal((150, 8))}
    tasks = [RunTask(_spec(seed=s), k) for s in (0, 1) for k in ("a", "b")]
    seq = list(SequentialExecutor().map(tasks, arrays))
    par = list(ProcessExecutor(2).map(tasks, arrays))
    for s, p in zip(seq, par):
        np.testing.assert_array_equal(s.result.labels, p.result.labels)
        np.testing.assert_array_equal(s.result.diagnostics.match, p.result.diagnostics.match)
        assert s.result.stability.order_ari == p.result.stability.order_ari
        assert s.result.stability.subsample_ari == p.result.stability.subsample_ari
    assert list(ProcessExecutor(2).map([], arrays)) == []


def _comparable(obj):
    """JSON without timings and without the executor settings (which is what differs)."""
    if isinstance(obj, dict):
        drop = ("executor", "workers")
        return {k: _comparable(v) for k, v in obj.items() if "seconds" not in k and k not in drop}
    if isinstance(obj, list):
        return [_comparable(v) for v in obj]
    return obj


@pytest.mark.slow
def test_analyses_on_both_executors_write_identical_artifacts(tmp_path, sae_root, tiny_lm):
    outs = {}
    for executor in ("sequential", "processes"):
        cfg = fixture_config(
            sae_root,
            tiny_lm,
            sweep={"executor": executor, "workers": 2, "hierarchy": ["nested", "smart"]},
        )
        outs[executor] = pipeline.analyze(cfg, tmp_path / executor)
    a, b = outs["sequential"], outs["processes"]
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert len([f for f in files if f.name == "run.json"]) == len(grid(cfg))
    for rel in files:
        if rel.suffix == ".json":
            assert _comparable(json.loads((a / rel).read_text())) == _comparable(
                json.loads((b / rel).read_text())
            ), rel
        else:
            assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
