"""The evolution pages: an overview per evolution (what each snapshot did, how ART's view
agrees with decoder matching, which families were there from the start, appeared late or
died, family flows as a Sankey) and a timeline page per level-0 family."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from generator.artifacts import EvolutionArtifacts
from generator.site import figures
from generator.site.page import Page, SiteOptions, html_path, rel

TOP_FAMILIES = 12  # families listed per group on the overview
TIMELINE_PAGES = 150  # level-0 families with a timeline page, largest first (site size)


@dataclass
class Timeline:
    """One category across the snapshots."""

    level: int
    category: int
    first: str  # label of the snapshot that founded it
    last: str  # label of the last snapshot with members
    members: list[int]  # per snapshot
    drift: list[float | None]  # per snapshot: cosine of its prototype before and after
    tokens: list[list[str]]  # per snapshot
    link: str | None


def evolution_dir(name: str) -> str:
    return f"evolution/{name}"


def family_path(name: str, category: int) -> str:
    return f"{evolution_dir(name)}/L0/c{category}.md"


def evolution_pages(
    e: EvolutionArtifacts, opts: SiteOptions, figs: dict[str, Any]
) -> tuple[list[Page], dict[int, str]]:
    """The overview and the level-0 timelines; also category → timeline page."""
    labels = [s.label for s in e.meta.snapshots]
    c0 = e.categories[e.categories["level"] == 0]
    largest = [max(m) for m in c0["members"]]
    big = c0.assign(_n=largest)[np.array(largest) >= opts.min_page_size]
    big = big.sort_values(["_n", "category"], ascending=[False, True]).head(TIMELINE_PAGES)
    paged = {int(c): family_path(e.name, int(c)) for c in big["category"]}
    overview = f"{evolution_dir(e.name)}/index.md"
    timelines = {int(r.category): _timeline(r, labels, None) for r in c0.itertuples()}
    fig_id = f"sankey-{e.name}"
    figs[fig_id] = figures.sankey(e, labels, {c: html_path(p) for c, p in paged.items()})
    last = len(labels) - 1
    groups = {
        "from the start, still there": [t for t in timelines.values() if t.first == labels[0] and t.last == labels[-1]],
        "appeared later": [t for t in timelines.values() if t.first != labels[0]],
        "died (no member in the last snapshot)": [t for t in timelines.values() if t.last != labels[-1]],
    }  # fmt: skip
    for ts in groups.values():
        ts.sort(key=lambda t: (-max(t.members), t.category))
        for t in ts:
            t.link = rel(overview, paged[t.category]) if t.category in paged else None
    ctx = {
        "e": e.meta,
        "labels": labels,
        "sankey": fig_id,
        "groups": {k: (len(v), v[:TOP_FAMILIES]) for k, v in groups.items()},
        "n_families": len(timelines),
        "last": last,
    }
    pages = [Page(overview, "evolution.md.j2", f"Evolution {e.name}", ctx)]
    for c, path in paged.items():
        t = timelines[c]
        kids = e.categories[(e.categories["level"] == 1) & (e.categories["parent"] == c)]
        children = sorted(
            (_timeline(r, labels, None) for r in kids.itertuples()),
            key=lambda k: (-max(k.members), k.category),
        )
        pages.append(
            Page(
                path,
                "evolution_family.md.j2",
                f"{e.name} · L0 c{c}",
                {
                    "e": e.meta,
                    "t": t,
                    "labels": labels,
                    "children": children[:30],
                    "overview": rel(path, overview),
                },
            )
        )
    return pages, paged


def _timeline(row: Any, labels: list[str], link: str | None) -> Timeline:
    drift = [None if np.isnan(d) else float(d) for d in row.drift]
    return Timeline(
        int(row.level),
        int(row.category),
        labels[int(row.first)],
        labels[int(row.last)] if row.last >= 0 else "–",
        [int(m) for m in row.members],
        drift,
        [list(t) for t in row.tokens],
        link,
    )


def card_data(e: EvolutionArtifacts, paged: dict[int, str]) -> dict[str, Any]:
    """What a feature card shows of an evolution that ends with the site's SAE: each of
    the last snapshot's features' level-0 family and since when it exists."""
    f = e.features
    last = f[f["snapshot"] == f["snapshot"].max()]
    c0 = e.categories[e.categories["level"] == 0].set_index("category")
    labels = [s.label for s in e.meta.snapshots]
    return {
        "name": e.name,
        "overview": html_path(f"{evolution_dir(e.name)}/index.md"),
        "feature": last["feature"].astype(int).tolist(),
        "family": last["level_0"].astype(int).tolist(),
        "since": {str(int(c)): labels[int(r["first"])] for c, r in c0.iterrows()},
        "pages": {str(c): html_path(p) for c, p in paged.items()},
    }


def ends_with(e: EvolutionArtifacts, sae_hash: str) -> bool:
    return bool(sae_hash) and e.meta.snapshots[-1].content_hash == sae_hash


def flows(e: EvolutionArtifacts, level: int, top: int) -> pd.DataFrame:
    """Counts of persisting features (decoder matches) from each family at one snapshot to
    each family at the next, for flows that touch one of the `top` largest families of the
    last snapshot (the other end pooled as −1 when it is not one of them)."""
    f = e.features
    col = f"level_{level}"
    last = f[f["snapshot"] == f["snapshot"].max()][col].value_counts()
    keep = set(last.index[:top].tolist())
    out = []
    for s in range(1, int(f["snapshot"].max()) + 1):
        cur = f[(f["snapshot"] == s) & f["persists"]]
        prev = f[f["snapshot"] == s - 1].set_index("feature")[col]
        src = prev.reindex(cur["match"]).to_numpy()
        dst = cur[col].to_numpy()
        pool = lambda v: np.where(np.isin(v, list(keep)), v, -1)  # noqa: E731
        pairs = pd.DataFrame({"s": s, "a": pool(src), "b": pool(dst)})
        pairs = pairs[(pairs["a"] >= 0) | (pairs["b"] >= 0)]  # flows touching a drawn family
        out.append(pairs.value_counts().rename("n").reset_index())
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=["s", "a", "b", "n"])
