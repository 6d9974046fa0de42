"""The executors: tasks and results are values; every executor (sequential, processes,
a Dask LocalCluster) gives the same runs; a killed Dask worker does not fail the sweep."""

from __future__ import annotations

import json
import os
import pickle
import signal
import socket
import subprocess
import sys

import numpy as np
import pytest

from generator import pipeline
from generator.errors import EXIT_CLUSTER, ClusterError
from generator.executors import RunTask, run_task
from generator.executors.dask import DaskExecutor
from generator.executors.local import ProcessExecutor, SequentialExecutor
from generator.sweep import RunSpec, grid
from tests.conftest import fixture_config, fixture_dict, fresh_python


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
    _same_results(dict(SequentialExecutor().map(tasks, arrays)), ProcessExecutor(2), tasks, arrays)
    assert list(ProcessExecutor(2).map([], arrays)) == []


def _same_results(seq, executor, tasks, arrays):
    """Every task comes back once, under its own index, equal to the sequential result."""
    got = {}
    for i, done in executor.map(tasks, arrays):
        assert i not in got
        got[i] = done
    assert sorted(got) == list(range(len(tasks)))
    for i, s in seq.items():
        p = got[i]
        np.testing.assert_array_equal(s.result.labels, p.result.labels)
        np.testing.assert_array_equal(s.result.diagnostics.match, p.result.diagnostics.match)
        assert s.result.stability.order_ari == p.result.stability.order_ari
        assert s.result.stability.subsample_ari == p.result.stability.subsample_ari
    return got


@pytest.mark.slow
@pytest.mark.parametrize("broadcast", [True, False], ids=["broadcast", "spread"])
def test_a_dask_local_cluster_returns_what_the_sequential_executor_does(broadcast, monkeypatch):
    from generator.executors import dask

    monkeypatch.setattr(dask, "BROADCAST_BYTES", 2**30 if broadcast else 0)
    rng = np.random.default_rng(1)
    arrays = {"a": rng.standard_normal((200, 8)), "b": rng.standard_normal((150, 8))}
    # the same spec on two arrays: equal run ids must not share a Dask key
    tasks = [RunTask(_spec(seed=s), k) for s in (0, 1) for k in ("a", "b")]
    seq = dict(SequentialExecutor().map(tasks, arrays))
    _same_results(seq, DaskExecutor("local", workers=2), tasks, arrays)
    assert list(DaskExecutor("local", workers=2).map([], arrays)) == []


@pytest.mark.slow
def test_a_worker_killed_mid_sweep_does_not_fail_it():
    from distributed import Client, LocalCluster

    rng = np.random.default_rng(2)
    arrays = {"x": rng.standard_normal((1500, 24)).astype(np.float32)}
    tasks = [RunTask(_spec(rhos=(0.2, 0.4, 0.6), seed=s), "x") for s in range(6)]
    seq = dict(SequentialExecutor().map(tasks, arrays))
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=None, silence_logs=50
        ) as cluster,
        Client(cluster) as client,
    ):
        executor = DaskExecutor(cluster.scheduler_address, retries=0)
        pids = set(client.run(os.getpid).values())
        got, killed = {}, None
        for i, done in executor.map(tasks, arrays):
            got[i] = done
            if killed is None:  # after the first result: the other runs are in flight
                busy = [w for w, ts in client.processing().items() if ts]
                killed = client.run(os.getpid, workers=busy[:1])[busy[0]]
                os.kill(killed, signal.SIGKILL)
        assert killed in pids and killed not in set(client.run(os.getpid).values())
    assert sorted(got) == list(range(len(tasks)))
    for i, s in seq.items():
        np.testing.assert_array_equal(s.result.labels, got[i].result.labels)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_scheduler_is_one_error_naming_its_address():
    address = f"tcp://127.0.0.1:{_free_port()}"
    tasks = [RunTask(_spec(), "x")]
    with pytest.raises(ClusterError, match=f"cannot reach the Dask scheduler at {address}"):
        list(DaskExecutor(address, connect_timeout=1).map(tasks, {"x": np.zeros((5, 3))}))


