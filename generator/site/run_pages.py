"""The run pages and the family (cluster) pages of the site model, from one run's artifacts.

Which families get a page is decided once per run (`pages_for_run`); every other family is
shown inside its parent's page (level 0: inside the run page).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from generator.artifacts import ClusterRow, Col, LevelMetrics, RunArtifacts, RunMeta
from generator.site import figures
from generator.site.page import Page, SiteOptions, cluster_path, html_path, link, rel, run_dir


@dataclass
class RunSummary:
    """A run as the sweep table, the home page and the run page header show it."""

    run_id: str
    link: str
    method: str
    short: str  # method and PCA setting, e.g. "art pca64": a point's label in plots
    label: str
    level_param: str | None
    level_values: list[Any]
    pca_dims: int | str
    explained_variance: float
    seed: int
    clusters_per_level: list[int]
    largest_share: float
    level0: LevelMetrics
    stability: float | None  # level 0: the weakest of its order, seed and subsample ARIs
    score: float  # the recommender's level-weighted quality
    levels: list[LevelMetrics]
    art: bool  # the run reports ART diagnostics (match, founders)
    matched_to: str | None


@dataclass
class Family:
    """A cluster as a table row: its numbers, its tokens, and its page if it has one."""

    cluster: int
    level: int
    size: int
    n_children: int
    tokens: list[str]
    scores: list[float]
    cohesion: float
    cohesion_chance: float
    distinctiveness: float
    token_coherence: float
    token_coherence_chance: float
    stability: float | None  # best-match Jaccard across subsample refits
    catch_all: bool
    mean_match: float | None
    link: str | None
    member_ids: list[int] | None = None
    members: list[Member] | None = None
    grandchildren: list[Family] | None = None


@dataclass
class Member:
    """A member feature on a family page: its centrality, (ART) how it joined, and how many
    of its own top tokens are the family's (0 marks an outlier)."""

    feature: int
    tokens: list[str]
    cos: float
    founder: bool | None  # None: the method has no founders
    match: float | None
    shared: int | None = None  # own top tokens among the family's
    link: str | None = None  # its feature card


def run_summary(r: RunArtifacts) -> RunSummary:
    from generator.recommend import run_score

    m: RunMeta = r.meta
    return RunSummary(
        run_id=m.run_id,
        link=f"{run_dir(m.run_id)}/index.md",
        method=m.method,
        short=f"{m.method} {'raw' if m.pca_dims is None else f'pca{m.pca_dims}'}",
        label=m.label,
        level_param=m.level_param,
        level_values=m.level_values,
        pca_dims="raw" if m.pca_dims is None else m.pca_dims,
        explained_variance=m.explained_variance,
        seed=m.seed,
        clusters_per_level=m.clusters_per_level,
        largest_share=m.metrics[0].largest_share,
        level0=m.metrics[0],
        stability=None if m.metrics[0].weakest_ari is None else max(0.0, m.metrics[0].weakest_ari),
        score=run_score(m.metrics),
        levels=m.metrics,
        art=r.column(Col.created(0)) is not None,
        matched_to=m.matched_to,
    )


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


def _family(row: ClusterRow, tokens_shown: int, link_to: str | None) -> Family:
    return Family(
        cluster=row.cluster,
        level=row.level,
        size=row.size,
        n_children=row.n_children,
        tokens=row.tokens[:tokens_shown],
        scores=row.token_scores[:tokens_shown],
        cohesion=row.cohesion,
        cohesion_chance=row.cohesion_chance,
        distinctiveness=row.distinctiveness,
        token_coherence=row.token_coherence,
        token_coherence_chance=row.token_coherence_chance,
        stability=None if np.isnan(row.stability) else row.stability,
        catch_all=row.catch_all,
        mean_match=None if np.isnan(row.mean_match) else row.mean_match,
        link=link_to,
    )


