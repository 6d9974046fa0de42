"""Plotly figures of the site, as plain JSON-able dicts (written to `.js` side files).

Every token reaching a hover or label goes through `token_plain` (HTML-escaped, marks for
whitespace). Click targets live in each figure's `meta` as page paths from the site root.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from generator.artifacts import Col, DecoderStructure, RunArtifacts
from generator.site.text import token_plain

if TYPE_CHECKING:
    from generator.site.run_pages import RunSummary


def _fig(fig: Any, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    import json

    import plotly.io as pio

    d = json.loads(pio.to_json(fig, validate=True, remove_uids=True))
    d["meta"] = meta or {}
    return d


def _toks(tokens: Any, n: int) -> str:
    return " ".join(token_plain(t) for t in list(tokens)[:n])


def umap_base(features: pd.DataFrame) -> dict[str, Any]:
    """The map shared by every run: coordinates and hover text of each kept feature
    (one data file, so ten runs do not repeat 32k points ten times)."""
    f = features[features["kept"]].sort_values("feature")
    return {
        "feature": f["feature"].astype(int).tolist(),
        "x": np.round(f["umap_x"].to_numpy(np.float64), 4).tolist(),
        "y": np.round(f["umap_y"].to_numpy(np.float64), 4).tolist(),
        "text": [
            f"feature {i}<br>{_toks(t, 5)}" for i, t in zip(f["feature"].tolist(), f["top_tokens"])
        ],
    }


def umap_scatter(
    r: RunArtifacts, features: pd.DataFrame, pages: dict[int, dict[int, str]]
) -> dict[str, Any]:
    """One run's colouring of the shared map: per level, each feature's family and a colour
    from a 48-colour categorical palette assigned so that families close on the map differ;
    the page script joins them with the shared coordinates and offers one button per level.
    Axis ranges leave out the outermost 0.5 % of points, so one far cluster does not squeeze
    the map."""
    import plotly.colors as pc

    f = features[features["kept"]].sort_values(Col.FEATURE)
    a = r.assignments.sort_values(Col.FEATURE)
    if a[Col.FEATURE].tolist() != f[Col.FEATURE].tolist():
        raise ValueError(f"run {r.run_id} clusters other features than the map shows")
    L = r.meta.n_levels
    xy = f[["umap_x", "umap_y"]].to_numpy(np.float64)
    palette = list(pc.qualitative.Dark24) + list(pc.qualitative.Light24)
    rows = r.cluster_rows()
    labels = [a[Col.level(k)].to_numpy() for k in range(L)]
    names = [
        {
            row.cluster: " ".join(token_plain(t) for t in row.tokens[:3])
            for row in rows
            if row.level == k
        }
        for k in range(L)
    ]
    layout = {
        "height": 560,
        "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
        "dragmode": "pan",
        "xaxis": {"visible": False, "range": _robust_range(xy[:, 0])},
        "yaxis": {"visible": False, "scaleanchor": "x", "range": _robust_range(xy[:, 1])},
    }
    meta = {
        "kind": "umap",
        "labels": [lab.astype(int).tolist() for lab in labels],
        "colors": [family_colours(xy, lab, len(palette)).tolist() for lab in labels],
        "palette": palette,
        "names": [{str(c): n for c, n in d.items()} for d in names],
        "pages": {str(k): {str(c): p for c, p in d.items()} for k, d in pages.items()},
        "parents": parents_data(r),
    }
    return {"data": [], "layout": layout, "meta": meta}


def _robust_range(v: np.ndarray) -> list[float]:
    lo, hi = np.quantile(v, [0.005, 0.995])
    pad = 0.05 * (hi - lo or 1.0)
    return [round(float(lo - pad), 3), round(float(hi + pad), 3)]


def family_colours(xy: np.ndarray, labels: np.ndarray, n_colours: int, k: int = 12) -> np.ndarray:
    """A palette index per feature: families are coloured largest first, each with the
    least used colour that none of its k nearest families on the map (by centroid) has, so
    neighbours differ and the whole palette is in use."""
    from scipy.spatial import cKDTree

    C = int(labels.max()) + 1
    size = np.bincount(labels, minlength=C)
    centre = np.zeros((C, 2))
    np.add.at(centre, labels, xy)
    centre /= np.maximum(size, 1)[:, None]
    kk = min(k + 1, C)
    _, near = cKDTree(centre).query(centre, k=kk)
    near = np.asarray(near).reshape(C, kk)
    colour = np.full(C, -1, np.int64)
    uses = np.zeros(n_colours, np.int64)
    for c in np.lexsort((np.arange(C), -size)):
        nearby = [int(colour[o]) for o in near[c] if o != c and colour[o] >= 0]
        free = np.setdiff1d(np.arange(n_colours), nearby)
        pool = free if len(free) else np.arange(n_colours)
        colour[c] = pool[np.argmin(uses[pool])]  # the least used colour its neighbours lack
        uses[colour[c]] += 1
    return colour[labels]


def parents_data(r: RunArtifacts) -> dict[str, int]:
    """The run's parent map as the page script reads it: "level:cluster" → parent."""
    return {f"{lv}:{cl}": p for (lv, cl), p in r.parents().items()}


