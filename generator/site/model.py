"""Phase one of the site build: the whole site as data, from the artifacts alone.

`build_model` decides every page, its template and its context, and every figure and data
file; templates only lay the context out. Nothing here touches Jinja, MkDocs or the disk
outside the artifacts, so the model is tested directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from generator.artifacts import Artifacts, RunArtifacts
from generator.site import figures


@dataclass
class Page:
    """One Markdown page: where it goes, which template lays it out, and its context."""

    path: str  # relative to docs_dir, e.g. "runs/<id>/L0/c3.md"
    template: str
    title: str
    context: dict[str, Any]


@dataclass
class SiteOptions:
    title: str = "SAE feature taxonomy"
    description: str = ""
    page_levels: int = 2
    min_page_size: int = 3
    max_cluster_pages: int = 2500
    max_children_listed: int = 150
    max_children_detailed: int = 20
    members_shown: int = 50
    tokens_shown: int = 8


@dataclass
class SiteModel:
    options: SiteOptions
    pages: list[Page]
    figures: dict[str, dict[str, Any]]  # figure id -> {"data", "layout", "meta"}
    data: dict[str, Any]  # data file id -> JSON-able
    nav: list[Any]
    manifest: dict[str, Any] = field(default_factory=dict)


def options_from(manifest: dict[str, Any]) -> SiteOptions:
    """Site options from the config recorded in the manifest."""
    cfg = manifest.get("config", {})
    site = cfg.get("site", {})
    return SiteOptions(
        title=site.get("title", SiteOptions.title),
        description=site.get("description", ""),
        page_levels=site.get("page_levels", 2),
        min_page_size=site.get("min_page_size", 3),
        max_cluster_pages=site.get("max_cluster_pages", 2500),
        members_shown=cfg.get("interpret", {}).get("members_shown", 50),
    )


# ---------------------------------------------------------------------------------------
# paths


def run_dir(run_id: str) -> str:
    return f"runs/{run_id}"


def cluster_path(run_id: str, level: int, cluster: int) -> str:
    return f"runs/{run_id}/L{level}/c{cluster}.md"


def html_path(md_path: str) -> str:
    """Where MkDocs writes a page (the offline plugin turns directory URLs off)."""
    return md_path[: -len(".md")] + ".html"


def rel(from_md: str, to_md: str) -> str:
    """A relative link between two pages, as Markdown source wants it."""
    import posixpath

    return posixpath.relpath(to_md, posixpath.dirname(from_md) or ".")


# ---------------------------------------------------------------------------------------
# the model


def build_model(arts: Artifacts, options: SiteOptions | None = None) -> SiteModel:
    opts = options or options_from(arts.manifest)
    features = arts.features
    feat_tokens = dict(zip(features["feature"].tolist(), [list(t) for t in features["top_tokens"]]))
    runs = arts.runs()
    pages: list[Page] = []
    figs: dict[str, dict[str, Any]] = {}
    run_entries = []
    page_index: dict[str, dict[int, dict[int, str]]] = {}
    for r in runs:
        paged = pages_for_run(r, opts, budget=max(10, opts.max_cluster_pages // max(len(runs), 1)))
        page_index[r.run_id] = paged
        run_entries.append(run_summary(r))
        pages.append(run_page(r, paged, opts, figs, features))
        pages.extend(cluster_pages(r, paged, opts, feat_tokens))
    pages.insert(0, home_page(arts.manifest, run_entries, features, figs))
    pages.insert(1, sweep_page(run_entries, figs))
    pages.insert(
        2, Page("lookup.md", "lookup.md.j2", "Feature lookup", {"n_features": len(features)})
    )
    pages.insert(3, method_page(arts.manifest))
    data = {"features": lookup_data(features, runs, page_index)}
    if features["umap_x"].notna().any():
        data["umap"] = figures.umap_base(features)
    nav = [
        {"Home": "index.md"},
        {"Sweep": "sweep.md"},
        {"Runs": [{r["run_id"]: f"{run_dir(r['run_id'])}/index.md"} for r in run_entries]},
        {"Feature lookup": "lookup.md"},
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


def pages_for_run(r: RunArtifacts, opts: SiteOptions, budget: int) -> dict[int, dict[int, str]]:
    """level → cluster → page path, for the clusters that get their own page: coarsest
    levels first, then the largest clusters, at most `budget` of them."""
    c = r.clusters
    cand = c[(c["level"] < opts.page_levels) & (c["size"] >= opts.min_page_size)]
    cand = cand.sort_values(["level", "size", "cluster"], ascending=[True, False, True]).head(
        budget
    )
    out: dict[int, dict[int, str]] = {}
    for lv, cl in zip(cand["level"].tolist(), cand["cluster"].tolist()):
        out.setdefault(lv, {})[cl] = cluster_path(r.run_id, lv, cl)
    return out


def _mean(levels: list[dict[str, Any]], key: str) -> float | None:
    vals = [lv[key] for lv in levels if lv.get(key) is not None]
    return float(np.mean(vals)) if vals else None


def run_summary(r: RunArtifacts) -> dict[str, Any]:
    m = r.meta
    levels = m["metrics"]
    return {
        "run_id": r.run_id,
        "link": f"{run_dir(r.run_id)}/index.md",
        "module": m["module"],
        "hierarchy": m["hierarchy"],
        "pca_dims": "raw" if m["pca_dims"] is None else m["pca_dims"],
        "explained_variance": m["explained_variance"],
        "rho_values": m["rho_values"],
        "seed": m["seed"],
        "clusters_per_level": m["clusters_per_level"],
        "largest_share": levels[0]["largest_share"],
        "cohesion": _mean(levels, "cohesion"),
        "distinctiveness": _mean(levels, "distinctiveness"),
        "stability": _mean(levels, "stability_ari"),
        "silhouette": _mean(levels, "silhouette"),
        "fit_seconds": m["fit_seconds"],
        "levels": levels,
    }


def _cluster_row(row: Any, opts: SiteOptions, link: str | None) -> dict[str, Any]:
    return {
        "cluster": int(row.cluster),
        "level": int(row.level),
        "size": int(row.size),
        "n_children": int(row.n_children),
        "tokens": list(row.tokens)[: opts.tokens_shown],
        "scores": [float(s) for s in list(row.token_scores)[: opts.tokens_shown]],
        "cohesion": float(row.cohesion),
        "distinctiveness": float(row.distinctiveness),
        "mean_match": None if np.isnan(row.mean_match) else float(row.mean_match),
        "link": link,
    }


def run_page(
    r: RunArtifacts,
    paged: dict[int, dict[int, str]],
    opts: SiteOptions,
    figs: dict[str, Any],
    features: pd.DataFrame,
) -> Page:
    path = f"{run_dir(r.run_id)}/index.md"
    c = r.clusters
    level0 = c[c["level"] == 0].sort_values(["size", "cluster"], ascending=[False, True])
    rows = [
        _cluster_row(row, opts, _link(path, paged.get(0, {}).get(int(row.cluster))))
        for row in level0.itertuples()
    ]
    small = {row["cluster"] for row in rows if row["link"] is None}
    a = r.assignments[r.assignments["level_0"].isin(small)]
    ids = a.groupby("level_0")["feature"].agg(lambda f: sorted(f.tolist())).to_dict()
    for row in rows:  # families without a page list their members here
        row["member_ids"] = ids.get(row["cluster"], [])
    sun_id, umap_id = f"sunburst-{r.run_id}", f"umap-{r.run_id}"
    page_urls = {lv: {k: html_path(v) for k, v in d.items()} for lv, d in paged.items()}
    figs[sun_id] = figures.sunburst(r, page_urls)
    has_map = features["umap_x"].notna().any()
    if has_map:
        base = features.loc[features["kept"], "feature"].sort_values().astype(int).tolist()
        figs[umap_id] = figures.umap_scatter(r, base, page_urls)
    ctx = {
        "run": run_summary(r),
        "meta": r.meta,
        "level0": rows,
        "sunburst": sun_id,
        "umap": umap_id if has_map else None,
        "n_pages": sum(len(v) for v in paged.values()),
    }
    return Page(path, "run.md.j2", r.run_id, ctx)


def _link(from_md: str, to_md: str | None) -> str | None:
    return None if to_md is None else rel(from_md, to_md)


class RunIndex:
    """One run's clusters and members arranged for fast page building (built once)."""

    def __init__(self, r: RunArtifacts, opts: SiteOptions):
        self.r, self.opts = r, opts
        a = r.assignments
        self.L = r.meta["n_levels"]
        self.feature = a["feature"].to_numpy()
        self.labels = np.stack([a[f"level_{k}"].to_numpy() for k in range(self.L)], axis=1)
        self.cos = np.stack([a[f"cos_{k}"].to_numpy() for k in range(self.L)], axis=1)
        self.match = np.stack([a[f"match_{k}"].to_numpy() for k in range(self.L)], axis=1)
        self.created = np.stack([a[f"created_{k}"].to_numpy() for k in range(self.L)], axis=1)
        self.rows = {(int(row.level), int(row.cluster)): row for row in r.clusters.itertuples()}
        # (level, cluster) → its children, largest first; the level-0 families are the
        # children of (-1, -1), so siblings are found the same way at every level
        self.children: dict[tuple[int, int], list[Any]] = {}
        for row in sorted(self.rows.values(), key=lambda x: (-x.size, x.cluster)):
            self.children.setdefault((int(row.level) - 1, int(row.parent)), []).append(row)
        # per level: members sorted by cluster, then centrality (most central first), then id
        self._order, self._start = [], []
        for k in range(self.L):
            order = np.lexsort((self.feature, -self.cos[:, k], self.labels[:, k]))
            sorted_labels = self.labels[order, k]
            n_c = int(sorted_labels.max()) + 1 if len(sorted_labels) else 0
            self._order.append(order)
            self._start.append(np.searchsorted(sorted_labels, np.arange(n_c + 1)))

    def members(self, level: int, cluster: int) -> np.ndarray:
        """Row positions of a cluster's members, most central first."""
        idx = self._order[level][self._start[level][cluster] : self._start[level][cluster + 1]]
        return idx

    def member_rows(
        self, idx: np.ndarray, level: int, feat_tokens: dict[int, list[str]]
    ) -> list[dict[str, Any]]:
        return [
            {
                "feature": int(self.feature[i]),
                "tokens": feat_tokens[int(self.feature[i])][:6],
                "cos": float(self.cos[i, level]),
                "founder": bool(self.created[i, level]),
                "match": None if self.created[i, level] else float(self.match[i, level]),
            }
            for i in idx
        ]


