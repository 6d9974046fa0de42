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
    r: RunArtifacts, base_features: list[int], pages: dict[int, dict[int, str]]
) -> dict[str, Any]:
    """One run's colouring of the shared map: cluster labels per level; the page script
    joins them with the shared coordinates and offers one button per level."""
    a = r.assignments.sort_values(Col.FEATURE)
    if a[Col.FEATURE].tolist() != base_features:
        raise ValueError(f"run {r.run_id} clusters other features than the map shows")
    L = r.meta.n_levels
    layout = {
        "height": 560,
        "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
        "dragmode": "pan",
        "xaxis": {"visible": False},
        "yaxis": {"visible": False, "scaleanchor": "x"},
    }
    meta = {
        "kind": "umap",
        "labels": [a[Col.level(k)].astype(int).tolist() for k in range(L)],
        "pages": {str(k): {str(c): p for c, p in d.items()} for k, d in pages.items()},
        "parents": parents_data(r),
    }
    return {"data": [], "layout": layout, "meta": meta}


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


def sweep_quality(runs: list[RunSummary], pages: dict[str, str]) -> dict[str, Any]:
    """Level-0 stability against cohesion above chance, one labelled point per run (click
    opens the run's page, `pages[run_id]`)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    groups: dict[str, list[RunSummary]] = {}
    for r in runs:
        groups.setdefault(r.method, []).append(r)
    for name, rs in groups.items():
        lv = [r.level0 for r in rs]
        fig.add_trace(
            go.Scatter(
                x=[
                    None
                    if m.cohesion is None or m.cohesion_chance is None
                    else (m.cohesion - m.cohesion_chance) / (1 - m.cohesion_chance)
                    for m in lv
                ],
                y=[r.stability for r in rs],
                mode="markers",
                name=name,
                marker={"size": 11},
                customdata=[[r.run_id, r.score] for r in rs],
                hovertemplate="%{customdata[0]}<br>cohesion above chance %{x:.2f}"
                "<br>stability %{y:.2f}<br>score %{customdata[1]:.3f}<extra></extra>",
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

    ids = [r.run_id for r in runs]
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
    fig.update_xaxes(showticklabels=False)
    fig.update_layout(
        height=380,
        margin={"l": 50, "r": 10, "t": 40, "b": 20},
        barmode="group",
        legend={"orientation": "h", "y": -0.1},
    )
    return _fig(fig)