def test_an_unreachable_scheduler_exits_5_from_the_command_line(tmp_path, sae_root, tiny_lm):
    import yaml
    from click.testing import CliRunner

    from generator.cli import main

    address = f"tcp://127.0.0.1:{_free_port()}"
    sweep = {"executor": "dask", "dask": {"scheduler": address, "connect_timeout": 1}}
    cfg = fixture_dict(sae_root, tiny_lm, sweep=sweep)
    (tmp_path / "c.yml").write_text(yaml.safe_dump(cfg))
    r = CliRunner().invoke(main, ["analyze", "-c", str(tmp_path / "c.yml"), "-o", str(tmp_path)])
    assert r.exit_code == EXIT_CLUSTER, r.output
    lines = [ln for ln in r.output.splitlines() if "error" in ln]
    assert len(lines) == 1 and address in lines[0] and "sweep.dask.scheduler" in lines[0]


@pytest.mark.parametrize("scheduler", ["localhost:8786", "http://host:8786", "tcp://", "LOCAL", ""])
def test_a_scheduler_that_is_no_address_is_refused_with_what_is_accepted(scheduler):
    from generator.config import parse_config
    from generator.errors import ConfigError

    with pytest.raises(ConfigError, match="scheduler") as e:
        parse_config(fixture_dict("x", "y", sweep={"dask": {"scheduler": scheduler}}))
    assert "tcp://host:8786" in str(e.value)


def _comparable(obj):
    """JSON without timings and without the executor settings (which is what differs)."""
    if isinstance(obj, dict):
        drop = ("executor", "workers", "dask")
        return {k: _comparable(v) for k, v in obj.items() if "seconds" not in k and k not in drop}
    if isinstance(obj, list):
        return [_comparable(v) for v in obj]
    return obj


@pytest.mark.slow
def test_analyses_on_every_executor_write_identical_artifacts(tmp_path, sae_root, tiny_lm):
    outs = {}
    for executor in ("sequential", "processes", "dask"):
        cfg = fixture_config(
            sae_root,
            tiny_lm,
            sweep={"executor": executor, "workers": 2, "hierarchy": ["nested", "smart"]},
        )
        outs[executor] = pipeline.analyze(cfg, tmp_path / executor)
    a = outs["sequential"]
    files = _same_artifacts(a, outs["processes"])
    assert len([f for f in files if f.name == "run.json"]) == len(grid(cfg))
    _same_artifacts(a, outs["dask"])


def _same_artifacts(a, b):
    """The two artifact folders hold the same files, equal apart from timings and the
    executor settings; returns the files, relative."""
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for rel in files:
        if rel.suffix == ".json":
            want, got = (json.loads((d / rel).read_text()) for d in (a, b))
            assert _comparable(want) == _comparable(got), rel
        else:
            assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    return files


@pytest.mark.slow
def test_a_dask_build_interrupted_on_the_client_resumes_from_the_cache(
    tmp_path, sae_root, tiny_lm, monkeypatch, caplog
):
    import logging

    from generator.cache import Cache

    sweep = {"executor": "dask", "workers": 2}
    cfg = fixture_config(sae_root, tiny_lm, sweep=sweep)
    real_store, stored = Cache.store, []

    def ctrl_c_on_third_run(self, stage, inp, value, seconds):
        if stage.NAME == "run":
            if len(stored) == 2:
                raise KeyboardInterrupt  # the user pressed Ctrl-C on the client
            stored.append(inp.spec.run_id)
        return real_store(self, stage, inp, value, seconds)

    monkeypatch.setattr(Cache, "store", ctrl_c_on_third_run)
    with pytest.raises(KeyboardInterrupt):
        pipeline.analyze(cfg, tmp_path)
    monkeypatch.setattr(Cache, "store", real_store)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="generator.cache"):
        pipeline.analyze(cfg, tmp_path)
    run_hits = [r for r in caplog.records if r.getMessage().startswith("cache hit: run")]
    assert sorted(r.getMessage().split()[3] for r in run_hits) == sorted(stored)
    assert len(grid(cfg)) == 8 and len(run_hits) == 2


