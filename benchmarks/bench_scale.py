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
cold (a build's view: each side in a fresh process, the Dask one starting saetax's
LocalCluster) and warm (sequential in this process after a first run, against a running
cluster whose workers have run one before, as a cluster kept between builds). The speed
of a shared or virtual machine drifts from one minute to the next, so each way is timed
in `--rounds` pairs, the two sides of a pair one after the other, and the ratios are
reported per pair and as their median.

    python benchmarks/bench_scale.py                 # 32,768 × 512, 8 runs, 3 rounds
    python benchmarks/bench_scale.py --n 8192 --runs 4
    python benchmarks/bench_scale.py --plan          # one default run at 65,536 × 1,024
    python benchmarks/bench_scale.py --plan --random # the same on a random decoder

`--plan` times what docs/scale.md's plan for Pythia-410M needs: one run of the default
sweep (cosine ART, nested, ρ 0.2/0.5/0.8, raw dims, default stability: 8 fits) on a
65,536 × 1,024 decoder, in a worker's setting (numba threads as given by
NUMBA_NUM_THREADS), with the run's peak memory (Linux: the peak is reset before it); on
a machine with a GPU a second time with its blocks scored there, as a GPU worker runs it.
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


def plan(n: int, d: int, random: bool = False) -> None:
    """One default run at full size: its seconds and the process's peak memory; on a
    machine with a GPU, once on the CPU and once scoring blocks on the GPU (as a GPU
    worker runs it), with the ratio. `random`: on a random decoder instead of a planted
    tree, where every feature founds its own category at every level (the worst case)."""
    import gc
    import resource

    import numba

    from generator.config import StabilityConfig
    from generator.errors import resolve_device
    from generator.executors import RunTask, run_task
    from generator.report import cpu_name
    from generator.sweep import RunSpec

    if random:
        W = np.random.default_rng(0).standard_normal((n, d)).astype(np.float32)
        W /= np.linalg.norm(W, axis=1, keepdims=True)
    else:
        W = decoder(n, d)
    print(f"CPU: {cpu_name()}, {numba.get_num_threads()} numba thread(s)")
    devices = ["cpu"] + (["cuda"] if resolve_device("auto") == "cuda" else [])
    if "cuda" in devices:
        import torch

        print(f"GPU: {torch.cuda.get_device_name()}")
    seconds = {}
    for device in devices:
        params = {"module": "cosine", "module_params": {"device": device}}
        params |= {"rho_values": [0.2, 0.5, 0.8], "hierarchy": "nested"}
        spec = RunSpec("art", params, None, 0, StabilityConfig().model_dump())
        gc.collect()  # the decoder's making peaked higher than a run: measure from here
        rss0, reset = _rss(), _reset_peak()
        t0 = time.perf_counter()
        done = run_task(RunTask(spec, "X"), {"X": W})
        seconds[device] = time.perf_counter() - t0
        rss = _peak() if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        kind = "random" if random else "planted"
        print(
            f"default run on {n:,} × {d} ({kind}), blocks scored on the {device.upper()}: "
            f"{seconds[device]:.1f} s (first fit {done.result.fit_seconds:.1f} s), clusters "
            f"per level {done.result.n_clusters}; peak RSS {rss:.2f} GB"
            f"{'' if reset else ' (the process, from its start)'} ({rss0:.2f} GB before the "
            f"run, X is {W.nbytes / 2**30:.2f} GB); the result pickled: "
            f"{len(pickle.dumps(done)) / 1e6:.1f} MB"
        )
    if len(seconds) == 2:
        print(f"GPU against CPU: {seconds['cpu'] / seconds['cuda']:.2f}× faster")


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


def labels_digest(results: dict) -> str:
    """One hash of every run's labels, in task order: equal digests, identical sweeps."""
    import hashlib

    h = hashlib.sha256()
    for i in sorted(results):
        h.update(np.ascontiguousarray(results[i].result.labels).tobytes())
    return h.hexdigest()[:16]


def cold(executor: str, n: int, d: int, runs: int, workers: int) -> tuple[float, str]:
    """The sweep's seconds and labels' digest in a fresh process, loading included, as a
    build that has fitted nothing yet runs it (the decoder is made before the clock)."""
    import subprocess

    cmd = [sys.executable, __file__, "--n", str(n), "--d", str(d), "--runs", str(runs)]
    cmd += ["--workers", str(workers), "--cold", executor]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    seconds, digest = out.stdout.split()[-2:]
    return float(seconds), digest


def _cold_child(args: argparse.Namespace) -> None:
    """`cold`'s child: print the seconds and the digest."""
    from generator.executors.dask import DaskExecutor
    from generator.executors.local import SequentialExecutor

    W = decoder(args.n, args.d)
    tasks = tasks_for(args.runs)
    t0 = time.perf_counter()
    if args.cold == "sequential":
        got = dict(SequentialExecutor().map(tasks, {"X": W}))
    else:  # importing Dask is part of a cold build's cost
        got = dict(DaskExecutor("local", workers=args.workers).map(tasks, {"X": W}))
    print(time.perf_counter() - t0, labels_digest(got))


