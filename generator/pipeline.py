"""`saetax analyze`: the stage graph, run in dependency order through the cache.

    decoder ─► lens ─► selection ─► pca ─► run (per spec, on an executor) ─► interpret ─► artifacts
                                └──► umap          decoder ─► decoder_stats, neighbours

Each stage is a module of `generator.stages`; the cache keys it by its parameters and
its inputs' content hashes, so a changed vigilance recomputes one run and its
interpretation, nothing else, and a killed analysis resumes from what finished.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from generator import assemble, progress
from generator.artifacts import ArtifactSet, write
from generator.cache import Cache, text_hash
from generator.config import Config, SaeConfig, check_against_data
from generator.errors import resolve_device
from generator.executors import make_executor
from generator.follow import chosen_run, follow
from generator.progress import Recorder
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
from generator.sweep import grid, matched

NEIGHBOURS = 10  # nearest features listed on each feature's card


def analyze(cfg: Config, out_dir: Path, recorder: Recorder | None = None) -> Path:
    """Run every stage (cached under OUT/cache) and write OUT/artifacts.

    `recorder` collects cache hits and timings (for the log lines and build.json); the
    artifacts themselves hold no timings, so the same config gives the same bytes."""
    cache, device = Cache(Path(out_dir) / "cache"), resolve_device(cfg.device)
    rec = recorder or Recorder()
    add, step = rec.add, rec.step

    with step("decoder"):
        dec = load_decoder(cfg)
    W, w_key = dec.W_dec, dec.content_hash
    lc = cfg.lens
    handle = LensHandle(lc.model, lc.kind, lc.revision)
    lens_in = lens.LensIn(
        W, w_key, dec.identity.label, handle, lc.layernorm, lc.top_k, lc.chunk_rows, device
    )
    with step("lens"):
        lens_e = add("lens", cache.run(lens, lens_in))
    sc = cfg.selection
    sel_in = selection.SelectionIn(lens_e.value, lens_e.key, sc.junk, sc.max_features, cfg.seed)
    with step("selection"):
        sel_e = add("selection", cache.run(selection, sel_in))
    selected = sel_e.value.selected
    check_against_data(cfg, n_rows=len(selected), d_in=W.shape[1])
    W_sel = np.ascontiguousarray(W[selected])
    rows = selection.SelectedRows(W_sel, w_key, sel_e.key)
    with step("pca"):
        pca_e = add("pca", cache.run(pca, pca.PcaIn(rows, cfg.seed)))
    xy = None
    if cfg.umap.enabled:
        u = cfg.umap
        with step("umap"):
            xy = add(
                "umap", cache.run(umap, umap.UmapIn(rows, u.n_neighbors, u.min_dist, cfg.seed))
            )
            xy = xy.value
    with step("decoder stats"):
        stats_in = decoder_stats.DecoderStatsIn(W, w_key, cfg.metrics.nn_sample, cfg.seed)
        structure = add("decoder_stats", cache.run(decoder_stats, stats_in)).value
        near_in = neighbours.NeighboursIn(W, w_key, NEIGHBOURS)
        near = add("neighbours", cache.run(neighbours, near_in)).value

    X = {dims: pca_e.value.project(W_sel, dims) for dims in cfg.pca.dims}
    x_key = {dims: text_hash(pca_e.key, str(dims)) for dims in cfg.pca.dims}
    executor = make_executor(cfg.sweep)

    def fit(specs: list) -> list:
        ins = [runs.RunIn(s, X[s.pca_dims], x_key[s.pca_dims]) for s in specs]
        fitted = list(zip(specs, runs.fit_all(cache, ins, executor)))
        for spec, e in fitted:
            add(runs.NAME, e)
            rec.runs[spec.run_id] = {
                "method": spec.method,
                "cached": e.hit,
                "fit_seconds": round(e.value.fit_seconds, 3),  # the first fit
                "seconds": round(e.seconds, 3),  # with the stability refits
            }
        return fitted

    with step("runs"):
        fitted = fit(grid(cfg))
    baselines = matched(cfg, [(s, e.value) for s, e in fitted])  # at each ART run's K
    if baselines:
        with step("baselines at matched K"):
            fitted += fit(baselines)
    own_ids = lens_e.value.table.top_ids[selected]
    out = []
    with step("interpret") as st, progress.bar(len(fitted), "interpret", unit="run") as bar:
        for spec, run_e in fitted:
            interp_in = interpret.InterpretIn(
                run_e.value, run_e.key, W, W_sel, own_ids, X[spec.pca_dims], handle, lens_e.key,
                lc.layernorm, cfg.interpret.top_k, cfg.metrics.silhouette_sample, cfg.seed, device,
            )  # fmt: skip
            interp = add("interpret", cache.run(interpret, interp_in, label=spec.run_id)).value
            explained = pca_e.value.explained(spec.pca_dims)
            out.append(
                assemble.run_artifacts(
                    spec, run_e.value, interp, explained, selected, lens_e.value.tokens
                )
            )
            bar.update(1)
        st.detail = f"{len(out)} run{'' if len(out) == 1 else 's'}"
    features = assemble.features_frame(lens_e.value, sel_e.value, xy, near)
    manifest = assemble.manifest(cfg, dec, lens_e.value, sel_e.value, pca_e.value, structure, out)
    specs = {s.run_id: s for s, _ in fitted}
    best_art = manifest.recommended.best_art if manifest.recommended else None
    evolutions = []
    for ev in cfg.evolution:
        with step(f"evolution {ev.name}"):
            run = chosen_run(ev, specs, best_art)
            evolutions.append(follow(cache, cfg, ev, run, handle, device, add))
    with step("artifacts"):
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
