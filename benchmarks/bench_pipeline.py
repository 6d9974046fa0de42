"""`saetax analyze` at Pythia-410M size: per-stage seconds and peak memory for one run.

A random 65,536 × 1,024 decoder (sparsify layout) and a one-layer GPT-NeoX lens with
Pythia's vocabulary shape (50,304 unembedding rows, 50,277 tokens) are built under
benchmarks/out, then one run is analysed (cosine ART, nested, rho 0.2/0.5/0.8, no PCA,
UMAP on). Goal: peak RSS under 8 GB.

    python benchmarks/bench_pipeline.py            # full size
    python benchmarks/bench_pipeline.py --n 8192   # smaller
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def build_lens(folder: Path, d: int, vocab_rows: int, n_tokens: int) -> Path:
    """A GPT-NeoX with one layer and a word-level tokenizer of `n_tokens` entries."""
    if (folder / "config.json").exists():
        return folder
    import torch
    import transformers
    from tokenizers import Tokenizer, models, pre_tokenizers

    folder.mkdir(parents=True, exist_ok=True)
    vocab = {f"w{i}": i for i in range(n_tokens - 1)}
    vocab["<|endoftext|>"] = n_tokens - 1
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<|endoftext|>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|endoftext|>", unk_token="<|endoftext|>"
    )
    fast.save_pretrained(folder)
    cfg = transformers.GPTNeoXConfig(
        vocab_size=vocab_rows,
        hidden_size=d,
        num_hidden_layers=1,
        num_attention_heads=16,
        intermediate_size=4 * d,
        max_position_embeddings=128,
        tie_word_embeddings=False,
    )
    torch.manual_seed(0)
    transformers.GPTNeoXForCausalLM(cfg).save_pretrained(folder)
    return folder


def build_sae(folder: Path, n: int, d: int) -> Path:
    if (folder / "layers.12.mlp" / "cfg.json").exists():
        return folder
    import torch
    from sparsify import Sae, SaeConfig

    W = np.random.default_rng(0).standard_normal((n, d)).astype(np.float32)
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    sae = Sae(d, SaeConfig(num_latents=n, k=32), decoder=True)
    with torch.no_grad():
        sae.W_dec.copy_(torch.from_numpy(W))
    sae.save_to_disk(folder / "layers.12.mlp")
    return folder


class PeakRss:
    """Samples this process's resident memory every 50 ms."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        while not self._stop.is_set():
            with open("/proc/self/statm") as f:
                self.peak = max(self.peak, int(f.read().split()[1]) * page)
            time.sleep(0.05)

    def __enter__(self) -> PeakRss:
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=65_536)
    ap.add_argument("--d", type=int, default=1024)
    ap.add_argument("--no-umap", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("SPARSIFY_DISABLE_TRITON", "1")
    work = ROOT / "benchmarks" / "out" / f"pipeline-{args.n}x{args.d}"
    t0 = time.perf_counter()
    lens = build_lens(work / "lens", args.d, 50_304, 50_277)
    sae = build_sae(work / "sae", args.n, args.d)
    print(f"inputs ready in {time.perf_counter() - t0:.0f} s: {sae}, {lens}")

    from generator.config import parse_config
    from generator.pipeline import analyze

    cfg = parse_config(
        {
            "sae": {"path": str(sae), "hookpoint": "layers.12.mlp"},
            "lens": {"model": str(lens)},
            "pca": {"dims": [None]},
            "sweep": {"rho_sets": [[0.2, 0.5, 0.8]], "hierarchy": ["nested"], "stability": False},
            "umap": {"enabled": not args.no_umap},
        }
    )
    out = work / "analysis"
    import shutil

    shutil.rmtree(out, ignore_errors=True)
    from generator.progress import Recorder
    from generator.report import cpu_name

    rec = Recorder()
    with PeakRss() as rss:
        t0 = time.perf_counter()
        arts = analyze(cfg, out, rec)
        wall = time.perf_counter() - t0
    run = json.loads(next((arts / "runs").glob("*/run.json")).read_text())
    print(f"\nanalyze, {args.n} x {args.d} decoder, 50,304-row lens, one run: {wall:.0f} s wall")
    print(f"CPU: {cpu_name()}")
    for s in rec.steps:
        print(f"  {s.name:<14} {s.seconds:8.1f} s")
    print(f"  clusters per level: {run['clusters_per_level']}")
    print(
        f"peak RSS (sampled): {rss.peak / 2**30:.2f} GB; ru_maxrss: "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GB; goal < 8 GB"
    )


if __name__ == "__main__":
    main()
