"""The artifact set from the stages' outputs: features.parquet, each run's three files and
the manifest. Only layout happens here; every number was computed by a stage."""

from __future__ import annotations

import numpy as np
import pandas as pd

from generator import __version__
from generator.artifacts import (
    Col,
    DecoderStructure,
    GeneratorInfo,
    Manifest,
    PcaInfo,
    RunArtifacts,
    RunMeta,
    SelectionInfo,
)
from generator.config import Config
from generator.lens import decode
from generator.methods import RunResult, get_method
from generator.recommend import recommend
from generator.reduce import PcaFit
from generator.sources.sae import SaeDecoder
from generator.stages.interpret import Interpretation
from generator.stages.lens import LensOut
from generator.stages.neighbours import Neighbours
from generator.stages.selection import Selection
from generator.sweep import RunSpec

PACKAGES = (
    "torch",
    "numpy",
    "numba",
    "scikit-learn",
    "umap-learn",
    "transformers",
    "eai-sparsify",
    "artlib",
    "pandas",
    "pyarrow",
)


def features_frame(
    lens: LensOut, sel: Selection, xy: np.ndarray | None, near: Neighbours
) -> pd.DataFrame:
    """One row per SAE feature: kept or junk, its own tokens, its place on the map, its
    nearest features."""
    n = sel.n_features
    kept = np.zeros(n, bool)
    kept[sel.selected] = True
    ux = np.full(n, np.nan, np.float32)
    uy = np.full(n, np.nan, np.float32)
    if xy is not None:
        ux[sel.selected], uy[sel.selected] = xy[:, 0], xy[:, 1]
    t = lens.table
    return pd.DataFrame(
        {
            Col.FEATURE: np.arange(n, dtype=np.int64),
            "kept": kept,
            "junk": sel.junk.astype(bool),
            "junk_count": sel.junk_count.astype(np.int32),
            "top_tokens": decode(t.top_ids, lens.tokens),
            "top_logits": t.top_logits.astype(float).tolist(),
            "bottom_tokens": decode(t.bottom_ids, lens.tokens),
            "bottom_logits": t.bottom_logits.astype(float).tolist(),
            "umap_x": ux,
            "umap_y": uy,
            "neighbours": near.ids.tolist(),
            "neighbour_cos": near.cos.astype(float).tolist(),
        }
    )


def run_artifacts(
    spec: RunSpec,
    r: RunResult,
    interp: Interpretation,
    explained: float,
    selected: np.ndarray,
    tokens: list[str],
) -> RunArtifacts:
    """run.json, assignments.parquet and clusters.parquet of one run."""
    L = r.labels.shape[1]
    assign = {Col.FEATURE: selected.astype(np.int64)}
    for k in range(L):
        assign[Col.level(k)] = r.labels[:, k]
    d = r.diagnostics
    for k in range(L):
        if d is not None:
            assign[Col.match(k)] = d.match[:, k]
            assign[Col.margin(k)] = d.margin[:, k]
            assign[Col.created(k)] = d.created[:, k]
        assign[Col.cos(k)] = interp.member_cos[:, k]
    desc = get_method(spec.method).describe(spec.params)
    meta = RunMeta(
        run_id=spec.run_id,
        method=spec.method,
        params=spec.params,
        label=desc.label,
        level_param=desc.level_param,
        level_values=desc.level_values if r.level_values is None else r.level_values,
        pca_dims=spec.pca_dims,
        explained_variance=explained,
        seed=spec.seed,
        stability=spec.stability,
        n_levels=L,
        clusters_per_level=list(r.n_clusters),
        metrics=interp.levels,
        matched_to=spec.params.get("matched_to"),
    )
    clusters = interp.clusters.copy()
    for ids, strings in (("token_ids", "tokens"), ("bottom_token_ids", "bottom_tokens")):
        clusters.insert(clusters.columns.get_loc(ids), strings, decode(clusters[ids], tokens))
    return RunArtifacts(meta, pd.DataFrame(assign), clusters)


def manifest(
    cfg: Config,
    dec: SaeDecoder,
    lens: LensOut,
    sel: Selection,
    pca: PcaFit,
    structure: DecoderStructure,
    runs: list[RunArtifacts],
) -> Manifest:
    """Provenance, what was analysed, and the recommended run."""
    return Manifest(
        generator=generator_info(),
        config=cfg.model_dump(mode="json"),
        sae=dec.identity,
        sae_source=cfg.sae.repo or cfg.sae.path or dec.identity.location,
        lens=lens.identity,
        selection=SelectionInfo(sel.n_features, int(sel.junk.sum()), int(len(sel.selected))),
        pca=PcaInfo(pca.landscape(), pca.explained_variance_ratio[:256].tolist()),
        decoder_structure=structure,
        recommended=recommend(runs),
        sae_hash=dec.content_hash,
    )


def generator_info() -> GeneratorInfo:
    return GeneratorInfo("art-sae-taxonomy", __version__, package_versions())


def package_versions() -> dict[str, str]:
    """Installed versions of the packages whose code shapes the artifacts."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in PACKAGES:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out
