"""Phase one of the site build: the whole site as data, from the artifacts alone.

`build_model` decides every page, its template and its context, and every figure and data
file; templates only lay the context out. Nothing here touches Jinja, MkDocs or the disk
outside the artifacts, so the model is tested directly. The run and family pages are
laid out in `run_pages.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from generator.artifacts import Artifacts, Col, Manifest, Recommendation, RunArtifacts
from generator.checks import on_random_baseline
from generator.site import figures
from generator.site.evolution_pages import card_data, ends_with, evolution_pages
from generator.site.page import Page, SiteOptions, html_path, run_dir
from generator.site.run_pages import (
    RunSummary,
    cluster_pages,
    pages_for_run,
    run_page,
    run_summary,
)


@dataclass
class SiteModel:
    options: SiteOptions
    pages: list[Page]
    figures: dict[str, dict[str, Any]]  # figure id -> {"data", "layout", "meta"}
    data: dict[str, Any]  # data file id -> JSON-able
    nav: list[Any]
    manifest: Manifest | None = field(default=None)


def options_from(manifest: Manifest) -> SiteOptions:
    """Site options from the config recorded in the manifest (validated by its classes)."""
    from generator.config import InterpretConfig, SiteConfig

    site = SiteConfig.model_validate(manifest.config.get("site", {}))
    interpret = InterpretConfig.model_validate(manifest.config.get("interpret", {}))
    return SiteOptions(
        title=site.title,
        description=site.description,
        page_levels=site.page_levels,
        min_page_size=site.min_page_size,
        max_cluster_pages=site.max_cluster_pages,
        members_shown=interpret.members_shown,
        url=site.url,
    )


def build_model(arts: Artifacts, options: SiteOptions | None = None) -> SiteModel:
    opts = options or options_from(arts.manifest)
    features = arts.features
    feat_tokens = dict(
        zip(features[Col.FEATURE].tolist(), [list(t) for t in features["top_tokens"]])
    )
    runs = arts.runs()
    pages: list[Page] = []
    figs: dict[str, dict[str, Any]] = {}
    evolution_nav, cards = [], []
    for e in arts.evolutions():
        ev_pages, ev_paged = evolution_pages(e, opts, figs)
        pages.extend(ev_pages)
        evolution_nav.append({e.name: ev_pages[0].path})
        if ends_with(e, arts.manifest.sae_hash):
            cards.append(card_data(e, ev_paged))
    summaries = []
    page_index: dict[str, dict[int, dict[int, str]]] = {}
    for r in runs:
        paged = pages_for_run(r, opts, budget=max(10, opts.max_cluster_pages // max(len(runs), 1)))
        page_index[r.run_id] = paged
        summaries.append(run_summary(r))
        pages.append(run_page(r, paged, opts, figs, features))
        pages.extend(cluster_pages(r, paged, opts, feat_tokens, cards))
    pages.insert(0, home_page(arts.manifest, summaries, figs))
    pages.insert(1, sweep_page(summaries, figs, arts.manifest.recommended))
    pages.insert(
        2, Page("lookup.md", "lookup.md.j2", "Feature cards", {"n_features": len(features)})
    )
    pages.insert(3, method_page(arts.manifest))
    data = {"features": {**lookup_data(features, runs, page_index), "evolutions": cards}}
    if features["umap_x"].notna().any():
        data["umap"] = figures.umap_base(features)
    nav = [
        {"Home": "index.md"},
        {"Sweep": "sweep.md"},
        {"Runs": [{s.run_id: f"{run_dir(s.run_id)}/index.md"} for s in summaries]},
        *([{"Evolution": evolution_nav}] if evolution_nav else []),
        {"Feature cards": "lookup.md"},
        {"Method": "method.md"},
        {"Reading guide": "reading.md"},
        {
            "Reference": [
                {"Artifacts": "reference/artifacts.md"},
                {"Configuration": "reference/config.md"},
            ]
        },
    ]
    return SiteModel(opts, pages, figs, data, nav, arts.manifest)


def home_page(manifest: Manifest, runs: list[RunSummary], figs: dict[str, Any]) -> Page:
    figs["decoder-structure"] = figures.decoder_structure(manifest.decoder_structure)
    rec = manifest.recommended
    rec_run = next((r for r in runs if rec and r.run_id == rec.run), None)
    best_art = next((r for r in runs if rec and r.run_id == rec.best_art), None)
    comparison = [best_art] + [r for r in runs if best_art and r.matched_to == best_art.run_id]
    if rec_run is not None and rec_run not in comparison:
        comparison.append(rec_run)
    return Page(
        "index.md",
        "home.md.j2",
        "Home",
        {
            "manifest": manifest,
            "sae_source": manifest.sae_source,
            "layernorm": manifest.config.get("lens", {}).get("layernorm", "gamma"),
            "runs": runs,
            "recommended": rec,
            "recommended_run": rec_run,
            "best_art": best_art,
            "comparison": [r for r in comparison if r is not None],
            "n_runs": len(runs),
            "selection": manifest.selection,
            "structure": manifest.decoder_structure,
            "on_random_baseline": on_random_baseline(manifest.decoder_structure),
            "landscape": manifest.pca.landscape,
        },
    )


def sweep_page(
    runs: list[RunSummary], figs: dict[str, Any], recommended: Recommendation | None
) -> Page:
    figs["sweep-quality"] = figures.sweep_quality(
        runs, {r.run_id: html_path(r.link) for r in runs}, recommended and recommended.run
    )
    figs["sweep-clusters"] = figures.sweep_clusters(runs)
    rec = next((r for r in runs if recommended and r.run_id == recommended.run), None)
    ranked = sorted(runs, key=lambda r: -r.score)
    return Page(
        "sweep.md",
        "sweep.md.j2",
        "Sweep",
        {"runs": ranked, "recommended": recommended, "recommended_run": rec},
    )


def method_page(manifest: Manifest) -> Page:
    import yaml

    return Page(
        "method.md",
        "method.md.j2",
        "Method and provenance",
        {
            "config_yaml": yaml.safe_dump(manifest.config, sort_keys=False),
            "generator": manifest.generator,
            "sae": manifest.sae,
            "lens": manifest.lens,
            "runs": manifest.runs,
        },
    )


def _r3(values: Any) -> list[float]:
    return [round(float(v), 3) for v in values]


def lookup_data(
    features: pd.DataFrame,
    runs: list[RunArtifacts],
    page_index: dict[str, dict[int, dict[int, str]]],
) -> dict[str, Any]:
    """What the feature cards draw: every feature's own top and bottom tokens (indices into
    one vocabulary) with logits, its nearest features, and its family path in every run,
    with each family's size and stability."""
    vocab: dict[str, int] = {}

    def ids(tokens: Any) -> list[int]:
        return [vocab.setdefault(s, len(vocab)) for s in list(tokens)]

    out_runs = []
    for r in runs:
        pages = {
            str(lv): {str(c): html_path(p) for c, p in d.items()}
            for lv, d in page_index[r.run_id].items()
        }
        families = {
            f"{row.level}:{row.cluster}": [
                row.size,
                -1 if np.isnan(row.stability) else round(row.stability, 2),
                int(row.catch_all),
            ]
            for row in r.cluster_rows()
        }
        out_runs.append(
            {
                "id": r.run_id,
                "label": r.meta.label,
                "levels": r.meta.n_levels,
                "paths": {
                    "feature": r.features.astype(int).tolist(),
                    "labels": r.labels().T.astype(int).tolist(),
                },
                "pages": pages,
                "parents": figures.parents_data(r),
                "families": families,
                "run_page": html_path(f"{run_dir(r.run_id)}/index.md"),
            }
        )
    return {
        "top": [ids(t) for t in features["top_tokens"]],
        "top_logits": [_r3(v) for v in features["top_logits"]],
        "bottom": [ids(t) for t in features["bottom_tokens"]],
        "bottom_logits": [_r3(v) for v in features["bottom_logits"]],
        "neighbours": [list(map(int, v)) for v in features["neighbours"]],
        "neighbour_cos": [_r3(v) for v in features["neighbour_cos"]],
        "vocab": list(vocab),
        "junk": features["junk"].astype(int).tolist(),
        "kept": features["kept"].astype(int).tolist(),
        "runs": out_runs,
    }
