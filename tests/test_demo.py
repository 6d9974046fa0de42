"""The bundled demo, end to end: a reduced version of site_config.yml through `saetax build`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from generator.artifacts import load
from generator.cli import main
from generator.sources import load_sae

ROOT = Path(__file__).resolve().parents[1]


def test_the_bundled_sae_has_structure_and_a_data_card():
    card = json.loads((ROOT / "data" / "demo" / "card.json").read_text())
    assert len(card["hookpoints"]) >= 2 and card["checkpoints"]
    for hp, v in card["hookpoints"].items():
        assert v["nn_cos_median"] > v["nn_cos_median_random"] + 0.1, hp
        assert v["fvu"] < 0.5, hp
        dec = load_sae(path=ROOT / "data" / "demo", hookpoint=hp)
        assert dec.W_dec.shape == (card["latents"], 384)
        np.testing.assert_allclose(np.linalg.norm(dec.W_dec, axis=1), 1.0, atol=1e-2)
    ck = ROOT / "data" / "demo" / "checkpoints"
    assert all(
        (ck / hp / name / "sae.safetensors").is_file()
        for hp, names in card["checkpoints"].items()
        for name in names
    )
    assert (ROOT / "data" / "demo" / "README.md").read_text().count("|") > 10
    size = sum(f.stat().st_size for f in (ROOT / "data").rglob("*") if f.is_file())
    assert size <= 25 * 2**20, f"bundled data is {size / 2**20:.1f} MB"


@pytest.mark.slow
def test_reduced_default_config_builds_a_readable_site(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cfg = yaml.safe_load((ROOT / "site_config.yml").read_text())
    cfg["sae"]["path"] = str(ROOT / cfg["sae"]["path"])
    for ev in cfg.get("evolution", []):  # the bundled snapshots, wherever the config is
        for snap in ev["snapshots"]:
            snap["sae"]["path"] = str(ROOT / snap["sae"]["path"])
    cfg["selection"] = {**cfg.get("selection", {}), "max_features": 800}
    cfg["pca"] = {"dims": [None, 64]}
    cfg["umap"] = {"enabled": False}
    path = tmp_path / "site_config.yml"
    path.write_text(yaml.safe_dump(cfg))
    r = CliRunner().invoke(
        main, ["build", "-c", str(path), "-o", str(tmp_path / "out")], catch_exceptions=False
    )
    assert r.exit_code == 0, r.output
    site = tmp_path / "out" / "site"
    assert (site / "index.html").is_file() and (site / "sweep.html").is_file()
    arts = load(tmp_path / "out")
    methods = [arts.run(r).meta.method for r in arts.run_ids]
    assert methods == ["art", "art", "agglomerative", "agglomerative", "kmeans", "kmeans"]
    run = arts.run(arts.manifest.recommended.best_art)
    assert max(lv.singleton_share for lv in run.meta.metrics) <= 0.6
    assert run.meta.metrics[0].order_ari == 1.0  # the consensus does not depend on order
    level0 = run.clusters[run.clusters["level"] == 0]
    assert 2 <= len(level0) < 800 * 0.5  # families, not singletons
    words = [t for toks in level0["tokens"] for t in toks if t.strip().isalpha()]
    assert len(words) > 0.5 * sum(
        len(t) for t in level0["tokens"]
    )  # mostly real words, not byte junk
    assert arts.manifest.evolutions == ["layer1-training", "layer1-to-layer3"]
    training = arts.evolution("layer1-training").meta
    assert [s.label for s in training.snapshots] == ["step 515", "step 1032", "final"]
    assert training.counts[1][0].resonant > 0.8 * training.counts[1][0].features
    assert (site / "evolution" / "layer1-training" / "index.html").is_file()
    pages = list((site / "runs").rglob("L0/c*.html"))
    assert pages and "Differential tokens" in pages[0].read_text()


@pytest.mark.slow
def test_the_demo_as_a_model_of_layers_1_and_3_on_dask_matches_sequential(tmp_path, monkeypatch):
    """Both bundled hookpoints in one build: a LocalCluster of 2 worker processes writes the
    same artifacts as the sequential executor, and the site opens on the model overview."""
    from generator.artifacts import load_model

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cfg = yaml.safe_load((ROOT / "site_config.yml").read_text())
    cfg["sae"] = {
        "path": str(ROOT / "data" / "demo"),
        "hookpoints": ["encoder.layer.1", "encoder.layer.3"],
    }
    cfg.pop("evolution", None)
    cfg["selection"] = {**cfg.get("selection", {}), "max_features": 300}
    cfg["pca"] = {"dims": [None]}
    cfg["umap"] = {"enabled": False}
    cfg["sweep"]["methods"][0]["params"]["members"] = 5
    outs = {}
    for executor in ("sequential", "dask"):
        cfg["sweep"] = {**cfg["sweep"], "executor": executor, "workers": 2}
        path = tmp_path / f"{executor}.yml"
        path.write_text(yaml.safe_dump(cfg))
        cmd = "build" if executor == "dask" else "analyze"
        r = CliRunner().invoke(main, [cmd, "-c", str(path), "-o", str(tmp_path / executor)])
        assert r.exit_code == 0, r.output
        outs[executor] = tmp_path / executor / "artifacts"
    a, b = outs["sequential"], outs["dask"]
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert sum(f.name == "run.json" for f in files) == 2 * 3  # ART and two baselines each
    for rel in files:
        if rel.suffix == ".json":  # the recorded config names the executor; nothing else differs
            ja, jb = (json.loads((d / rel).read_text()) for d in (a, b))
            for j in (ja, jb):
                j.get("config", {}).pop("sweep", None)
            assert ja == jb, rel
        else:
            assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    model = load_model(b)
    site = tmp_path / "dask" / "site"
    html = (site / "index.html").read_text()
    for h in model.hookpoints:
        rec = model.hookpoint(h).manifest.recommended
        assert f'href="{h}/index.html"' in html and f"{h}/runs/{rec.run}/index.html" in html
        assert (site / h / "sweep.html").is_file()
