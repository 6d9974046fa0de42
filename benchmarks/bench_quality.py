"""Family quality: the recommended ART run against plain baselines at matched K, on both
layers of the bundled demo SAE, plus the planted-hierarchy check, in one run.

    python benchmarks/bench_quality.py            # layers 3 and 1 of the default config
    python benchmarks/bench_quality.py --layers 3

For each layer the default `site_config.yml` is analysed (UMAP off) with only the SAE's
hookpoint changed. The table shows, per method and level: K, the share of features left
alone, the largest family's share, cohesion and its chance level (random sets of the same
sizes), token coherence and its chance level, the cosine silhouette, and the ARI between
refits on other input orders, other seeds and 90 % subsamples. Then the issue's goals for
the best ART run are checked against agglomerative at the same K. Timings depend on the
machine: the CPU is printed first.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    model, flags = platform.processor() or "?", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    simd = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags]
    return f"{model}, {os.cpu_count()} cores, {' '.join(simd)}; load {os.getloadavg()[0]:.1f}"


def fmt(v, spec=".3f") -> str:
    return "   –  " if v is None else format(v, spec)


def analyse_layer(layer: int, work: Path):
    from generator.artifacts import load
    from generator.config import parse_config
    from generator.pipeline import analyze

    data = yaml.safe_load((ROOT / "site_config.yml").read_text())
    data["sae"]["path"] = str(ROOT / data["sae"]["path"])
    data["sae"]["hookpoint"] = f"encoder.layer.{layer}"
    data["umap"] = {"enabled": False}
    out = work / f"quality-L{layer}"
    t0 = time.perf_counter()
    analyze(parse_config(data), out)
    print(f"\nlayer {layer}: analysed in {time.perf_counter() - t0:.0f} s ({out})")
    return load(out)


def table(arts) -> None:
    rec = arts.manifest.recommended
    best = arts.run(rec.best_art)
    runs = [best] + [
        arts.run(r) for r in arts.run_ids if arts.run(r).meta.matched_to == best.run_id
    ]
    print(f"recommended: {rec.run} ({rec.method}); best ART run: {rec.best_art}")
    head = (
        f"{'method':<34}{'lv':>3}{'K':>6}{'alone':>7}{'largest':>8}{'cohes':>7}{'chance':>7}"
        f"{'tokcoh':>7}{'chance':>7}{'silh':>7}{'order':>7}{'seed':>7}{'subsmp':>7}"
    )
    print(head)
    for r in runs:
        for k, lv in enumerate(r.meta.metrics):
            name = r.meta.label.split(", matched")[0][:33] if k == 0 else ""
            print(
                f"{name:<34}{k:>3}{lv.clusters:>6}{lv.singleton_share:>7.3f}{lv.largest_share:>8.3f}"
                f"{fmt(lv.cohesion):>7}{fmt(lv.cohesion_chance):>7}{fmt(lv.token_coherence):>7}"
                f"{fmt(lv.token_coherence_chance):>7}{fmt(lv.silhouette):>7}{fmt(lv.order_ari):>7}"
                f"{fmt(lv.seed_ari):>7}{fmt(lv.subsample_ari):>7}"
            )
    agg = next((r for r in runs if r.meta.method == "agglomerative"), None)
    if agg is None:
        return
    a, g = best.meta.metrics[0], agg.meta.metrics[0]
    goals = [
        ("level-0 order stability ≥ 0.8", a.order_ari is not None and a.order_ari >= 0.8),
        (
            f"level-0 subsample stability ≥ 0.9 × agglomerative's ({fmt(a.subsample_ari)} vs "
            f"{fmt(0.9 * g.subsample_ari if g.subsample_ari is not None else None)})",
            a.subsample_ari is not None and a.subsample_ari >= 0.9 * g.subsample_ari,
        ),
        (
            f"level-0 cohesion ≥ agglomerative's − 0.01 ({fmt(a.cohesion)} vs {fmt(g.cohesion)})",
            a.cohesion >= g.cohesion - 0.01,
        ),
        (
            f"level-0 token coherence ≥ agglomerative's − 0.01 ({fmt(a.token_coherence)} vs "
            f"{fmt(g.token_coherence)})",
            a.token_coherence >= g.token_coherence - 0.01,
        ),
        (f"level-0 silhouette > 0 ({fmt(a.silhouette)})", (a.silhouette or 0) > 0),
        (
            f"level-0 singletons ≤ agglomerative's + 0.03 ({a.singleton_share:.3f} vs "
            f"{g.singleton_share:.3f})",
            a.singleton_share <= g.singleton_share + 0.03,
        ),
        (
            "every level ≤ 60 % singletons ("
            + " / ".join(f"{lv.singleton_share:.2f}" for lv in best.meta.metrics)
            + ")",
            all(lv.singleton_share <= 0.6 for lv in best.meta.metrics),
        ),
    ]
    for text, ok in goals:
        print(f"  [{'x' if ok else ' '}] {text}")


def planted(work: Path) -> None:
    """A 5 → 15 → 45 tree: each run's ARI per level against the truth, and which run the
    recommender picks."""
    import sys

    from sklearn.metrics import adjusted_rand_score

    sys.path.insert(0, str(ROOT))  # the tests' fixtures build the tiny lens model
    from generator.artifacts import load
    from generator.pipeline import analyze
    from generator.synthetic import make_planted_hierarchy
    from tests.conftest import fixture_config
    from tests.fixtures import build_causal_lm

    p = make_planted_hierarchy((5, 3, 3), d=64, per_leaf=20, seed=3)
    d = work / "planted"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    np.save(d / "W.npy", p.X)
    lm = build_causal_lm(d / "lm")
    cfg = fixture_config(
        d / "W.npy",
        lm,
        sae={"path": str(d / "W.npy"), "hookpoint": None},
        pca={"dims": [None]},
        selection={"junk": {"classes": ["special"]}},
        sweep={
            "methods": [
                {"name": "art"},
                {"name": "agglomerative", "params": {"k": "matched"}},
            ],
            "rho_sets": [[0.2, 0.5, 0.8], [0.3, 0.6, 0.85]],
            "hierarchy": ["nested"],
        },
    )
    a = load(analyze(cfg, d / "out"))
    print("\nplanted 5 → 15 → 45 (1,800 unit vectors, 64 dims): ARI per level against the truth")
    for rid in a.run_ids:
        r = a.run(rid)
        feats = r.features
        aris = [adjusted_rand_score(p.labels[feats, k], r.labels()[:, k]) for k in range(3)]
        mark = "  <- recommended" if rid == a.manifest.recommended.run else ""
        print(f"  {rid:<48} " + " / ".join(f"{x:.2f}" for x in aris) + mark)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--layers", type=int, nargs="+", default=[3, 1])
    ap.add_argument("--no-planted", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("SPARSIFY_DISABLE_TRITON", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print(machine())
    work = ROOT / "benchmarks" / "out"
    for layer in args.layers:
        table(analyse_layer(layer, work))
    if not args.no_planted:
        planted(work)


if __name__ == "__main__":
    main()