def spread(xs: list[float], unit: str = " s") -> str:
    xs = sorted(xs)
    med = float(np.median(xs))
    return (
        f"{xs[0]:.2f}–{xs[-1]:.2f}{unit} (median {med:.2f}{unit})"
        if len(xs) > 1
        else f"{med:.2f}{unit}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=32_768)
    ap.add_argument("--d", type=int, default=512)
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3, help="pairs timed, each way (default 3)")
    ap.add_argument("--plan", action="store_true", help="time one default run at 65,536 × 1,024")
    ap.add_argument(
        "--random",
        action="store_true",
        help="with --plan: a random decoder, every feature its own category (the worst case)",
    )
    ap.add_argument("--cold", choices=["sequential", "dask"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.plan:
        return plan(65_536, 1_024, args.random)
    if args.cold:
        return _cold_child(args)

    import numba
    from distributed import Client

    from generator.executors import run_task
    from generator.executors.dask import DaskExecutor, local_cluster
    from generator.executors.local import SequentialExecutor
    from generator.report import cpu_name

    W = decoder(args.n, args.d)
    arrays = {"X": W}
    tasks = tasks_for(args.runs)
    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores")
    print(
        f"decoder {W.shape[0]:,} × {W.shape[1]} float32 ({W.nbytes / 1e6:.1f} MB); "
        f"{len(tasks)} runs; {args.rounds} round(s) each way, the two sides of a round "
        "timed one after the other (this machine's speed drifts between minutes)"
    )
    sizes = (args.n, args.d, args.runs, args.workers)
    digests, rows = set(), {"cold": [], "warm": []}
    # cold, as a build runs them: each side in a fresh process (the dask one starts and
    # closes saetax's LocalCluster, whose new workers load everything on their first run)
    for r in range(args.rounds):
        (t_seq, d_seq), (t_dask, d_dask) = cold("sequential", *sizes), cold("dask", *sizes)
        digests |= {d_seq, d_dask}
        rows["cold"].append((t_seq, t_dask))
        print(
            f"cold round {r + 1}: sequential {t_seq:.1f} s, LocalCluster {t_dask:.1f} s: "
            f"{t_seq / t_dask:.2f}×",
            flush=True,
        )
    # warm: this process after a first small run, no cluster alive while it runs; against
    # a running cluster whose workers have each run one (kernels from numba's disk cache),
    # as a cluster kept between builds (started afresh each round, not timed)
    SequentialExecutor().map(tasks[:1], {"X": W[:2000]}).__next__()
    per_seq, per_worker, starts = [], [], []
    for r in range(args.rounds):
        t_seq, seq = timed(SequentialExecutor(), tasks, arrays)
        t0 = time.perf_counter()
        with local_cluster(args.workers, silence_logs=50) as cluster, Client(cluster) as client:
            starts.append(time.perf_counter() - t0)
            threads = set(client.run(lambda: __import__("numba").get_num_threads()).values())
            first = [
                client.submit(run_task, tasks[0], {"X": W[:2000]}, workers=[w], pure=False)
                for w in client.scheduler_info()["workers"]
            ]
            client.gather(first)
            t_warm, warm = timed(DaskExecutor(cluster.scheduler_address), tasks, arrays)
        digests |= {labels_digest(seq), labels_digest(warm)}
        per_seq += [x.seconds for x in seq.values()]
        per_worker += [x.seconds for x in warm.values()]
        rows["warm"].append((t_seq, t_warm))
        print(
            f"warm round {r + 1}: sequential {t_seq:.1f} s, running cluster "
            f"{t_warm:.1f} s: {t_seq / t_warm:.2f}×",
            flush=True,
        )
    same = len(digests) == 1
    print(
        f"per run: sequential ({numba.get_num_threads()} numba threads) {spread(per_seq)}; "
        f"in a worker of the running cluster ({'/'.join(map(str, threads))} numba "
        f"thread(s) each, a cluster started in {spread(starts)}) {spread(per_worker)}"
    )
    for how, pairs in rows.items():
        print(
            f"{how}: sequential {spread([a for a, _ in pairs])}, "
            f"{'LocalCluster started by saetax' if how == 'cold' else 'running cluster'} "
            f"{spread([b for _, b in pairs])}; speed-up {spread([a / b for a, b in pairs], '×')}"
        )
    print(f"identical labels in every sweep, both ways: {same}")
    task_bytes = [len(pickle.dumps(t)) for t in tasks]
    print(
        f"shipped: {max(task_bytes)} B per task (the pickled RunTask), "
        f"{W.nbytes / 1e6:.1f} MB of X once per worker = {args.workers * W.nbytes / 1e6:.1f} MB "
        f"in all (per task it would be {len(tasks) * W.nbytes / 1e6:.1f} MB)"
    )
    if not same:
        raise SystemExit("the executors disagree")


if __name__ == "__main__":
    main()
