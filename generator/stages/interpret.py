"""Stage `interpret`: every cluster of one run read through the differential logit lens,
with its metrics, and the run's headline numbers per level."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from generator.artifacts import LevelMetrics, from_json, to_json
from generator.lens import NormMode
from generator.methods import RunResult
from generator.sources.lens import LensHandle

NAME = "interpret"
VERSION = 5  # 5: bottom tokens and nearest families


@dataclass(frozen=True, eq=False)
class InterpretIn:
    run: RunResult
    run_key: str
    W: np.ndarray  # (n_features, d_in) every decoder row: the global mean direction
    W_sel: np.ndarray  # (n_selected, d_in) the clustered rows, in the SAE's own space
    own_ids: np.ndarray  # (n_selected, k) each clustered feature's own top token ids
    X: np.ndarray  # (n_selected, dims) what the run clustered (for the silhouette)
    lens: LensHandle
    lens_key: str
    layernorm: NormMode
    top_k: int
    silhouette_sample: int
    seed: int
    device: str


@dataclass
class Interpretation:
    clusters: pd.DataFrame  # clusters.parquet without token strings
    levels: list[LevelMetrics]
    member_cos: np.ndarray  # (n_selected, n_levels) cosine of each member to its cluster mean


def key(inp: InterpretIn) -> tuple[dict, dict]:
    params = {
        "top_k": inp.top_k,
        "layernorm": inp.layernorm,
        "silhouette_sample": inp.silhouette_sample,
        "seed": inp.seed,
    }
    return params, {"run": inp.run_key, "lens": inp.lens_key}


def compute(inp: InterpretIn) -> Interpretation:
    from generator.interpret import cluster_frame, interpret_run, level_metrics
    from generator.lens import lens_topk

    lens = inp.lens.get()
    global_mean = inp.W.mean(axis=0, dtype=np.float64)
    g = lens_topk(
        global_mean[None].astype(np.float32), lens, inp.layernorm, inp.top_k, device=inp.device
    )
    tables = interpret_run(
        inp.run,
        inp.W_sel,
        inp.own_ids,
        global_mean,
        lens,
        inp.layernorm,
        inp.top_k,
        set(g.top_ids[0].tolist()),
        device=inp.device,
        seed=inp.seed,
    )
    levels = level_metrics(tables, inp.run, inp.X, inp.silhouette_sample, inp.seed)
    member_cos = np.stack([t.member_cos for t in tables], axis=1)
    return Interpretation(cluster_frame(tables), levels, member_cos)


def save(out: Interpretation, folder: Path) -> None:
    out.clusters.to_parquet(folder / "clusters.parquet", index=False)
    np.save(folder / "member_cos.npy", out.member_cos)
    (folder / "levels.json").write_text(json.dumps([to_json(lv) for lv in out.levels]))


def load(folder: Path) -> Interpretation:
    levels = json.loads((folder / "levels.json").read_text())
    return Interpretation(
        pd.read_parquet(folder / "clusters.parquet"),
        [from_json(LevelMetrics, lv) for lv in levels],
        np.load(folder / "member_cos.npy"),
    )