ORPHAN_SCRIPT = """
import sys, numpy as np
from generator.executors import RunTask
from generator.executors.local import ProcessExecutor
from generator.sweep import RunSpec
if __name__ == "__main__":
    params = {"module": "cosine", "module_params": {}, "rho_values": [0.2, 0.5, 0.8],
              "hierarchy": "nested"}
    stab = {"orders": 2, "seeds": 2, "subsamples": 3, "fraction": 0.9}
    X = np.random.default_rng(0).standard_normal((20000, 64)).astype(np.float32)
    tasks = [RunTask(RunSpec("art", params, None, s, stab), "x") for s in range(8)]
    for i, r in ProcessExecutor(2).map(tasks, {"x": X}):
        print("done", i, flush=True)
"""


@pytest.mark.slow
def test_process_workers_end_when_their_parent_is_killed(tmp_path):
    import sys
    import time

    import psutil

    script = tmp_path / "sweep.py"
    script.write_text(ORPHAN_SCRIPT)
    parent = subprocess.Popen([sys.executable, str(script)], cwd=str(tmp_path.parent))
    workers: list = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(workers) < 2:
            time.sleep(0.5)
            kids = psutil.Process(parent.pid).children()
            workers = [k for k in kids if "spawn_main" in " ".join(k.cmdline())]
        assert len(workers) == 2, "the workers did not start"
        time.sleep(3)  # they are fitting now
        parent.kill()  # kill -9: no chance to shut the pool down
        parent.wait()
        gone, alive = psutil.wait_procs(workers, timeout=10)
        assert alive == [], f"orphaned workers: {[p.pid for p in alive]}"
    finally:
        parent.kill()
        for w in workers:
            if w.is_running():
                w.kill()


@pytest.mark.slow
def test_runs_ask_for_a_gpu_exactly_when_the_workers_declare_gpus():
    from distributed import Client, LocalCluster

    from generator.executors.dask import gpu_resources

    for declared, wanted in (({"GPU": 1}, {"GPU": 1}), ({}, None)):
        with LocalCluster(
            n_workers=1, threads_per_worker=1, dashboard_address=None, silence_logs=50,
            resources=declared,
        ) as cluster, Client(cluster) as client:  # fmt: skip
            client.wait_for_workers(1)
            assert gpu_resources(client) == wanted
            # and a sweep runs there under that restriction (a GPU worker: one at a time)
            arrays = {"x": np.random.default_rng(0).standard_normal((60, 8))}
            got = dict(DaskExecutor(cluster.scheduler_address).map([RunTask(_spec(), "x")], arrays))
            assert got[0].result.labels.shape == (60, 2)


@pytest.mark.gpu
@pytest.mark.slow
def test_a_local_cluster_on_a_gpu_machine_runs_each_worker_on_its_own_gpu():
    """saetax's LocalCluster on a GPU machine: every worker declares one GPU, worker i
    pins GPU i mod n, runs score their blocks there, and the labels are the CPU's."""
    import torch
    from distributed import Client

    from generator.executors.dask import gpu_resources, local_cluster

    def pinned():
        from distributed import get_worker

        from generator.executors.dask import _pin_gpu

        _pin_gpu()
        return get_worker().name, torch.cuda.current_device()

    X = np.random.default_rng(3).standard_normal((6000, 64)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)

    def tasks(device):
        params = {"module": "cosine", "module_params": {"device": device}, "hierarchy": "nested"}
        stab = {"orders": 1, "seeds": 0, "subsamples": 0, "fraction": 0.9}
        return [
            RunTask(RunSpec("art", {**params, "rho_values": [0.4, 0.5]}, None, s, stab), "x")
            for s in range(4)
        ]

    on_cpu = dict(SequentialExecutor().map(tasks("cpu"), {"x": X}))
    gpus = torch.cuda.device_count()
    with local_cluster(2, silence_logs=50) as cluster, Client(cluster) as client:
        client.wait_for_workers(2)
        workers = client.scheduler_info()["workers"]
        assert gpu_resources(client) == {"GPU": 1}
        assert [w["resources"] for w in workers.values()] == [{"GPU": 1}] * 2
        got = client.gather([client.submit(pinned, workers=[a], pure=False) for a in workers])
        assert sorted(got) == [(0, 0), (1, 1 % gpus)]
        on_gpu = dict(DaskExecutor(cluster.scheduler_address).map(tasks("auto"), {"x": X}))
        used = client.run(lambda: __import__("torch").cuda.max_memory_allocated())
    assert any(used.values()), "no worker put anything on its GPU"
    for i, done in on_cpu.items():
        np.testing.assert_array_equal(on_gpu[i].result.labels, done.result.labels)