def run_page(
    r: RunArtifacts,
    paged: dict[int, dict[int, str]],
    opts: SiteOptions,
    figs: dict[str, Any],
    features: pd.DataFrame,
) -> Page:
    path = f"{run_dir(r.run_id)}/index.md"
    level0 = sorted(
        (row for row in r.cluster_rows() if row.level == 0), key=lambda x: (-x.size, x.cluster)
    )
    rows = [
        _family(row, opts.tokens_shown, link(path, paged.get(0, {}).get(row.cluster)))
        for row in level0
    ]
    small = {row.cluster for row in rows if row.link is None}
    a = r.assignments[r.assignments[Col.level(0)].isin(small)]
    ids = a.groupby(Col.level(0))[Col.FEATURE].agg(lambda f: sorted(f.tolist())).to_dict()
    for row in rows:  # families without a page list their members here
        row.member_ids = ids.get(row.cluster, [])
    sun_id, umap_id = f"sunburst-{r.run_id}", f"umap-{r.run_id}"
    page_urls = {lv: {k: html_path(v) for k, v in d.items()} for lv, d in paged.items()}
    figs[sun_id] = figures.sunburst(r, page_urls)
    has_map = features["umap_x"].notna().any()
    if has_map:
        figs[umap_id] = figures.umap_scatter(r, features, page_urls)
    ctx = {
        "run": run_summary(r),
        "card": html_path(rel(path, "lookup.md")),
        "level0": rows,
        "sunburst": sun_id,
        "umap": umap_id if has_map else None,
        "n_pages": sum(len(v) for v in paged.values()),
    }
    return Page(path, "run.md.j2", r.run_id, ctx)


class RunIndex:
    """One run's clusters and members arranged for fast page building (built once)."""

    def __init__(self, r: RunArtifacts, opts: SiteOptions):
        self.r, self.opts = r, opts
        self.L = r.meta.n_levels
        self.feature = r.features
        self.labels = r.labels()
        self.cos = np.stack([r.column(Col.cos(k)) for k in range(self.L)], axis=1)
        art = r.column(Col.created(0)) is not None
        self.match = (
            np.stack([r.column(Col.match(k)) for k in range(self.L)], axis=1) if art else None
        )
        self.created = (
            np.stack([r.column(Col.created(k)) for k in range(self.L)], axis=1) if art else None
        )
        self.rows = {(row.level, row.cluster): row for row in r.cluster_rows()}
        # (level, cluster) → its children, largest first; the level-0 families are the
        # children of (-1, -1), so siblings are found the same way at every level
        self.children: dict[tuple[int, int], list[ClusterRow]] = {}
        for row in sorted(self.rows.values(), key=lambda x: (-x.size, x.cluster)):
            self.children.setdefault((row.level - 1, row.parent), []).append(row)
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
        return self._order[level][self._start[level][cluster] : self._start[level][cluster + 1]]

    def member_rows(
        self,
        idx: np.ndarray,
        level: int,
        feat_tokens: dict[int, list[str]],
        page: str,
        family_tokens: list[str] | None = None,
    ) -> list[Member]:
        """Members at rows `idx`, linked to their feature cards from `page`."""
        card = html_path(rel(page, "lookup.md"))
        fam = set(family_tokens or [])
        out = []
        for i in idx:
            f = int(self.feature[i])
            founder = None if self.created is None else bool(self.created[i, level])
            own = feat_tokens[f]
            out.append(
                Member(
                    f,
                    own[:6],
                    float(self.cos[i, level]),
                    founder,
                    None if founder is None or founder else float(self.match[i, level]),
                    len(fam & set(own)) if family_tokens is not None else None,
                    f"{card}#feature={f}",
                )
            )
        return out


