"""The sweep on Dask: sequential against a LocalCluster of 2 worker processes, in one run.

A planted-hierarchy decoder of 32,768 × 512 unit rows; a sweep of 8 runs (cosine ART,
nested, 4 vigilance sets × 2 seeds, each with its stability refits: 1 order, 1 seed,
2 subsamples). Both executors fit the same tasks; the results must be identical. Prints
the wall times, the speed-up, and what travels: the pickled task (per task) and the input
array (once per worker, scattered with broadcast). Goal: speed-up ≥ 1.6× on 2 cores, X
shipped once per worker.

A process that has not fitted a run yet spends a second or more loading what runs need
(scikit-learn, numba's compiled kernels; torch too on a machine with a GPU): the
sequential executor does that once, each Dask worker once too, in parallel. So the sweep is timed both ways:
cold (a build's view: sequential in a fresh process, against saetax starting the
LocalCluster) and warm (sequential in this process after a first run, against a running
cluster whose workers have run one before, as a cluster kept between builds).

    python benchmarks/bench_scale.py                 # 32,768 × 512, 8 runs
    python benchmarks/bench_scale.py --n 8192 --runs 4
    python benchmarks/bench_scale.py --plan          # one default run at 65,536 × 1,024

`--plan` times what docs/scale.md's plan for Pythia-410M needs: one run of the default
sweep (cosine ART, nested, ρ 0.2/0.5/0.8, raw dims, default stability: 8 fits) on a
65,536 × 1,024 decoder, in a worker's setting (numba threads as given by
NUMBA_NUM_THREADS), with the run's peak memory (Linux: the peak is reset before it).
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RHO_SETS = [[0.2, 0.5, 0.8], [0.25, 0.55, 0.8], [0.3, 0.6, 0.85], [0.35, 0.65, 0.85]]


def decoder(n: int, d: int) -> np.ndarray:
    """Unit rows around a planted three-level tree (as SAE decoders have families)."""
    from generator.synthetic import make_planted_hierarchy

    per_leaf = -(-n // (16 * 8 * 4))
    tree = make_planted_hierarchy(
        (16, 8, 4), d=d, per_leaf=per_leaf, level_cos=(0.6, 0.75), sample_cos=0.8, seed=0
    )
    W = np.ascontiguousarray(tree.X[:n], dtype=np.float32)
    return W / np.linalg.norm(W, axis=1, keepdims=True)


def tasks_for(n_runs: int) -> list:
    from generator.executors import RunTask
    from generator.sweep import RunSpec

    stab = {"orders": 1, "seeds": 1, "subsamples": 2, "fraction": 0.9}
    out = []
    for seed in range(-(-n_runs // len(RHO_SETS))):
        for rhos in RHO_SETS:
            params = {"module": "cosine", "module_params": {}, "rho_values": rhos}
            out.append(
                RunTask(RunSpec("art", {**params, "hierarchy": "nested"}, None, seed, stab), "X")
            )
    return out[:n_runs]


def plan(n: int, d: int) -> None:
    """One default run at full size: its seconds and the process's peak memory."""
    import resource

    import numba

    from generator.config import StabilityConfig
    from generator.executors import RunTask, run_task
    from generator.report import cpu_name
    from generator.sweep import RunSpec

    W = decoder(n, d)
    params = {"module": "cosine", "module_params": {}, "rho_values": [0.2, 0.5, 0.8]}
    spec = RunSpec(
        "art", {**params, "hierarchy": "nested"}, None, 0, StabilityConfig().model_dump()
    )
    import gc

    gc.collect()  # the decoder's making peaked higher than a run: measure from here
    rss0, reset = _rss(), _reset_peak()
    t0 = time.perf_counter()
    done = run_task(RunTask(spec, "X"), {"X": W})
    rss = _peak() if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"CPU: {cpu_name()}, {numba.get_num_threads()} numba thread(s)")
    print(
        f"default run on {n:,} × {d}: {time.perf_counter() - t0:.1f} s (first fit "
        f"{done.result.fit_seconds:.1f} s), clusters per level {done.result.n_clusters}; "
        f"peak RSS {rss:.2f} GB{'' if reset else ' (the process, from its start)'} "
        f"({rss0:.2f} GB before the run, X is {W.nbytes / 2**30:.2f} GB); "
        f"the result pickled: {len(pickle.dumps(done)) / 1e6:.1f} MB"
    )


def _status_gb(field: str) -> float:
    with open("/proc/self/status") as f:
        line = next(x for x in f if x.startswith(field + ":"))
    return int(line.split()[1]) / 2**20


