"""The sweep on Dask: sequential against a LocalCluster of 2 worker processes, in one run.

A planted-hierarchy decoder of 32,768 × 512 unit rows; a sweep of 8 runs (cosine ART,
nested, 4 vigilance sets × 2 seeds, each with its stability refits: 1 order, 1 seed,
2 subsamples). Both executors fit the same tasks; the results must be identical. Prints
the wall times, the speed-up, and what travels: the pickled task (per task) and the input
array (once per worker, scattered with broadcast). Goal: speed-up ≥ 1.6× on 2 cores, X
shipped once per worker.

    python benchmarks/bench_scale.py                 # 32,768 × 512, 8 runs
    python benchmarks/bench_scale.py --n 8192 --runs 4
    python benchmarks/bench_scale.py --plan          # one default run at 65,536 × 1,024

`--plan` times what docs/scale.md's plan for Pythia-410M needs: one run of the default
sweep (cosine ART, nested, ρ 0.2/0.5/0.8, raw dims, default stability: 8 fits) on a
65,536 × 1,024 decoder, in a worker's setting (numba threads as given by
NUMBA_NUM_THREADS), with its peak memory.
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
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    t0 = time.perf_counter()
    done = run_task(RunTask(spec, "X"), {"X": W})
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"CPU: {cpu_name()}, {numba.get_num_threads()} numba thread(s)")
    print(
        f"default run on {n:,} × {d}: {time.perf_counter() - t0:.1f} s (first fit "
        f"{done.result.fit_seconds:.1f} s), clusters per level {done.result.n_clusters}; "
        f"peak RSS {rss:.2f} GB ({rss0:.2f} GB before the run, X is {W.nbytes / 2**30:.2f} GB); "
        f"the result pickled: {len(pickle.dumps(done)) / 1e6:.1f} MB"
    )


def timed(executor, tasks, arrays) -> tuple[float, dict]:
    t0 = time.perf_counter()
    got = dict(executor.map(tasks, arrays))
    return time.perf_counter() - t0, got


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=32_768)
    ap.add_argument("--d", type=int, default=512)
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--plan", action="store_true", help="time one default run at 65,536 × 1,024")
    args = ap.parse_args()
    if args.plan:
        return plan(65_536, 1_024)

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
    # warm numba's compiled kernels in this process (workers load them from its disk cache)
    SequentialExecutor().map(tasks[:1], {"X": W[:2000]}).__next__()

    # the cluster's start-up on its own, then the sweep on that running cluster
    import numba
    from distributed import Client, LocalCluster

    from generator.executors.dask import _worker_env

    t0 = time.perf_counter()
    with LocalCluster(
        n_workers=args.workers, threads_per_worker=1, dashboard_address=None,
        silence_logs=50, env=_worker_env(args.workers),
    ) as cluster, Client(cluster) as client:  # fmt: skip
        t_start = time.perf_counter() - t0
        threads = set(client.run(lambda: __import__("numba").get_num_threads()).values())
        t_warm, warm = timed(DaskExecutor(cluster.scheduler_address), tasks, arrays)
    # as a build runs it: saetax starts and closes the LocalCluster
    t_dask, par = timed(DaskExecutor("local", workers=args.workers), tasks, arrays)
    t_seq, seq = timed(SequentialExecutor(), tasks, arrays)
    same = all(
        np.array_equal(seq[i].result.labels, other[i].result.labels)
        for i in seq
        for other in (par, warm)
    )
    task_bytes = [len(pickle.dumps(t)) for t in tasks]
    per_run = sorted(r.seconds for r in seq.values())
    in_worker = sorted(r.seconds for r in par.values())

    print(
        f"sequential: {t_seq:.1f} s (per run {per_run[0]:.1f}–{per_run[-1]:.1f} s, "
        f"{numba.get_num_threads()} numba threads)"
    )
    print(
        f"dask, LocalCluster of {args.workers} workers ({'/'.join(map(str, threads))} numba "
        f"thread(s) each): {t_dask:.1f} s as a build runs it (start-up included), "
        f"{t_warm:.1f} s on a running cluster (start-up alone {t_start:.1f} s; per run "
        f"{in_worker[0]:.1f}–{in_worker[-1]:.1f} s in a worker)"
    )
    print(
        f"speed-up: {t_seq / t_dask:.2f}× with start-up, {t_seq / t_warm:.2f}× on a running "
        f"cluster; identical labels: {same}"
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