def sunburst(
    r: RunArtifacts,
    pages: dict[int, dict[int, str]],
    max_levels: int = 3,
    top: tuple[int, ...] = (40, 12, 8),
) -> dict[str, Any]:
    """The taxonomy as a sunburst (click a sector to drill in). Only the largest families
    of each level are drawn; the rest of a parent's children become one "other" sector."""
    import plotly.graph_objects as go

    rows = [row for row in r.cluster_rows() if row.level < max_levels]
    ids, parents, labels, values, hover = [], [], [], [], []
    by_parent: dict[tuple[int, int], list[Any]] = {}
    for row in sorted(rows, key=lambda x: (-x.size, x.cluster)):
        by_parent.setdefault((row.level, row.parent), []).append(row)

    def add(level: int, parent_key: int, parent_id: str) -> None:
        kids = by_parent.get((level, parent_key), [])
        keep, rest = kids[: top[min(level, len(top) - 1)]], kids[top[min(level, len(top) - 1)] :]
        for row in keep:
            sid = f"L{level}c{row.cluster}"
            ids.append(sid)
            parents.append(parent_id)
            labels.append(f"c{row.cluster}: {_toks(row.tokens, 2)}")
            values.append(int(row.size))
            hover.append(
                f"level {level} cluster {row.cluster}<br>{row.size} features<br>{_toks(row.tokens, 6)}"
            )
            if level + 1 < max_levels:
                add(level + 1, int(row.cluster), sid)
        if rest and level > 0:  # at level 0 the caption says only the largest are drawn
            ids.append(f"{parent_id}-other")
            parents.append(parent_id)
            labels.append(f"{len(rest)} smaller")
            values.append(int(sum(x.size for x in rest)))
            hover.append(f"{len(rest)} smaller families, {sum(x.size for x in rest)} features")

    add(0, -1, "all")
    shown = sum(v for v, p in zip(values, parents) if p == "all")
    n0 = len(by_parent.get((0, -1), []))
    ids.insert(0, "all")
    parents.insert(0, "")
    labels.insert(0, f"{min(n0, top[0])} largest of {n0} families")
    values.insert(0, shown)
    hover.insert(0, f"the {min(n0, top[0])} largest level-0 families ({shown} features)")
    fig = go.Figure(
        go.Sunburst(
            ids=ids,
            parents=parents,
            labels=labels,
            values=values,
            branchvalues="total",
            hovertext=hover,
            hoverinfo="text",
            maxdepth=3,
            insidetextorientation="radial",
        )
    )
    fig.update_layout(height=560, margin={"l": 0, "r": 0, "t": 10, "b": 10})
    page_by_id = {f"L{lv}c{cl}": p for lv, d in pages.items() for cl, p in d.items()}
    return _fig(fig, {"kind": "sunburst", "pages": page_by_id})


def decoder_structure(ds: DecoderStructure) -> dict[str, Any]:
    """Nearest-neighbour cosine histogram: decoder rows beside random unit vectors."""
    import plotly.graph_objects as go

    bins = np.asarray(ds.bins)
    mids = (bins[:-1] + bins[1:]) / 2
    fig = go.Figure()
    for summary, name in (
        (ds.decoder, "SAE decoder rows"),
        (ds.random, "random unit vectors, same shape"),
    ):
        h = np.asarray(summary.histogram, dtype=np.float64)
        fig.add_trace(
            go.Bar(
                x=mids.astype(np.float32),
                y=(h / max(h.sum(), 1)).astype(np.float32),
                name=name,
                opacity=0.75,
            )
        )
    fig.update_layout(
        barmode="overlay",
        height=320,
        margin={"l": 40, "r": 10, "t": 10, "b": 40},
        xaxis_title="cosine to nearest other row",
        yaxis_title="fraction",
        legend={"orientation": "h", "y": 1.1},
    )
    return _fig(fig)


