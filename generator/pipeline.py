"""`saetax analyze`: the stage graph, run in dependency order through the cache.

    decoder ─► lens ─► selection ─► pca ─► run (per spec, on an executor) ─► interpret ─► artifacts
                                └──► umap          decoder ─► decoder_stats, neighbours

Each stage is a module of `generator.stages`; the cache keys it by its parameters and
its inputs' content hashes, so a changed vigilance recomputes one run and its
interpretation, nothing else, and a killed analysis resumes from what finished.

With `sae.hookpoints` every hookpoint is prepared in turn (each with its own cache
entries) and its runs are submitted to the executor's session as soon as it is prepared:
a cluster fits them while the next hookpoints are prepared (an executor without a
session runs them all in one batch after the last). Each hookpoint's artifact set is
written under one model (`artifacts.write_model`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from generator import assemble, progress
from generator.artifacts import ArtifactSet, ModelMeta, write, write_model
from generator.cache import Cache, Entry, text_hash
from generator.config import Config, SaeConfig, check_against_data
from generator.errors import resolve_device
from generator.executors import make_executor, open_session
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
from generator.sweep import RunSpec, grid, matched

NEIGHBOURS = 10  # nearest features listed on each feature's card


@dataclass
class Prepared:
    """One hookpoint's analysis up to its runs: every stage the runs read, and the runs'
    inputs (X per PCA setting, with its content hash)."""

    cfg: Config
    name: str  # the hookpoint in a model build, "" for a single one
    dec: SaeDecoder
    handle: LensHandle
    lens_e: Entry
    sel_e: Entry
    pca_e: Entry
    xy: Any
    structure: Any
    near: Any
    W_sel: np.ndarray
    X: dict[int | None, np.ndarray]
    x_key: dict[int | None, str]

    def run_in(self, spec: RunSpec) -> runs.RunIn:
        return runs.RunIn(spec, self.X[spec.pca_dims], self.x_key[spec.pca_dims])


def analyze(cfg: Config, out_dir: Path, recorder: Recorder | None = None) -> Path:
    """Run every stage (cached under OUT/cache) and write OUT/artifacts: one artifact set,
    or with `sae.hookpoints` one per hookpoint under a model (see `write_model`).

    `recorder` collects cache hits and timings (for the log lines and build.json); the
    artifacts themselves hold no timings, so the same config gives the same bytes."""
    cache, device = Cache(Path(out_dir) / "cache"), resolve_device(cfg.device)
    rec = recorder or Recorder()
    hookpoints = model_hookpoints(cfg) if cfg.multi_hookpoint else [None]
    preps: list[Prepared] = []
    # each hookpoint's runs are submitted as soon as it is prepared: a cluster fits them
    # while the next hookpoints are prepared
    with open_session(make_executor(cfg.sweep)) as session:
        sweep = runs.Sweep(cache, session)
        arts = []
        for hp in hookpoints:
            p = prepare(cfg if hp is None else cfg.for_hookpoint(hp), hp or "", cache, rec, device)
            preps.append(p)
            specs = grid(p.cfg)
            arts.append((p, specs, sweep.add([p.run_in(s) for s in specs])))
            sweep.store_ready()
        with step_of(rec, "runs", preps):  # every hookpoint's runs on the executor together
            fitted = record(rec, arts, sweep)
        baselines = []  # at each ART run's clusters per level
        for p in preps:
            specs = matched(p.cfg, [(s, e.value) for q, s, e in fitted if q is p])
            if specs:
                baselines.append((p, specs, sweep.add([p.run_in(s) for s in specs])))
        if baselines:
            with step_of(rec, "baselines at matched K", preps):
                fitted += record(rec, baselines, sweep)
    sets = [finish(p, [(s, e) for q, s, e in fitted if q is p], cache, rec, device) for p in preps]
    with rec.step("artifacts"):
        if not cfg.multi_hookpoint:
            return write(out_dir, sets[0])
        return write_model(out_dir, model_meta(cfg, preps), dict(zip(hookpoints, sets)))


def model_hookpoints(cfg: Config) -> list[str]:
    """The hookpoints of a model build, as listed or (`all`) as the SAE source has them."""
    from generator.sources.sae import hookpoints_of

    s = cfg.sae
    if s.hookpoints != "all":
        return list(s.hookpoints or [])
    path = None if s.path is None else cfg.resolve_path(s.path)
    return hookpoints_of(repo=s.repo, path=path, revision=s.revision)


def step_of(rec: Recorder, name: str, preps: list[Prepared]) -> Any:
    return rec.step(name if len(preps) == 1 else f"{name} (all hookpoints)")


def prepare(cfg: Config, name: str, cache: Cache, rec: Recorder, device: str) -> Prepared:
    """Decoder, lens, selection, PCA, UMAP, decoder statistics: everything before the runs."""
    add = rec.add

    def step(what: str) -> Any:
        return rec.step(f"{what} {name}" if name else what)

    with step("decoder"):
        dec = load_decoder(cfg)
    W, w_key = dec.W_dec, dec.content_hash
    check_against_data(cfg, n_rows=W.shape[0], d_in=W.shape[1], rows="features")  # before the lens
    lc = cfg.lens
    handle = LensHandle(lc.model, lc.kind, lc.revision, cfg.lens_location())
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
            umap_in = umap.UmapIn(rows, u.n_neighbors, u.min_dist, cfg.seed)
            xy = add("umap", cache.run(umap, umap_in)).value
    with step("decoder stats"):
        stats_in = decoder_stats.DecoderStatsIn(W, w_key, cfg.metrics.nn_sample, cfg.seed)
        structure = add("decoder_stats", cache.run(decoder_stats, stats_in)).value
        near_in = neighbours.NeighboursIn(W, w_key, NEIGHBOURS)
        near = add("neighbours", cache.run(neighbours, near_in)).value
    X = {dims: pca_e.value.project(W_sel, dims) for dims in cfg.pca.dims}
    x_key = {dims: text_hash(pca_e.key, str(dims)) for dims in cfg.pca.dims}
    return Prepared(
        cfg, name, dec, handle, lens_e, sel_e, pca_e, xy, structure, near, W_sel, X, x_key
    )


def record(
    rec: Recorder, added: list[tuple[Prepared, list[RunSpec], range]], sweep: runs.Sweep
) -> list[tuple[Prepared, RunSpec, Entry]]:
    """Wait for the runs `added` to the sweep; count each and note its times."""
    entries = sweep.wait(range(added[0][2].start, added[-1][2].stop))
    out = []
    for (p, spec), e in zip([(p, s) for p, specs, _ in added for s in specs], entries):
        rec.add(runs.NAME, e)
        rec.runs[f"{p.name}/{spec.run_id}" if p.name else spec.run_id] = {
            "method": spec.method,
            "cached": e.hit,
            "fit_seconds": round(e.value.fit_seconds, 3),  # the first fit
            "seconds": round(e.seconds, 3),  # with the stability refits
        }
        out.append((p, spec, e))
    return out


def finish(
    p: Prepared, fitted: list[tuple[RunSpec, Entry]], cache: Cache, rec: Recorder, device: str
) -> ArtifactSet:
    """Interpret every run of one hookpoint, follow its evolutions, and assemble its set."""
    cfg, lc, add = p.cfg, p.cfg.lens, rec.add
    selected = p.sel_e.value.selected
    own_ids = p.lens_e.value.table.top_ids[selected]
    W = p.dec.W_dec
    out = []
    name = f"interpret {p.name}" if p.name else "interpret"
    with rec.step(name) as st, progress.bar(len(fitted), name, unit="run") as bar:
        for spec, run_e in fitted:
            interp_in = interpret.InterpretIn(
                run_e.value, run_e.key, W, p.W_sel, own_ids, p.X[spec.pca_dims], p.handle,
                p.lens_e.key, lc.layernorm, cfg.interpret.top_k, cfg.metrics.silhouette_sample,
                cfg.seed, device,
            )  # fmt: skip
            interp = add("interpret", cache.run(interpret, interp_in, label=spec.run_id)).value
            explained = p.pca_e.value.explained(spec.pca_dims)
            out.append(
                assemble.run_artifacts(
                    spec, run_e.value, interp, explained, selected, p.lens_e.value.tokens
                )
            )
            bar.update(1)
        st.detail = f"{len(out)} run{'' if len(out) == 1 else 's'}"
    features = assemble.features_frame(p.lens_e.value, p.sel_e.value, p.xy, p.near)
    manifest = assemble.manifest(
        cfg, p.dec, p.lens_e.value, p.sel_e.value, p.pca_e.value, p.structure, out
    )
    specs = {s.run_id: s for s, _ in fitted}
    best_art = manifest.recommended.best_art if manifest.recommended else None
    evolutions = []
    for ev in cfg.evolution:
        with rec.step(f"evolution {ev.name}"):
            run = chosen_run(ev, specs, best_art)
            evolutions.append(follow(cache, cfg, ev, run, p.handle, device, add))
    return ArtifactSet(manifest, features, out, evolutions)


def model_meta(cfg: Config, preps: list[Prepared]) -> ModelMeta:
    """model.json: the model build's config and its hookpoints, in build order."""
    return ModelMeta(
        generator=assemble.generator_info(),
        config=cfg.model_dump(mode="json"),
        sae_source=cfg.sae.repo or cfg.sae.path or preps[0].dec.identity.location,
        hookpoints=[p.name for p in preps],
    )


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
