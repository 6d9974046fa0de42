"""Taxonomy evolution on planted data: families that persist, drift, split, die and appear."""

from __future__ import annotations

import logging
import re

import numpy as np
import pytest

from generator import artifacts, pipeline
from generator.errors import SourceError
from generator.synthetic import make_planted_evolution
from tests.conftest import fixture_config


def _config(tmp_path, tiny_lm, snapshots, **extra):
    last = snapshots[-1][1]
    return fixture_config(
        last,
        tiny_lm,
        sae={"path": str(last), "hookpoint": None},
        pca={"dims": [None]},
        selection={"junk": {"classes": ["special"], "min_junk": 5}},
        sweep={
            "rho_sets": [[0.5, 0.85]],
            "hierarchy": ["nested"],
            "stability": False,
        },
        evolution=[
            {
                "name": "planted",
                "snapshots": [{"label": lab, "sae": {"path": str(p)}} for lab, p in snapshots],
                **extra,
            }
        ],
    )


@pytest.fixture(scope="module")
def planted_evolution(tmp_path_factory):
    p = make_planted_evolution(seed=1)
    d = tmp_path_factory.mktemp("evolution")
    paths = []
    for i, X in enumerate(p.snapshots):
        np.save(d / f"snap{i}.npy", X)
        paths.append(d / f"snap{i}.npy")
    return p, paths


def test_resonant_new_and_dormant_match_the_plant(tmp_path, tiny_lm, planted_evolution):
    p, paths = planted_evolution
    cfg = _config(tmp_path, tiny_lm, [("one", paths[0]), ("two", paths[1])])
    a = artifacts.load(pipeline.analyze(cfg, tmp_path / "out"))
    e = a.evolution("planted")
    f = e.features
    one, two = f[f["snapshot"] == 0], f[f["snapshot"] == 1]
    assert len(one) == len(p.snapshots[0]) and len(two) == len(p.snapshots[1])  # none junk
    truth = p.resonant[1][two["feature"].to_numpy()]
    assert np.mean(two["resonated_0"].to_numpy() == truth) >= 0.95
    # categories: each planted family's level-0 category, classified as the plant says
    cat_of = {int(fam): int(one["level_0"].to_numpy()[p.family[0] == fam][0]) for fam in range(10)}
    c0 = e.categories[e.categories["level"] == 0].set_index("category")
    members_two = {c: int(m[1]) for c, m in zip(c0.index, c0["members"])}
    expected_alive = [fam for fam in range(10) if fam != p.dies]
    ok = [members_two[cat_of[fam]] > 0 for fam in expected_alive] + [
        members_two[cat_of[p.dies]] == 0
    ]
    new_fams = [fam for fam in np.unique(p.family[1]) if fam >= 10]
    for fam in new_fams:  # each appearing family founds a category at snapshot two
        cats = two["level_0"].to_numpy()[p.family[1][two["feature"].to_numpy()] == fam]
        ok.append(bool(np.all(c0.loc[cats, "first"] == 1)))
    assert np.mean(ok) >= 0.95, ok
    counts = e.meta.counts[1][0]
    assert counts.dormant >= 1 and counts.new_categories >= len(new_fams)
    # decoder matching: the perturbed copies persist, the rest do not
    copies = p.persists[0][two["feature"].to_numpy()]
    assert np.mean(two["persists"].to_numpy() == copies) >= 0.95
    agreement = e.meta.agreement[0]
    assert agreement.agreement >= 0.9 and agreement.family_kept[0] >= 0.95
    assert e.meta.run == a.run_ids[0]


def test_appending_a_snapshot_reuses_the_cached_steps(tmp_path, tiny_lm, planted_evolution, caplog):
    p, paths = planted_evolution
    third = tmp_path / "snap2.npy"
    X = p.snapshots[1] + 0.01 * np.random.default_rng(3).standard_normal(p.snapshots[1].shape)
    np.save(third, (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32))
    two = [("one", paths[0]), ("two", paths[1])]
    pipeline.analyze(_config(tmp_path, tiny_lm, two), tmp_path / "out")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="generator.cache"):
        a = artifacts.load(
            pipeline.analyze(_config(tmp_path, tiny_lm, [*two, ("three", third)]), tmp_path / "out")
        )
    lines = [r.getMessage() for r in caplog.records if ": evolution planted" in r.getMessage()]
    assert sorted(line.split(":")[0] for line in lines) == ["cache hit", "cache hit", "cache miss"]
    assert "evolution planted 2" in next(line for line in lines if line.startswith("cache miss"))
    assert [s.label for s in a.evolution("planted").meta.snapshots] == ["one", "two", "three"]


def test_a_snapshot_of_another_width_is_one_clear_error(tmp_path, tiny_lm, planted_evolution):
    _, paths = planted_evolution
    narrow = tmp_path / "narrow.npy"
    np.save(narrow, np.random.default_rng(0).standard_normal((20, 32)).astype(np.float32))
    cfg = _config(tmp_path, tiny_lm, [("one", paths[0]), ("narrow", narrow)])
    with pytest.raises(
        SourceError, match=r"narrow\.npy has d_in 32 but lens model .* hidden width 64"
    ):
        pipeline.analyze(cfg, tmp_path / "out")


def test_the_evolution_pages_answer_what_lived_and_what_died(tmp_path, tiny_lm, planted_evolution):
    from generator.site import render_site

    p, paths = planted_evolution
    cfg = _config(tmp_path, tiny_lm, [("one", paths[0]), ("two", paths[1])])
    pipeline.analyze(cfg, tmp_path / "out")
    site = render_site(tmp_path / "out", strict=True)
    page = (site / "evolution" / "planted" / "index.html").read_text()
    for words in ("What each snapshot did", "From the start, still there", "Appeared later",
                  "Died", "persisting features"):  # fmt: skip
        assert words in page, words
    assert list((site / "evolution" / "planted" / "L0").glob("c*.html"))
    assert (site / "assets" / "figs" / "sankey-planted.js").is_file()
    # the site's SAE is the last snapshot: its family pages say where their members evolved
    family = next((site / "runs").rglob("L0/c*.html"))
    html = family.read_text()
    assert "In evolution" in html and ("since one" in html or "since two" in html)
    for href in re.findall(r'href="([^"#]+evolution/planted/[^"#]+)"', html):
        assert (family.parent / href).resolve().is_file(), href


def test_evolution_and_matching_entries_load_save_and_load_again(
    tmp_path, tiny_lm, planted_evolution
):
    from generator.stages import evolution, matching
    from tests.test_stages import _same

    _, paths = planted_evolution
    pipeline.analyze(
        _config(tmp_path, tiny_lm, [("one", paths[0]), ("two", paths[1])]), tmp_path / "out"
    )
    for stage in (evolution, matching):
        entries = sorted((tmp_path / "out" / "cache" / stage.NAME).glob("*/meta.json"))
        assert entries
        for meta in entries:
            first = stage.load(meta.parent)
            copy = tmp_path / "copy" / stage.NAME / meta.parent.name
            copy.mkdir(parents=True)
            stage.save(first, copy)
            _same(first, stage.load(copy), stage.NAME)