def sweep_quality(
    runs: list[RunSummary], pages: dict[str, str], recommended: str | None = None
) -> dict[str, Any]:
    """Level-0 stability against cohesion above chance, one labelled point per run (click
    opens the run's page, `pages[run_id]`)."""
    import plotly.graph_objects as go

    from generator.recommend import cohesion_excess

    fig = go.Figure()
    groups: dict[str, list[RunSummary]] = {}
    for r in runs:
        groups.setdefault(r.method, []).append(r)
    for name, rs in groups.items():
        lv = [r.level0 for r in rs]
        fig.add_trace(
            go.Scatter(
                x=[cohesion_excess(m) for m in lv],
                y=[r.stability for r in rs],
                mode="markers+text",
                name=name,
                text=[r.short for r in rs],
                textposition="top center",
                marker={"size": 11},
                customdata=[[r.run_id, r.score] for r in rs],
                hovertemplate="%{customdata[0]}<br>cohesion above chance %{x:.2f}"
                "<br>stability %{y:.2f}<br>score %{customdata[1]:.3f}<extra></extra>",
            )
        )
    rec = next((r for r in runs if r.run_id == recommended), None)
    if rec is not None and rec.stability is not None:
        m = rec.level0  # a None x (undefined excess) draws no ring
        fig.add_trace(
            go.Scatter(
                x=[cohesion_excess(m)],
                y=[rec.stability],
                mode="markers",
                name="recommended",
                marker={"size": 24, "symbol": "circle-open", "line": {"width": 2}},
                hoverinfo="skip",
            )
        )
    fig.update_layout(
        height=420,
        margin={"l": 50, "r": 10, "t": 10, "b": 50},
        xaxis_title="level 0: cohesion above chance, (c − chance) / (1 − chance)",
        yaxis_title="level 0: stability (weakest ARI)",
        legend={"orientation": "h", "y": 1.12},
    )
    return _fig(fig, {"kind": "runs", "pages": pages})


def sweep_clusters(runs: list[RunSummary]) -> dict[str, Any]:
    """Clusters per level and largest level-0 share across the sweep."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    shorts = [r.short for r in runs]
    ids = [s if shorts.count(s) == 1 else r.run_id for s, r in zip(shorts, runs)]
    L = max(len(r.clusters_per_level) for r in runs)
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("clusters per level", "largest level-0 cluster share")
    )
    for k in range(L):
        fig.add_trace(
            go.Bar(
                x=ids,
                y=[
                    r.clusters_per_level[k] if k < len(r.clusters_per_level) else None for r in runs
                ],
                name=f"level {k}",
            ),
            row=1,
            col=1,
        )
    fig.add_trace(
        go.Bar(x=ids, y=[r.largest_share for r in runs], name="largest share", showlegend=False),
        row=1,
        col=2,
    )
    fig.update_yaxes(type="log", row=1, col=1)
    fig.update_xaxes(tickangle=-30)
    fig.update_layout(
        height=420,
        margin={"l": 50, "r": 10, "t": 40, "b": 90},
        barmode="group",
        legend={"orientation": "h", "y": -0.1},
    )
    return _fig(fig)


def sankey(e: Any, labels: list[str], pages: dict[int, str], top: int = 20) -> dict[str, Any]:
    """Family flows between consecutive snapshots: how many persisting features (decoder
    matches) go from each family to each family, one Sankey per level behind a level
    switch. Flows touching the `top` largest families of the last snapshot are drawn; a
    flow's other end, when it is not one of them, is pooled as "other"."""
    import plotly.graph_objects as go

    L = int(e.categories["level"].max()) + 1
    fig = go.Figure([_sankey_level(e, k, labels, top, visible=k == 0) for k in range(L)])
    buttons = [
        {
            "label": f"level {k}",
            "method": "restyle",
            "args": [{"visible": [j == k for j in range(L)]}],
        }
        for k in range(L)
    ]
    fig.update_layout(
        height=620,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        updatemenus=[
            {
                "type": "buttons",
                "direction": "right",
                "x": 0,
                "y": 1.1,
                "xanchor": "left",
                "buttons": buttons,
            }
        ],
    )
    return _fig(fig, {"kind": "sankey", "pages": {str(c): p for c, p in pages.items()}})


def _sankey_level(e: Any, k: int, labels: list[str], top: int, visible: bool) -> Any:
    import plotly.graph_objects as go

    from generator.site.evolution_pages import flows

    cats = e.categories[e.categories["level"] == k]
    words = {
        int(r.category): [" ".join(token_plain(t) for t in list(ts)[:2]) for ts in r.tokens]
        for r in cats.itertuples()
    }
    fl = flows(e, k, top)
    nodes: dict[tuple[int, int], int] = {}
    for s, c in [(int(r.s) - 1, int(r.a)) for r in fl.itertuples()] + [
        (int(r.s), int(r.b)) for r in fl.itertuples()
    ]:
        nodes.setdefault((s, c), len(nodes))
    names = [
        f"{labels[s]} · " + ("other: smaller families" if c < 0 else f"c{c}: {words[c][s]}")
        for (s, c) in nodes
    ]
    return go.Sankey(
        visible=visible,
        arrangement="snap",
        node={"label": names, "pad": 8, "thickness": 12},
        link={
            "source": [nodes[(int(r.s) - 1, int(r.a))] for r in fl.itertuples()],
            "target": [nodes[(int(r.s), int(r.b))] for r in fl.itertuples()],
            "value": fl["n"].astype(int).tolist(),
        },
    )
