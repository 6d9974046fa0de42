"""`saetax analyze`: the stage graph, run in dependency order through the cache.

    decoder ─► lens ─► selection ─► pca ─► run (per spec, on an executor) ─► interpret ─► artifacts
                                └──► umap          decoder ─► decoder_stats, neighbours

Each stage is a module of `generator.stages`; the cache keys it by its parameters and
its inputs' content hashes, so a changed vigilance recomputes one run and its
interpretation, nothing else, and a killed analysis resumes from what finished.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from generator import assemble
from generator.artifacts import ArtifactSet, write
from generator.cache import Cache, Entry, text_hash
from generator.config import Config, SaeConfig, check_against_data
from generator.errors import resolve_device
from generator.follow import chosen_run, follow
from generator.sources.lens import LensHandle
from generator.sources.sae import SaeDecoder
from generator.stages import (
    decoder_stats,
    interpret,
    lens,
    neighbours,
    pca,
    runs,
    selection,
    umap,
)
from generator.sweep import grid, make_executor, matched

NEIGHBOURS = 10  # nearest features listed on each feature's card


def analyze(cfg: Config, out_dir: Path) -> Path:
    """Run every stage (cached under OUT/cache) and write OUT/artifacts."""
    cache, device, seconds = Cache(Path(out_dir) / "cache"), resolve_device(cfg.device), {}

    def timed(stage: str, entry: Entry) -> Entry:
        seconds[stage] = round(seconds.get(stage, 0.0) + entry.seconds, 3)
        return entry

    dec = load_decoder(cfg)
    W, w_key = dec.W_dec, dec.content_hash
    lc = cfg.lens
    handle = LensHandle(lc.model, lc.kind, lc.revision)
    lens_in = lens.LensIn(
        W, w_key, dec.identity.label, handle, lc.layernorm, lc.top_k, lc.chunk_rows, device
    )
    lens_e = timed("lens", cache.run(lens, lens_in))
    sc = cfg.selection
    sel_in = selection.SelectionIn(lens_e.value, lens_e.key, sc.junk, sc.max_features, cfg.seed)
    sel_e = timed("selection", cache.run(selection, sel_in))
    selected = sel_e.value.selected
    check_against_data(cfg, n_rows=len(selected), d_in=W.shape[1])
    W_sel = np.ascontiguousarray(W[selected])
    rows = selection.SelectedRows(W_sel, w_key, sel_e.key)
    pca_e = timed("pca", cache.run(pca, pca.PcaIn(rows, cfg.seed)))
    xy = None
    if cfg.umap.enabled:
        u = cfg.umap
        umap_in = umap.UmapIn(rows, u.n_neighbors, u.min_dist, cfg.seed)
        xy = timed("umap", cache.run(umap, umap_in)).value
    stats_in = decoder_stats.DecoderStatsIn(W, w_key, cfg.metrics.nn_sample, cfg.seed)
    structure = timed("decoder_stats", cache.run(decoder_stats, stats_in)).value
    near_in = neighbours.NeighboursIn(W, w_key, NEIGHBOURS)
    near = timed("neighbours", cache.run(neighbours, near_in)).value

    X = {dims: pca_e.value.project(W_sel, dims) for dims in cfg.pca.dims}
    x_key = {dims: text_hash(pca_e.key, str(dims)) for dims in cfg.pca.dims}
    executor = make_executor(cfg.sweep.executor, cfg.sweep.workers)

    def fit(specs: list) -> list:
        ins = [runs.RunIn(s, X[s.pca_dims], x_key[s.pca_dims]) for s in specs]
        return list(zip(specs, runs.fit_all(cache, ins, executor)))

    fitted = fit(grid(cfg))  # then the baselines at the K of each ART run
    fitted += fit(matched(cfg, [(s, e.value) for s, e in fitted]))
    own_ids = lens_e.value.table.top_ids[selected]
    out = []
    for spec, run_e in fitted:
        timed("runs", run_e)
        interp_in = interpret.InterpretIn(
            run_e.value, run_e.key, W, W_sel, own_ids, X[spec.pca_dims], handle, lens_e.key,
            lc.layernorm, cfg.interpret.top_k, cfg.metrics.silhouette_sample, cfg.seed, device,
        )  # fmt: skip
        interp = timed("interpret", cache.run(interpret, interp_in, label=spec.run_id)).value
        explained = pca_e.value.explained(spec.pca_dims)
        out.append(
            assemble.run_artifacts(
                spec, run_e.value, interp, explained, selected, lens_e.value.tokens
            )
        )
    features = assemble.features_frame(lens_e.value, sel_e.value, xy, near)
    manifest = assemble.manifest(
        cfg, dec, lens_e.value, sel_e.value, pca_e.value, structure, seconds, out
    )
    specs = {s.run_id: s for s, _ in fitted}
    best_art = manifest.recommended.best_art if manifest.recommended else None
    evolutions = [
        follow(cache, cfg, ev, chosen_run(ev, specs, best_art), handle, device, timed)
        for ev in cfg.evolution
    ]
    manifest = dataclasses.replace(manifest, stage_seconds=dict(sorted(seconds.items())))
    return write(out_dir, ArtifactSet(manifest, features, out, evolutions))


def load_decoder(cfg: Config, sae: SaeConfig | None = None) -> SaeDecoder:
    """The SAE's decoder as the config names it (`sae`: another SAE section, paths relative
    to the same config file)."""
    from generator.sources.sae import load_sae

    s = sae or cfg.sae
    return load_sae(
        repo=s.repo,
        path=None if s.path is None else cfg.resolve_path(s.path),
        hookpoint=s.hookpoint,
        revision=s.revision,
        tensor=s.tensor,
    )