@pytest.mark.slow
def test_a_dask_build_prints_only_its_own_lines_unless_v(tmp_path, sae_root, tiny_lm):
    """A fresh process: importing distributed sets its loggers to INFO, which must not reach
    the user (nor the CommClosedError traceback a LocalCluster logs as it closes)."""
    import sys

    import yaml

    sweep = {"executor": "dask", "workers": 2, "hierarchy": ["nested"]}
    cfg = fixture_dict(sae_root, tiny_lm, pca={"dims": [None]}, sweep=sweep)
    (tmp_path / "c.yml").write_text(yaml.safe_dump(cfg))
    outs = {}
    for flag in ("", "-v"):
        cmd = [sys.executable, "-m", "generator", *([flag] if flag else [])]
        cmd += ["analyze", "-c", str(tmp_path / "c.yml"), "-o", str(tmp_path / f"out{flag}")]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, p.stderr
        outs[flag] = p.stderr
    foreign = [ln for ln in outs[""].splitlines() if not ln.startswith("saetax: ")]
    assert foreign == [], foreign[:5]
    assert "distributed" in outs["-v"]  # -v lets Dask's own log through


@pytest.mark.slow
def test_a_scheduler_without_workers_is_one_error_naming_it():
    from distributed import LocalCluster

    with LocalCluster(n_workers=0, dashboard_address=None, silence_logs=50) as cluster:
        executor = DaskExecutor(cluster.scheduler_address, connect_timeout=0.5)
        with pytest.raises(ClusterError, match=f"{cluster.scheduler_address} has no workers"):
            list(executor.map([RunTask(_spec(), "x")], {"x": np.zeros((5, 3))}))


def test_a_deferred_session_runs_its_submissions_as_one_batch_when_waited_for():
    from generator.executors import Deferred

    batches = []

    class Recording(SequentialExecutor):
        def map(self, tasks, arrays):
            batches.append([t.x_key for t in tasks])
            yield from super().map(tasks, arrays)

    rng = np.random.default_rng(3)
    arrays = {"a": rng.standard_normal((80, 8)), "b": rng.standard_normal((90, 8))}
    session = Deferred(Recording())
    session.submit([RunTask(_spec(seed=0), "a")], arrays)
    session.submit([RunTask(_spec(seed=1), "b"), RunTask(_spec(seed=2), "a")], arrays)
    assert list(session.results(wait=False)) == [] and batches == []  # nothing ran yet
    got = dict(session.results())
    assert batches == [["a", "b", "a"]] and sorted(got) == [0, 1, 2]
    session.submit([RunTask(_spec(seed=3), "b")], {"b": arrays["b"]})  # numbered on
    assert [i for i, _ in session.results()] == [3] and batches[-1] == ["b"]
    want = run_task(RunTask(_spec(seed=1), "b"), arrays).result.labels
    np.testing.assert_array_equal(got[1].result.labels, want)


def test_a_dask_session_without_submissions_never_reaches_the_scheduler():
    """A build whose runs are all cached needs no cluster: an unreachable one is no error."""
    address = f"tcp://127.0.0.1:{_free_port()}"
    with DaskExecutor(address, connect_timeout=1).session() as session:
        session.submit([], {})
        assert list(session.results(wait=False)) == [] and list(session.results()) == []
        assert session.client is None