def cluster_pages(
    r: RunArtifacts,
    paged: dict[int, dict[int, str]],
    opts: SiteOptions,
    feat_tokens: dict[int, list[str]],
) -> list[Page]:
    ix = RunIndex(r, opts)
    return [
        Page(
            path,
            "cluster.md.j2",
            f"{r.run_id} · L{lv} c{cl}",
            cluster_context(ix, lv, cl, paged, feat_tokens, path),
        )
        for lv, d in paged.items()
        for cl, path in d.items()
    ]


def cluster_context(
    ix: RunIndex,
    lv: int,
    cl: int,
    paged: dict[int, dict[int, str]],
    feat_tokens: dict[int, list[str]],
    path: str,
) -> dict[str, Any]:
    r, opts, row = ix.r, ix.opts, ix.rows[(lv, cl)]
    crumbs = []
    p_lv, p_cl = lv - 1, int(row.parent)
    while p_lv >= 0:
        crumbs.insert(
            0, {"level": p_lv, "cluster": p_cl, "link": _link(path, paged.get(p_lv, {}).get(p_cl))}
        )
        p_cl = int(ix.rows[(p_lv, p_cl)].parent)
        p_lv -= 1
    kid_rows = []
    kids = ix.children.get((lv, cl), [])
    detailed = 0
    for k in kids[: opts.max_children_listed]:
        kr = _cluster_row(k, opts, _link(path, paged.get(lv + 1, {}).get(int(k.cluster))))
        kr["members"], kr["grandchildren"] = [], []
        if kr["link"] is None and detailed < opts.max_children_detailed:  # deeper levels live here
            detailed += 1
            kr["members"] = ix.member_rows(
                ix.members(lv + 1, int(k.cluster))[:10], lv + 1, feat_tokens
            )
            kr["grandchildren"] = [
                _cluster_row(g, opts, None)
                for g in ix.children.get((lv + 1, int(k.cluster)), [])[:20]
            ]
        kid_rows.append(kr)
    sibs = [s for s in ix.children[(lv - 1, int(row.parent))] if int(s.cluster) != cl]
    members = ix.members(lv, cl)
    return {
        "run_id": r.run_id,
        "run_link": rel(path, f"{run_dir(r.run_id)}/index.md"),
        "cluster": _cluster_row(row, SiteOptions(tokens_shown=len(row.tokens)), None),
        "mean_margin": None if np.isnan(row.mean_margin) else float(row.mean_margin),
        "global_overlap": float(row.global_overlap),
        "crumbs": crumbs,
        "children": kid_rows,
        "children_more": max(0, len(kids) - opts.max_children_listed),
        "children_more_size": int(sum(k.size for k in kids[opts.max_children_listed :])),
        "child_level": lv + 1 if lv + 1 < ix.L else None,
        "siblings": [
            _cluster_row(s, opts, _link(path, paged.get(lv, {}).get(int(s.cluster))))
            for s in sibs[:20]
        ],
        "members": ix.member_rows(members[: opts.members_shown], lv, feat_tokens),
        "n_members": int(len(members)),
    }


