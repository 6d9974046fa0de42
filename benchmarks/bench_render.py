"""`saetax render` on a 32,768-feature artifact set: build time, page count, total size.

The artifacts come from a real analysis (generated once under benchmarks/out): a planted
20 → 160 → 960 family tree of 32,768 unit directions in 64 dims, read through a tiny
GPT-NeoX lens, swept over 5 PCA settings × 2 ART modules (10 runs, 3 levels each).
Goal: the render finishes in under 2 minutes on this CPU.

    python benchmarks/bench_render.py
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_artifacts(work: Path, n: int) -> Path:
    out = work / "out"
    if (out / "artifacts" / "manifest.json").exists():
        return out
    from generator.config import parse_config
    from generator.pipeline import analyze
    from generator.synthetic import make_planted_hierarchy
    from tests import fixtures

    lens = (
        fixtures.build_causal_lm(work / "lens")
        if not (work / "lens" / "config.json").exists()
        else work / "lens"
    )
    per_leaf = int(np.ceil(n / (20 * 8 * 6)))
    p = make_planted_hierarchy(
        (20, 8, 6), d=fixtures.D_MODEL, per_leaf=per_leaf, level_cos=(0.75, 0.88), sample_cos=0.93
    )
    np.save(work / "W.npy", p.X[:n])
    cfg = parse_config(
        {
            "sae": {"path": str(work / "W.npy")},
            "lens": {"model": str(lens)},
            "selection": {"junk": {"classes": ["special"]}},
            "pca": {"dims": [None, 16, 32, 48, 60]},
            "sweep": {
                "modules": [{"name": "cosine"}, {"name": "fuzzy"}],
                "rho_sets": [[0.3, 0.6, 0.85]],
                "hierarchy": ["nested"],
            },
        }
    )
    t0 = time.perf_counter()
    analyze(cfg, out)
    print(f"artifacts generated in {time.perf_counter() - t0:.0f} s")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=32_768)
    args = ap.parse_args()
    os.environ.setdefault("SPARSIFY_DISABLE_TRITON", "1")
    work = ROOT / "benchmarks" / "out" / f"render-{args.n}"
    work.mkdir(parents=True, exist_ok=True)
    out = make_artifacts(work, args.n)
    shutil.rmtree(out / "site", ignore_errors=True)

    from generator.artifacts import load
    from generator.site import render_site

    arts = load(out)
    t0 = time.perf_counter()
    site = render_site(out, strict=True)
    wall = time.perf_counter() - t0
    pages = list(site.rglob("*.html"))
    total = sum(f.stat().st_size for f in site.rglob("*") if f.is_file())
    figs = sum(f.stat().st_size for f in (site / "assets" / "figs").glob("*.js"))
    biggest = max(pages, key=lambda f: f.stat().st_size)
    print(
        f"\nrender of {len(arts.features):,} features, {len(arts.run_ids)} runs: {wall:.1f} s (goal < 120 s)"
    )
    print(
        f"  pages: {len(pages):,} html; largest {biggest.relative_to(site)} {biggest.stat().st_size / 1e3:.0f} kB"
    )
    print(
        f"  total size: {total / 1e6:.1f} MB (figure side files {figs / 1e6:.1f} MB, artifacts copy included)"
    )


if __name__ == "__main__":
    main()
