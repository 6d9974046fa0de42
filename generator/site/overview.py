"""Phase one for a model build (`sae.hookpoints`): the overview page, one row per
hookpoint, from each hookpoint's manifest and recommended run. Each hookpoint's own pages
are `model.build_model` of its set, built into the hookpoint's folder of the site."""

from __future__ import annotations

from dataclasses import dataclass

from generator.artifacts import ModelArtifacts, hookpoint_folder
from generator.checks import on_random_baseline
from generator.site.model import SiteModel, options_from
from generator.site.page import Page, SiteOptions, html_path, run_dir


@dataclass
class HookpointRow:
    """One hookpoint as the overview's table shows it."""

    hookpoint: str
    home: str  # its site's home page, relative to the overview
    features: int
    kept: int
    decoder_median: float
    random_median: float
    on_random_baseline: bool
    recommended: str | None  # run id
    recommended_link: str | None
    recommended_method: str | None
    families: list[int]  # the recommended run's clusters per level
    singleton_share: float | None
    stability: float | None  # level 0: the weakest of order, seed and subsample ARI
    n_runs: int


def hookpoint_row(model: ModelArtifacts, hookpoint: str) -> HookpointRow:
    arts = model.hookpoint(hookpoint)
    m, folder = arts.manifest, hookpoint_folder(hookpoint)
    rec = m.recommended
    meta = arts.run(rec.run).meta if rec else None
    lv = meta.metrics[0] if meta else None
    return HookpointRow(
        hookpoint=hookpoint,
        home=f"{folder}/index.html",
        features=m.selection.n_features,
        kept=m.selection.n_selected,
        decoder_median=m.decoder_structure.decoder.median,
        random_median=m.decoder_structure.random.median,
        on_random_baseline=on_random_baseline(m.decoder_structure),
        recommended=rec.run if rec else None,
        recommended_link=f"{folder}/{html_path(run_dir(rec.run) + '/index.md')}" if rec else None,
        recommended_method=rec.method if rec else None,
        families=list(meta.clusters_per_level) if meta else [],
        singleton_share=lv.singleton_share if lv else None,
        stability=lv.weakest_ari if lv else None,
        n_runs=len(m.runs),
    )


def overview_options(model: ModelArtifacts) -> SiteOptions:
    """The model site's options: the config's, as every hookpoint's site has them."""
    from generator.config import SiteConfig

    site = SiteConfig.model_validate(model.meta.config.get("site", {}))
    return SiteOptions(title=site.title, description=site.description, url=site.url)


def hookpoint_options(model: ModelArtifacts, hookpoint: str) -> SiteOptions:
    """A hookpoint's site: its own options, titled with the hookpoint, linking up."""
    import dataclasses

    opts = options_from(model.hookpoint(hookpoint).manifest)
    return dataclasses.replace(
        opts,
        title=f"{opts.title} · {hookpoint}",
        up="../index.html",
        up_count=len(model.hookpoints),
    )


def overview_model(model: ModelArtifacts) -> SiteModel:
    rows = [hookpoint_row(model, h) for h in model.hookpoints]
    opts = overview_options(model)
    page = Page(
        "index.md",
        "model.md.j2",
        "Model overview",
        {
            "sae_source": model.meta.sae_source,
            "rows": rows,
            "n_random": sum(r.on_random_baseline for r in rows),
            "lens": model.meta.config.get("lens", {}).get("model", ""),
        },
    )
    nav = [
        {"Model overview": "index.md"},
        {"Reading guide": "reading.md"},
        {
            "Reference": [
                {"Artifacts": "reference/artifacts.md"},
                {"Configuration": "reference/config.md"},
            ]
        },
    ]
    return SiteModel(opts, [page], {}, {}, nav, None)