def home_page(
    manifest: dict[str, Any],
    runs: list[dict[str, Any]],
    features: pd.DataFrame,
    figs: dict[str, Any],
) -> Page:
    figs["decoder-structure"] = figures.decoder_structure(manifest["decoder_structure"])
    rec = manifest.get("recommended")
    rec_run = next((r for r in runs if rec and r["run_id"] == rec["run"]), None)
    return Page(
        "index.md",
        "home.md.j2",
        "Home",
        {
            "manifest": manifest,
            "sae_source": sae_source(manifest),
            "runs": runs,
            "recommended": rec,
            "recommended_run": rec_run,
            "n_runs": len(runs),
            "selection": manifest["selection"],
            "structure": manifest["decoder_structure"],
            "landscape": manifest["pca"]["landscape"],
        },
    )


def sae_source(manifest: dict[str, Any]) -> str:
    """Where the SAE came from, as the config names it (a hub repo, or the path as written,
    so a published site does not show the build machine's folders)."""
    sae = manifest["sae"]
    if sae["kind"] == "hub":
        return sae["location"]
    return manifest["config"]["sae"].get("path") or Path(sae["location"]).name


def sweep_page(runs: list[dict[str, Any]], figs: dict[str, Any]) -> Page:
    figs["sweep-quality"] = figures.sweep_quality(
        runs, {r["run_id"]: html_path(r["link"]) for r in runs}
    )
    figs["sweep-clusters"] = figures.sweep_clusters(runs)
    return Page("sweep.md", "sweep.md.j2", "Sweep", {"runs": runs})