def _rss() -> float:
    """The resident size now (GB), Linux; else the peak so far."""
    import resource

    try:
        return _status_gb("VmRSS")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _reset_peak() -> bool:
    """Start the peak resident size (VmHWM) afresh, where Linux allows it."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak() -> float:
    return _status_gb("VmHWM")


def timed(executor, tasks, arrays) -> tuple[float, dict]:
    t0 = time.perf_counter()
    got = dict(executor.map(tasks, arrays))
    return time.perf_counter() - t0, got


def sequential_cold(n: int, d: int, runs: int) -> float:
    """The sequential sweep's seconds in a fresh process (loading included), as a build
    that has fitted nothing yet runs it; the decoder is made before the clock starts."""
    import subprocess

    cmd = [sys.executable, __file__, "--n", str(n), "--d", str(d), "--runs", str(runs)]
    out = subprocess.run([*cmd, "--cold-sequential"], capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=32_768)
    ap.add_argument("--d", type=int, default=512)
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--plan", action="store_true", help="time one default run at 65,536 × 1,024")
    ap.add_argument("--cold-sequential", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.plan:
        return plan(65_536, 1_024)
    if args.cold_sequential:  # the child of `sequential_cold`: print the seconds
        from generator.executors.local import SequentialExecutor

        W = decoder(args.n, args.d)
        print(timed(SequentialExecutor(), tasks_for(args.runs), {"X": W})[0])
        return None

    from generator.executors.dask import DaskExecutor
    from generator.executors.local import SequentialExecutor
    from generator.report import cpu_name

    W = decoder(args.n, args.d)
    arrays = {"X": W}
    tasks = tasks_for(args.runs)
    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores")
    print(
        f"decoder {W.shape[0]:,} × {W.shape[1]} float32 ({W.nbytes / 1e6:.1f} MB); {len(tasks)} runs"
    )
    # cold, as a build runs them: sequential in a fresh process; saetax starting and
    # closing the LocalCluster, whose new workers load everything on their first run.
    # warm: this process after a first small run (before it has imported distributed);
    # a running cluster whose workers have each run one (kernels from numba's disk cache)
    t_seq_cold = sequential_cold(args.n, args.d, args.runs)
    SequentialExecutor().map(tasks[:1], {"X": W[:2000]}).__next__()
    t_seq, seq = timed(SequentialExecutor(), tasks, arrays)
    t_dask, par = timed(DaskExecutor("local", workers=args.workers), tasks, arrays)

    import numba
    from distributed import Client

    from generator.executors import run_task
    from generator.executors.dask import local_cluster

    t0 = time.perf_counter()
    with local_cluster(args.workers, silence_logs=50) as cluster, Client(cluster) as client:
        t_start = time.perf_counter() - t0
        threads = set(client.run(lambda: __import__("numba").get_num_threads()).values())
        small = {"X": W[:2000]}
        first = [
            client.submit(run_task, tasks[0], small, workers=[w], pure=False)
            for w in client.scheduler_info()["workers"]
        ]
        client.gather(first)
        t_warm, warm = timed(DaskExecutor(cluster.scheduler_address), tasks, arrays)
    same = all(
        np.array_equal(seq[i].result.labels, other[i].result.labels)
        for i in seq
        for other in (par, warm)
    )
    task_bytes = [len(pickle.dumps(t)) for t in tasks]
    per_run = sorted(r.seconds for r in seq.values())
    in_worker = sorted(r.seconds for r in par.values())

    warm_runs = sorted(r.seconds for r in warm.values())
    print(
        f"cold (as a build): sequential in a fresh process {t_seq_cold:.1f} s; LocalCluster "
        f"of {args.workers} workers started by saetax {t_dask:.1f} s (per run "
        f"{in_worker[0]:.1f}–{in_worker[-1]:.1f} s in a worker, the first on each loading)"
    )
    print(
        f"warm: sequential in this process {t_seq:.1f} s (per run {per_run[0]:.1f}–"
        f"{per_run[-1]:.1f} s, {numba.get_num_threads()} numba threads); running cluster of "
        f"{args.workers} workers ({'/'.join(map(str, threads))} numba thread(s) each, "
        f"started in {t_start:.1f} s) {t_warm:.1f} s (per run {warm_runs[0]:.1f}–"
        f"{warm_runs[-1]:.1f} s in a worker)"
    )
    print(
        f"speed-up: cold {t_seq_cold / t_dask:.2f}×, warm {t_seq / t_warm:.2f}×; "
        f"identical labels: {same}"
    )
    print(
        f"shipped: {max(task_bytes)} B per task (the pickled RunTask), "
        f"{W.nbytes / 1e6:.1f} MB of X once per worker = {args.workers * W.nbytes / 1e6:.1f} MB "
        f"in all (per task it would be {len(tasks) * W.nbytes / 1e6:.1f} MB)"
    )
    if not same:
        raise SystemExit("the executors disagree")


if __name__ == "__main__":
    main()