@pytest.mark.slow
def test_a_dask_session_fits_each_submission_as_it_comes_and_frees_its_arrays():
    import time

    rng = np.random.default_rng(4)
    arrays = {"a": rng.standard_normal((120, 8)), "b": rng.standard_normal((100, 8))}
    first = [RunTask(_spec(seed=s), "a") for s in (0, 1)]
    second = [RunTask(_spec(seed=s), "b") for s in (0, 1, 2)]
    seq = dict(SequentialExecutor().map(first + second, arrays))
    with DaskExecutor("local", workers=2).session() as session:
        session.submit(first, {"a": arrays["a"]})
        got: dict = {}
        deadline = time.monotonic() + 120
        while len(got) < 2 and time.monotonic() < deadline:  # read back without waiting
            got.update(session.results(wait=False))
            time.sleep(0.05)
        assert sorted(got) == [0, 1] and "a" not in session.shared  # its last task is back
        session.submit(second, {"b": arrays["b"]})  # numbered after the first submission
        got.update(session.results())
        assert sorted(got) == [0, 1, 2, 3, 4] and session.shared == {} and not session.futures
    for i, s in seq.items():
        np.testing.assert_array_equal(s.result.labels, got[i].result.labels)


@pytest.mark.slow
def test_a_dask_model_build_fits_a_hookpoints_runs_while_the_next_is_prepared(
    tmp_path, sae_root, tiny_lm, monkeypatch
):
    """The first hookpoint's runs are submitted before the second is prepared, finish and
    are stored meanwhile; the model's artifacts equal the sequential build's."""
    import time

    from generator.cache import Cache
    from generator.executors.dask import DaskSession
    from generator.stages.runs import Sweep

    events, sessions = [], []
    real_prepare, real_submit, real_store = pipeline.prepare, DaskSession.submit, Cache.store
    real_wait = Sweep.wait

    def prepare(cfg, name, *args):
        if sessions:  # a later hookpoint: let the first one's runs finish first
            deadline = time.monotonic() + 120
            while not all(f.done() for f in sessions[0].futures) and time.monotonic() < deadline:
                time.sleep(0.05)
        events.append(("prepare", name))
        return real_prepare(cfg, name, *args)

    def submit(self, tasks, arrays):
        sessions.append(self)
        events.append(("submit", len(tasks)))
        return real_submit(self, tasks, arrays)

    def store(self, stage, inp, value, seconds):
        if stage.NAME == "run":
            events.append(("store", inp.spec.run_id))
        return real_store(self, stage, inp, value, seconds)

    def wait(self, positions):
        events.append(("wait", len(positions)))
        return real_wait(self, positions)

    monkeypatch.setattr(pipeline, "prepare", prepare)
    monkeypatch.setattr(DaskSession, "submit", submit)
    monkeypatch.setattr(Cache, "store", store)
    monkeypatch.setattr(Sweep, "wait", wait)
    sae = {"hookpoint": None, "hookpoints": ["layers.0", "layers.1"]}
    sweep = {"executor": "dask", "workers": 2, "hierarchy": ["nested"]}
    cfg = fixture_config(sae_root, tiny_lm, sae=sae, sweep=sweep)
    out = pipeline.analyze(cfg, tmp_path / "dask")
    n = len(grid(cfg))  # runs per hookpoint
    kinds = [e[0] for e in events]
    # prepare 1, submit its runs, prepare 2 (while they fit), submit, store 1's runs, wait
    assert kinds[:5] == ["prepare", "submit", "prepare", "submit"] + ["store"], events
    assert events[1][1] == events[3][1] == n and events[2] == ("prepare", "layers.1")
    # the first hookpoint's runs (and maybe some of the second's) are stored before the wait
    assert kinds[4 : 4 + n] == ["store"] * n and kinds.index("wait") >= 4 + n, events

    monkeypatch.undo()
    sweep["executor"] = "sequential"
    seq = pipeline.analyze(
        fixture_config(sae_root, tiny_lm, sae=sae, sweep=sweep), tmp_path / "seq"
    )
    model = _same_artifacts(seq, out)
    assert {f.parts[1] for f in model if f.parts[0] == "hookpoints"} == {"layers.0", "layers.1"}


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/environ")
def test_local_workers_start_with_our_settings_and_the_client_keeps_its_own():
    """glibc reads MALLOC_* when a process starts, so they must be in a worker's initial
    environment (Dask's `env` is set later, too late); the client's is left as it was.
    Dask's housekeeping is quiet in the workers and the scheduler (QUIET_CLUSTER)."""
    from distributed import Client

    from generator.executors.dask import MALLOC_ENV, QUIET_CLUSTER, local_cluster

    before = {k: os.environ.get(k) for k in MALLOC_ENV}

    def start_env() -> dict[str, str]:
        with open("/proc/self/environ", "rb") as f:
            pairs = [e.decode().split("=", 1) for e in f.read().split(b"\0") if b"=" in e]
        return {k: v for k, v in pairs}

    with local_cluster(1, silence_logs=50) as cluster, Client(cluster) as client:
        (env,) = client.run(start_env).values()
        (numba_threads,) = client.run(lambda: os.environ["NUMBA_NUM_THREADS"]).values()
        (quiet,) = client.run(
            lambda: {k: __import__("dask").config.get(k) for k in QUIET_CLUSTER}
        ).values()
        (tick,) = client.run(
            lambda dask_worker: dask_worker.periodic_callbacks["tick"].callback_time
        ).values()
        (plugins,) = client.run(lambda dask_worker: sorted(dask_worker.plugins)).values()
        scheduler_tick = client.run_on_scheduler(
            lambda dask_scheduler: dask_scheduler.periodic_callbacks["tick"].callback_time
        )
    # no profiler (no dashboard here to show its samples), few wakeups, in the workers
    # themselves and in the scheduler of this process
    assert quiet == QUIET_CLUSTER and quiet["distributed.worker.profile.enabled"] is False
    assert tick == scheduler_tick == 1000  # ms, against Dask's 20
    assert "saetax-quick-exit" in plugins
    assert {k: env.get(k) for k in MALLOC_ENV} == MALLOC_ENV
    assert numba_threads == str(max(1, (os.cpu_count() or 1) // 1))
    assert {k: os.environ.get(k) for k in MALLOC_ENV} == before


@pytest.mark.slow
def test_starting_a_local_cluster_asks_torch_only_where_a_gpu_may_be():
    """Counting GPUs for the workers' resources costs the client torch's import (a second
    of the cluster's start) only where `device: auto` cannot already answer cpu."""
    code = (
        "import sys\n"
        "from generator.errors import no_gpu_here\n"
        "from generator.executors.dask import local_cluster\n"
        "with local_cluster(1, silence_logs=50) as c:\n"
        "    gpus = [w.get('resources', {}) for w in c.scheduler_info['workers'].values()]\n"
        "print(no_gpu_here(), 'torch' in sys.modules, gpus)"
    )
    stdout = fresh_python(code)
    none_here, imported, gpus = stdout.strip().split(" ", 2)
    if none_here == "True":
        assert (imported, gpus) == ("False", "[{}]")
    else:  # a machine that may have a GPU: torch counted them
        assert imported == "True"


@pytest.mark.parametrize(
    "start",
    [
        "from generator.executors.dask_plugins import QuickExit; QuickExit().setup(None)",
        "from generator.executors.local import _init_worker; _init_worker({})",
    ],
    ids=["dask-worker", "pool-worker"],
)
def test_a_worker_freezes_its_objects_at_exit_so_its_process_ends_quickly(start):
    """At exit Python's collector would walk every loaded module's objects (most of a
    second after a run), and the nanny or the pool closing the workers waits for it;
    a worker of either kind has the collector frozen by then."""
    code = (
        "import atexit, gc\n"
        "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0, flush=True))\n"
        f"{start}\n"
    )
    stdout = fresh_python(code)
    assert stdout.split() == ["frozen", "True"]