def method_page(manifest: dict[str, Any]) -> Page:
    import yaml

    return Page(
        "method.md",
        "method.md.j2",
        "Method and provenance",
        {
            "config_yaml": yaml.safe_dump(manifest["config"], sort_keys=False),
            "generator": manifest["generator"],
            "stage_seconds": manifest["stage_seconds"],
            "sae": manifest["sae"],
            "lens": manifest["lens"],
            "runs": manifest["runs"],
        },
    )


def lookup_data(
    features: pd.DataFrame,
    runs: list[RunArtifacts],
    page_index: dict[str, dict[int, dict[int, str]]],
) -> dict[str, Any]:
    """Compact lookup table: token vocabulary, tokens per feature, cluster path per run."""
    vocab: dict[str, int] = {}
    toks = []
    for t in features["top_tokens"]:
        toks.append([vocab.setdefault(s, len(vocab)) for s in list(t)[:6]])
    out_runs = []
    for r in runs:
        a = r.assignments
        L = r.meta["n_levels"]
        paths = {
            "feature": a["feature"].astype(int).tolist(),
            "labels": [a[f"level_{k}"].astype(int).tolist() for k in range(L)],
        }
        pages = {
            str(lv): {str(c): html_path(p) for c, p in d.items()}
            for lv, d in page_index[r.run_id].items()
        }
        parents = {
            f"{int(lv)}:{int(c)}": int(p)
            for lv, c, p in zip(r.clusters["level"], r.clusters["cluster"], r.clusters["parent"])
        }
        out_runs.append(
            {
                "id": r.run_id,
                "levels": L,
                "paths": paths,
                "pages": pages,
                "parents": parents,
                "run_page": html_path(f"{run_dir(r.run_id)}/index.md"),
            }
        )
    return {
        "vocab": list(vocab),
        "tokens": toks,
        "junk": features["junk"].astype(int).tolist(),
        "kept": features["kept"].astype(int).tolist(),
        "runs": out_runs,
    }