def cluster_pages(
    r: RunArtifacts,
    paged: dict[int, dict[int, str]],
    opts: SiteOptions,
    feat_tokens: dict[int, list[str]],
    evolutions: list[dict[str, Any]] | None = None,
) -> list[Page]:
    """`evolutions`: the feature-card data of evolutions that end with this SAE; a family
    page then says in which evolving families its members are, and since when."""
    ix = RunIndex(r, opts)
    pages = []
    for lv, d in paged.items():
        for cl, path in d.items():
            ctx = cluster_context(ix, lv, cl, paged, feat_tokens, path)
            members = ix.feature[ix.members(lv, cl)]
            ctx["evolutions"] = [_evolving(ev, members, path) for ev in evolutions or []]
            pages.append(Page(path, "cluster.md.j2", f"{r.run_id} · L{lv} c{cl}", ctx))
    return pages


def _evolving(ev: dict[str, Any], members: np.ndarray, path: str) -> dict[str, Any]:
    """The evolution's level-0 families holding a family's members, largest share first."""
    index = dict(zip(ev["feature"], ev["family"]))
    fams = [index[int(f)] for f in members if int(f) in index]
    counts = sorted(((fams.count(c), c) for c in set(fams)), key=lambda t: (-t[0], t[1]))[:3]
    root = rel(path, "index.md")[: -len("index.md")]
    return {
        "name": ev["name"],
        "overview": root + ev["overview"],
        "families": [
            {
                "category": c,
                "members": n,
                "since": ev["since"][str(c)],
                "link": root + ev["pages"][str(c)] if str(c) in ev["pages"] else None,
            }
            for n, c in counts
        ],
    }


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
    p_lv, p_cl = lv - 1, row.parent
    while p_lv >= 0:
        crumbs.insert(
            0, {"level": p_lv, "cluster": p_cl, "link": link(path, paged.get(p_lv, {}).get(p_cl))}
        )
        p_cl = ix.rows[(p_lv, p_cl)].parent
        p_lv -= 1
    kid_rows = []
    kids = ix.children.get((lv, cl), [])
    detailed = 0
    for k in kids[: opts.max_children_listed]:
        kr = _family(k, opts.tokens_shown, link(path, paged.get(lv + 1, {}).get(k.cluster)))
        kr.members, kr.grandchildren = [], []
        if kr.link is None and detailed < opts.max_children_detailed:  # deeper levels live here
            detailed += 1
            kr.members = ix.member_rows(
                ix.members(lv + 1, k.cluster)[:10], lv + 1, feat_tokens, path, k.tokens
            )
            kr.grandchildren = [
                _family(g, opts.tokens_shown, None)
                for g in ix.children.get((lv + 1, k.cluster), [])[:20]
            ]
        kid_rows.append(kr)
    sibs = [s for s in ix.children[(lv - 1, row.parent)] if s.cluster != cl] if lv > 0 else []
    nearest = [
        (_family(ix.rows[(lv, c)], opts.tokens_shown, link(path, paged.get(lv, {}).get(c))), cos)
        for c, cos in zip(row.nearest, row.nearest_cos)
    ]
    members = ix.members(lv, cl)
    return {
        "run_id": r.run_id,
        "run_link": rel(path, f"{run_dir(r.run_id)}/index.md"),
        "art": ix.created is not None,
        "cluster": _family(row, len(row.tokens), None),
        "mean_margin": None if np.isnan(row.mean_margin) else row.mean_margin,
        "global_overlap": row.global_overlap,
        "crumbs": crumbs,
        "children": kid_rows,
        "children_more": max(0, len(kids) - opts.max_children_listed),
        "children_more_size": int(sum(k.size for k in kids[opts.max_children_listed :])),
        "child_level": lv + 1 if lv + 1 < ix.L else None,
        "siblings": [
            _family(s, opts.tokens_shown, link(path, paged.get(lv, {}).get(s.cluster)))
            for s in sibs[:20]
        ],
        "nearest": nearest,
        "bottom": list(zip(row.bottom_tokens, row.bottom_scores)),
        "members": ix.member_rows(
            members[: opts.members_shown], lv, feat_tokens, path, row.tokens[:10]
        ),
        "n_members": int(len(members)),
    }
