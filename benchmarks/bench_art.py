"""ART engine vs artlib, side by side in one process on the same data.

Checks labels are identical (float64 against artlib; float32 against our own float64
and across block sizes), then prints times and ratios. Usage:

    python benchmarks/bench_art.py              # the issue's table (a few minutes)
    python benchmarks/bench_art.py --quick      # small sizes, for a smoke run
    python benchmarks/bench_art.py --skip-scale # without the 32k/65k runs
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np


def unit_rows(n: int, d: int, seed: int = 0) -> np.ndarray:
    X = np.random.default_rng(seed).standard_normal((n, d))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def timed(fn, *args):
    t_wall, t_cpu = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, time.perf_counter() - t_wall, time.process_time() - t_cpu


def row(name: str, seconds: float, cpu: float, ref: float | None, note: str = "") -> None:
    ratio = f"{ref / seconds:8.1f}x" if ref else "        "
    print(f"  {name:<44} {seconds:9.3f} s wall {cpu:9.2f} CPU-s  {ratio}  {note}")


def warm_up() -> None:
    """Load (or compile) every kernel once so timings exclude compilation."""
    from generator.art import CosineART, FuzzyART, Hierarchy

    X = unit_rows(64, 8)
    for dt in ("float32", "float64"):
        m = FuzzyART(0.5, 0.01, 1.0, dtype=dt)
        m.fit(m.prepare_data(X))
        CosineART(0.5, dtype=dt).fit(X)
        for mode in ("smart", "nested"):
            Hierarchy("fuzzy", [0.3, 0.6], mode=mode, params={"dtype": dt}).fit(m.prepare_data(X))
    for pre in ("none", *prescorers()):  # enough categories for pre-scoring to start
        CosineART(0.5, prescore=pre).fit(unit_rows(3000, 64).astype(np.float32))


def prescorers() -> list[str]:
    """The rounded pre-scorers this machine can run (prescore.py)."""
    from generator.art import bf16, int16

    return [k for k, ok in (("int16", int16.supports(64)), ("bf16", bf16.available())) if ok]


def bench_fuzzy(n: int, d: int, rho: float, with_python: bool) -> None:
    import artlib

    from generator.art import FuzzyART

    X = unit_rows(n, d)
    print(
        f"\nFuzzyART  N={n}  d={d} ({2 * d} after complement coding)  rho={rho}  alpha=0.01  beta=1"
    )
    ref_model = artlib.FuzzyART(rho=rho, alpha=0.01, beta=1.0)
    Xp = ref_model.prepare_data(X)
    py_s = None
    if with_python:
        _, py_s, py_cpu = timed(ref_model.fit, Xp)
        row(
            "artlib FuzzyART (Python per sample)",
            py_s,
            py_cpu,
            None,
            f"{ref_model.n_clusters} categories",
        )
    cpp_s = None
    try:
        from artlib.optimized.backends.cpp.FuzzyART import FuzzyART as CppFuzzyART

        cpp = CppFuzzyART(rho=rho, alpha=0.01, beta=1.0)
        cpp.prepare_data(X)
        _, cpp_s, cpp_cpu = timed(cpp.fit, Xp)
        same = np.array_equal(cpp.labels_, ref_model.labels_) if with_python else None
        row(
            "artlib FuzzyART (C++ backend)",
            cpp_s,
            cpp_cpu,
            py_s,
            f"{cpp.n_clusters} categories, labels = Python: {same}",
        )
    except ImportError as e:
        print(f"  artlib C++ backend not importable ({e})")
    ref_s = py_s or cpp_s
    ref_labels = ref_model.labels_ if with_python else cpp.labels_
    for dtype in ("float64", "float32"):
        ours = FuzzyART(rho, 0.01, 1.0, dtype=dtype)
        ours.prepare_data(X)
        _, s, cpu = timed(ours.fit, Xp)
        same = np.array_equal(ours.labels_, ref_labels)
        note = f"{ours.n_clusters} categories, labels = artlib: {same}"
        if dtype == "float64" and with_python:
            note += f", weights = artlib: {all(np.array_equal(a, b) for a, b in zip(ours.W, ref_model.W))}"
        row(f"ours FuzzyART drop-in {dtype}", s, cpu, ref_s, note)
        if cpp_s:
            print(f"  {'':<44} {'':>9}        {'':>9}         {cpp_s / s:8.1f}x vs C++")
    # work done: sum over samples of categories present x 2d min-and-add
    k_avg = np.mean(np.maximum.accumulate(ours.labels_) + 1)
    ops = n * k_avg * 2 * d
    print(
        f"  work: N x mean categories x 2d = {ops:.2e} min-and-add pairs -> {ops / s / 1e9:.1f} G pairs/s in float32"
    )


def bench_smart(n: int, d: int, rhos: list[float], with_python: bool) -> None:
    import artlib

    from generator.art import SMART, FuzzyART, Hierarchy

    X = unit_rows(n, d)
    print(f"\nSMART (FuzzyART levels)  N={n}  d={d}  rho={rhos}")
    ref = artlib.SMART(artlib.FuzzyART, rhos, {"alpha": 0.01, "beta": 1.0})
    Xp = ref.prepare_data(X)
    ref_s = None
    if with_python:
        _, ref_s, ref_cpu = timed(ref.fit, Xp)
        row(
            "artlib SMART",
            ref_s,
            ref_cpu,
            None,
            f"categories {[m.n_clusters for m in ref.modules]}",
        )
    for dtype in ("float64", "float32"):
        ours = SMART(FuzzyART, rhos, {"alpha": 0.01, "beta": 1.0, "dtype": dtype})
        _, s, cpu = timed(ours.fit, Xp)
        same = np.array_equal(ours.labels_deep_, ref.labels_deep_) if with_python else None
        row(
            f"ours SMART drop-in {dtype}",
            s,
            cpu,
            ref_s,
            f"categories {[m.n_clusters for m in ours.modules]}, labels = artlib: {same}",
        )
    nested = Hierarchy("fuzzy", rhos, mode="nested", params={"alpha": 0.01, "beta": 1.0})
    _, s, cpu = timed(nested.fit, Xp)
    row(
        "ours nested float32 (parent-constrained)",
        s,
        cpu,
        ref_s,
        f"categories {nested.n_clusters_}",
    )


def bench_nested_scale(n: int, d: int, rhos: list[float]) -> None:
    from generator.art import FuzzyART, Hierarchy

    X = unit_rows(n, d, seed=1)
    Xp = FuzzyART().prepare_data(X)
    print(f"\nnested FuzzyART hierarchy  N={n}  d={d}  rho={rhos}  (Pythia-70M size; goal < 60 s)")
    h = Hierarchy("fuzzy", rhos, mode="nested", params={"alpha": 0.01})
    _, s, cpu = timed(h.fit, Xp)
    row("ours nested float32", s, cpu, None, f"categories {h.n_clusters_}")
    one = h.labels_deep_
    ok = all(
        len({(c, p) for c, p in zip(one[:, k], one[:, k - 1])}) == len(set(one[:, k]))
        for k in range(1, len(rhos))
    )
    print(f"  every child has one parent: {ok}")


def bench_cosine_scale(n: int, d: int, rhos: list[float]) -> None:
    from generator.art import CosineART
    from generator.metrics import nearest_neighbour_cosines
    from generator.synthetic import make_planted_hierarchy

    # random directions are the worst case (nearly every sample founds a category, so the
    # work is ~N²d/2 multiply-adds); a planted tree has structure like a trained SAE's
    planted = make_planted_hierarchy(
        (256, 4, 4), d=d, per_leaf=n // 4096, level_cos=(0.5, 0.6), sample_cos=0.5, seed=2
    )
    data = {"random": unit_rows(n, d, seed=2).astype(np.float32), "planted": planted.X}
    from generator.art import prescore

    auto = getattr(prescore.scorer_for(d, False, "auto"), "name", "none")
    print(f"\nCosineART  N={n}  d={d}  (Pythia-410M size; goal < 30 s per level)")
    print(f"  prescore='auto' picks {auto!r} on this machine")
    for name, X in data.items():
        print(
            f"  {name}: median nearest-neighbour cosine {np.median(nearest_neighbour_cosines(X, 2000, 0)):.3f}"
        )
        for rho in rhos:
            # our own kernel-only path is the reference; pre-scoring must not change results
            ref, s_ref, cpu_ref = timed(CosineART(rho=rho, prescore="none").fit, X)
            k_avg = np.mean(np.maximum.accumulate(ref.labels_) + 1)
            work = len(X) * k_avg * d  # multiply-adds when every sample meets every category
            row(
                f"kernel only, {name} rho={rho}",
                s_ref,
                cpu_ref,
                None,
                f"{ref.n_clusters} categories, {work / s_ref / 1e9:.1f} G mult-add/s",
            )
            for pre in prescorers():
                m, s, cpu = timed(CosineART(rho=rho, prescore=pre).fit, X)
                same = np.array_equal(m.labels_, ref.labels_) and np.array_equal(
                    m.weights_, ref.weights_
                )
                row(
                    f"{pre} pre-scoring{' (auto)' if pre == auto else ''}, {name} rho={rho}",
                    s,
                    cpu,
                    s_ref,
                    f"{work / s / 1e9:.1f} G mult-add/s, labels and weights = kernel only: {same}",
                )


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="small sizes")
    ap.add_argument("--skip-scale", action="store_true", help="skip the 32k and 65k runs")
    ap.add_argument("--no-python", action="store_true", help="skip artlib's slow Python path")
    args = ap.parse_args()
    import numba
    import torch

    print(
        f"machine: {cpu_model()}, {os.cpu_count()} CPUs, numba threads {numba.get_num_threads()}, "
        f"cuda available: {torch.cuda.is_available()}"
    )
    _, s, _ = timed(warm_up)
    print(f"kernel load/compile: {s:.1f} s (cached on disk after the first run)")
    n, d = (1000, 128) if args.quick else (5000, 512)
    py = not args.no_python
    for rho in (0.2, 0.5, 0.8):
        bench_fuzzy(n, d, rho, py)
    bench_smart(n, d, [0.2, 0.5, 0.8], py)
    if not args.skip_scale:
        bench_nested_scale(4096 if args.quick else 32768, d, [0.2, 0.5, 0.8])
        bench_cosine_scale(
            8192 if args.quick else 65536, 256 if args.quick else 1024, [0.1, 0.2, 0.3]
        )


if __name__ == "__main__":
    main()
