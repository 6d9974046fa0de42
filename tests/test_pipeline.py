"""`saetax analyze` end to end on the fixtures: artifacts, caching, resuming, determinism."""

from __future__ import annotations

import json
import logging
import warnings

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from generator import artifacts, methods, pipeline
from generator.errors import ConfigError, DataError, SourceError
from generator.progress import Recorder
from generator.synthetic import make_planted_hierarchy
from tests.conftest import fixture_config


def test_every_artifact_is_written_and_reads_back(analyzed, planted):
    out, cfg = analyzed
    a = artifacts.load(out)
    m = a.manifest
    assert m.schema_version == 4 and len(a.run_ids) == 2 * 2 * 1 * 2
    assert m.sae.hookpoint == "layers.0" and m.sae.num_latents == len(planted.W_dec)
    assert m.lens.n_tokens < m.lens.unembed_rows
    assert m.config["sweep"]["rho_sets"] == [[0.2, 0.5], [0.3, 0.6, 0.8]]
    for f in [out / "artifacts" / "manifest.json", *(out / "artifacts").rglob("run.json")]:
        assert "seconds" not in f.read_text(), f  # timings go to build.json, not the artifacts
    assert m.recommended.run in a.run_ids
    ds = m.decoder_structure
    assert ds.decoder.median > ds.random.median + 0.3  # planted families, real structure
    f = a.features
    assert list(f["feature"]) == list(range(len(planted.W_dec)))
    assert all(len(t) == cfg.lens.top_k for t in f["top_tokens"])
    assert np.all(np.diff(np.stack(f["top_logits"].to_numpy()), axis=1) <= 0)  # sorted high to low
    assert f.loc[f["kept"], ["umap_x", "umap_y"]].notna().all().all()
    assert m.selection.n_selected == int(f["kept"].sum())


def test_runs_nest_levels_and_carry_tokens_and_metrics(analyzed):
    out, cfg = analyzed
    a = artifacts.load(out)
    kept = set(a.features.loc[a.features["kept"], "feature"])
    for rid in a.run_ids:
        r = a.run(rid)
        L = r.meta.n_levels
        assert set(r.assignments["feature"]) == kept
        assert r.meta.method == "art" and r.meta.level_values == r.meta.params["rho_values"]
        assert r.meta.clusters_per_level == [
            int((r.clusters["level"] == k).sum()) for k in range(L)
        ]
        for k in range(L):
            lv = r.clusters[r.clusters["level"] == k].set_index("cluster")
            sizes = r.assignments[f"level_{k}"].value_counts()
            assert sizes.sort_index().tolist() == lv["size"].sort_index().tolist()
            assert all(len(t) == cfg.interpret.top_k for t in lv["tokens"])
            assert lv["cohesion"].between(-1, 1).all()
            d = lv["distinctiveness"]
            assert d.dropna().between(0, 1).all()
            only_child = lv["parent"].map(lv["parent"].value_counts()) == 1
            assert d[only_child].isna().all() and d[~only_child].notna().all()
            if k > 0:  # every child's parent is the level above's cluster of all its members
                parent_of = r.assignments.groupby(f"level_{k}")[f"level_{k - 1}"].agg(
                    lambda s: s.unique().tolist()
                )
                assert all(len(p) == 1 for p in parent_of)
                assert lv["parent"].sort_index().tolist() == [p[0] for p in parent_of.sort_index()]
        metrics = r.meta.metrics
        assert len(metrics) == L
        for lvm in metrics:
            assert 0 < lvm.largest_share <= 1 and 0 <= lvm.gini <= 1
            for ari in (lvm.order_ari, lvm.seed_ari, lvm.subsample_ari):
                assert -1 <= ari <= 1
            assert 0 <= lvm.singleton_share <= 1 and lvm.cohesion_chance < 1
        assert 0 < r.meta.explained_variance <= 1


def test_planted_families_are_found_at_level_0(analyzed, planted):
    out, _ = analyzed
    a = artifacts.load(out)
    r = a.run("cosine-nested-raw-rho0.3-0.6-0.8-s0")
    fam = planted.family[r.assignments["feature"].to_numpy()]
    real = fam >= 0
    ari = adjusted_rand_score(fam[real], r.assignments["level_0"].to_numpy()[real])
    assert ari > 0.8


@pytest.mark.slow
def test_planted_three_level_hierarchy_is_recovered(tmp_path, tiny_lm):
    """A 5 → 15 → 45 tree of directions (cos 0.8 / 0.9 / 0.95): cosine nested, rho 0.3/0.6/0.85."""
    p = make_planted_hierarchy((5, 3, 3), d=64, per_leaf=20, seed=3)
    np.save(tmp_path / "W.npy", p.X)
    cfg = fixture_config(
        tmp_path / "W.npy",
        tiny_lm,
        sae={"path": str(tmp_path / "W.npy"), "hookpoint": None},
        pca={"dims": [None]},
        sweep={"rho_sets": [[0.2, 0.5, 0.8], [0.3, 0.6, 0.85]], "hierarchy": ["nested"]},
        selection={"junk": {"classes": ["special"]}},
    )
    a = artifacts.load(pipeline.analyze(cfg, tmp_path / "out"))
    r = a.run("cosine-nested-raw-rho0.3-0.6-0.85-s0")
    feats = r.assignments["feature"].to_numpy()
    assert len(feats) == len(p.X)
    scores = [
        adjusted_rand_score(p.labels[feats, k], r.assignments[f"level_{k}"]) for k in range(3)
    ]
    assert min(scores) >= 0.9, scores
    assert a.manifest.recommended.run == "cosine-nested-raw-rho0.3-0.6-0.85-s0"


@pytest.mark.slow
def test_changing_one_rho_hits_the_cache_for_lens_pca_and_umap(tmp_path, sae_root, tiny_lm):
    cfg = fixture_config(
        sae_root,
        tiny_lm,
        umap={"enabled": True, "n_neighbors": 10},
        pca={"dims": [8]},
        sweep={"rho_sets": [[0.3, 0.6]], "hierarchy": ["nested"]},
    )
    pipeline.analyze(cfg, tmp_path)
    cfg2 = fixture_config(
        sae_root,
        tiny_lm,
        umap={"enabled": True, "n_neighbors": 10},
        pca={"dims": [8]},
        sweep={"rho_sets": [[0.3, 0.7]], "hierarchy": ["nested"]},
    )
    rec = Recorder()
    pipeline.analyze(cfg2, tmp_path, rec)
    hits = {name for name, c in rec.stages.items() if c.hits}
    misses = {name for name, c in rec.stages.items() if c.misses}
    assert hits == {"lens", "selection", "pca", "umap", "decoder_stats", "neighbours"}
    assert misses == {"run", "interpret"}
    assert all(c.hits + c.misses == 1 for c in rec.stages.values())
    assert rec.stages["lens"].saved_seconds > 0 and rec.stages["run"].computed_seconds > 0
    run_id = "cosine-nested-pca8-rho0.3-0.7-s0"
    assert rec.runs[run_id]["cached"] is False and rec.runs[run_id]["method"] == "art"
    assert 0 < rec.runs[run_id]["fit_seconds"] <= rec.runs[run_id]["seconds"]
    names = [s.name for s in rec.steps]
    assert names[:4] == ["decoder", "lens", "selection", "pca"] and names[-1] == "artifacts"
    lens_step = rec.steps[1]
    assert (lens_step.hits, lens_step.misses) == (1, 0) and lens_step.line().endswith("cached")
    assert artifacts.load(tmp_path).run_ids == ["cosine-nested-pca8-rho0.3-0.7-s0"]


def test_an_interrupted_analysis_keeps_old_artifacts_and_resumes(
    tmp_path, sae_root, tiny_lm, monkeypatch, caplog
):
    cfg = fixture_config(sae_root, tiny_lm)
    pipeline.analyze(cfg, tmp_path)
    before = artifacts.load(tmp_path).run_ids
    cfg2 = fixture_config(sae_root, tiny_lm, sweep={"rho_sets": [[0.25, 0.5], [0.3, 0.65, 0.8]]})
    real_fit = methods.fit_run
    calls = {"n": 0}

    def dies_on_third(spec, X):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the user pressed Ctrl-C
        return real_fit(spec, X)

    monkeypatch.setattr(methods, "fit_run", dies_on_third)
    with pytest.raises(KeyboardInterrupt):
        pipeline.analyze(cfg2, tmp_path)
    assert artifacts.load(tmp_path).run_ids == before  # the previous set is intact and readable
    assert not list((tmp_path / "cache" / "run").glob(".*"))  # no half-written cache entry
    monkeypatch.setattr(methods, "fit_run", real_fit)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="generator.cache"):
        pipeline.analyze(cfg2, tmp_path)
    run_misses = [r for r in caplog.records if r.getMessage().startswith("cache miss: run")]
    assert len(run_misses) == 8 - 2  # the two runs finished before the interruption are reused
    assert len(artifacts.load(tmp_path).run_ids) == 8


def _strip_seconds(obj):
    if isinstance(obj, dict):
        return {k: _strip_seconds(v) for k, v in obj.items() if "seconds" not in k}
    if isinstance(obj, list):
        return [_strip_seconds(v) for v in obj]
    return obj


def test_same_config_and_seed_give_identical_artifacts(tmp_path, sae_root, tiny_lm):
    cfg = fixture_config(sae_root, tiny_lm, sweep={"rho_sets": [[0.3, 0.6, 0.8]]})
    a = pipeline.analyze(cfg, tmp_path / "a")
    b = pipeline.analyze(cfg, tmp_path / "b")
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for rel in files:
        if rel.suffix == ".json":  # timings differ between two fresh computations
            assert _strip_seconds(json.loads((a / rel).read_text())) == _strip_seconds(
                json.loads((b / rel).read_text())
            ), rel
        else:
            assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    again = pipeline.analyze(cfg, tmp_path / "a")  # fully cached: byte for byte, timings included
    for rel in files:
        assert (again / rel).read_bytes() == (b / rel).read_bytes() or rel.suffix == ".json"


def test_empty_selection_after_the_junk_filter_is_a_clear_error(tmp_path, tiny_lm):
    import transformers

    tok = transformers.AutoTokenizer.from_pretrained(tiny_lm)
    model = transformers.AutoModelForCausalLM.from_pretrained(tiny_lm)
    W_U = model.get_output_embeddings().weight.detach().numpy()
    strings = tok.batch_decode([[i] for i in range(len(tok))])
    byte_ids = [i for i, s in enumerate(strings) if "\ufffd" in s][:20]
    np.save(tmp_path / "W.npy", W_U[byte_ids] * 50)  # every feature reads as byte-fallback tokens
    cfg = fixture_config(
        tmp_path / "W.npy",
        tiny_lm,
        sae={"path": str(tmp_path / "W.npy"), "hookpoint": None},
        lens={"model": str(tiny_lm), "layernorm": "none"},
        selection={"junk": {"min_junk": 1}},
    )
    with pytest.raises(DataError, match=r"only 0 of 20 features remain after the junk filter"):
        pipeline.analyze(cfg, tmp_path / "out")


def test_pca_setting_larger_than_the_data(tmp_path, sae_root, tiny_lm):
    cfg = fixture_config(sae_root, tiny_lm, pca={"dims": [None, 100]})
    with pytest.raises(
        ConfigError, match=r"pca\.dims\[1\]: 100 is larger than the data allows; at most 64"
    ):
        pipeline.analyze(cfg, tmp_path)


def test_lens_width_different_from_the_sae(tmp_path, tiny_lm):
    np.save(
        tmp_path / "W.npy", np.random.default_rng(0).standard_normal((30, 32)).astype(np.float32)
    )
    cfg = fixture_config(
        tmp_path / "W.npy", tiny_lm, sae={"path": str(tmp_path / "W.npy"), "hookpoint": None}
    )
    with pytest.raises(SourceError, match=r"d_in 32 but lens model .* hidden width 64"):
        pipeline.analyze(cfg, tmp_path / "out")


def test_a_model_build_writes_each_hookpoint_as_its_own_build_would_and_fits_runs_together(
    tmp_path, sae_root, tiny_lm, monkeypatch
):
    from generator import executors
    from generator.executors.local import SequentialExecutor

    batches = []

    class Recording(SequentialExecutor):
        def map(self, tasks, arrays):
            batches.append(sorted({t.x_key for t in tasks}))
            yield from super().map(tasks, arrays)

    monkeypatch.setitem(executors.EXECUTORS, "sequential", lambda sweep: Recording())
    sae = {"hookpoint": None, "hookpoints": "all"}
    cfg = fixture_config(sae_root, tiny_lm, sae=sae, sweep={"hierarchy": ["nested"]})
    pipeline.analyze(cfg, tmp_path / "model")
    model = artifacts.load_model(tmp_path / "model")
    # `all`: the root's hookpoint folders in natural order
    assert model.hookpoints == ["layers.0", "layers.1", "layers.1.mlp"]
    # one batch on the executor for the runs of all three (2 PCA settings each)
    assert len(batches) == 1 and len(batches[0]) == 3 * 2
    for hp in model.hookpoints:
        one = fixture_config(
            sae_root, tiny_lm, sae={"hookpoint": hp}, sweep={"hierarchy": ["nested"]}
        )
        single = pipeline.analyze(one, tmp_path / hp)
        part = model.root / "hookpoints" / hp
        assert artifacts.load(part).manifest.sae.hookpoint == hp
        files = sorted(p.relative_to(single) for p in single.rglob("*") if p.is_file())
        assert files == sorted(p.relative_to(part) for p in part.rglob("*") if p.is_file())
        for rel in files:  # each set records its hookpoint's own config: byte for byte
            assert (single / rel).read_bytes() == (part / rel).read_bytes(), (hp, rel)
    assert model.meta.config["sae"]["hookpoints"] == "all"
    with pytest.raises(artifacts.ArtifactError, match="model build"):
        artifacts.load(tmp_path / "model")
    assert isinstance(artifacts.load_any(tmp_path / "model"), artifacts.ModelArtifacts)


def test_a_model_build_reruns_from_the_cache(tmp_path, sae_root, tiny_lm, caplog):
    sae = {"hookpoint": None, "hookpoints": ["layers.1", "layers.0"]}
    cfg = fixture_config(sae_root, tiny_lm, sae=sae, sweep={"hierarchy": ["nested"]})
    pipeline.analyze(cfg, tmp_path)
    before = {p: p.read_bytes() for p in (tmp_path / "artifacts").rglob("*.parquet")}
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="generator.cache"):
        pipeline.analyze(cfg, tmp_path)
    assert not [r for r in caplog.records if "cache miss" in r.getMessage()]
    assert artifacts.load_model(tmp_path).hookpoints == ["layers.1", "layers.0"]  # as listed
    assert before == {p: p.read_bytes() for p in (tmp_path / "artifacts").rglob("*.parquet")}


def test_truncated_cache_files_are_misses_and_the_rerun_recomputes_them(
    tmp_path, sae_root, tiny_lm, caplog
):
    cfg = fixture_config(sae_root, tiny_lm, sweep={"hierarchy": ["nested"]})
    pipeline.analyze(cfg, tmp_path)
    before = {
        p.relative_to(tmp_path): p.read_bytes() for p in (tmp_path / "artifacts").rglob("*.parquet")
    }
    for name in ("lens/*/table.npz", "run/*/run.npz"):
        f = sorted((tmp_path / "cache").glob(name))[0]
        f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])  # a disk that filled up
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="generator.cache"):
        pipeline.analyze(cfg, tmp_path)
    unreadable = [r.getMessage() for r in caplog.records if "unreadable entry" in r.getMessage()]
    assert len(unreadable) == 2 and all("BadZipFile" in m for m in unreadable), unreadable
    after = {
        p.relative_to(tmp_path): p.read_bytes() for p in (tmp_path / "artifacts").rglob("*.parquet")
    }
    assert after == before


def test_a_decoder_of_identical_rows_builds_with_undefined_numbers_as_null(tmp_path, tiny_lm):
    from generator.site import render_site
    from tests import fixtures

    v = np.random.default_rng(0).standard_normal(fixtures.D_MODEL).astype(np.float32)
    fixtures.save_sparsify_sae(tmp_path / "sae" / "layers.0", np.tile(v, (30, 1)), style="new")
    cfg = fixture_config(
        tmp_path / "sae", tiny_lm, pca={"dims": [None]}, sweep={"hierarchy": ["nested"]}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # undefined is said, not warned
        out = pipeline.analyze(cfg, tmp_path / "out")
    text = (out / "manifest.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    arts = artifacts.load(out)
    run = arts.run(arts.run_ids[0])
    assert run.meta.clusters_per_level[0] == 1  # one family: they are the same direction
    assert (render_site(tmp_path / "out") / "index.html").is_file()


def test_all_zero_decoder_rows_are_named_by_latent_id_when_loaded(tmp_path, tiny_lm):
    from tests import fixtures

    W = np.random.default_rng(0).standard_normal((30, fixtures.D_MODEL)).astype(np.float32)
    W[[4, 17]] = 0
    fixtures.save_sparsify_sae(tmp_path / "sae" / "layers.0", W, style="new")
    cfg = fixture_config(tmp_path / "sae", tiny_lm)
    with pytest.raises(DataError, match=r"2 all-zero row\(s\) \(latents 4, 17\)"):
        pipeline.analyze(cfg, tmp_path / "out")
    assert not (tmp_path / "out" / "cache" / "lens").exists()  # before any stage ran


def test_a_relative_lens_folder_is_found_beside_the_config_and_recorded_as_written(
    tmp_path, sae_root, tiny_lm, monkeypatch
):
    import shutil

    import yaml

    from generator.config import load_config
    from tests.conftest import fixture_dict

    conf = tmp_path / "conf"
    shutil.copytree(tiny_lm, conf / "models" / "lm")
    data = fixture_dict(
        sae_root, "models/lm", pca={"dims": [None]}, sweep={"hierarchy": ["nested"]}
    )
    (conf / "c.yml").write_text(yaml.safe_dump(data))
    monkeypatch.chdir(tmp_path)  # not the config's folder
    out = pipeline.analyze(load_config(conf / "c.yml"), tmp_path / "out")
    assert artifacts.load(out).manifest.lens.model == "models/lm"  # not the machine's path
    data["lens"]["model"] = "./models/missing"
    (conf / "bad.yml").write_text(yaml.safe_dump(data))
    with pytest.raises(
        SourceError, match=r"lens folder './models/missing' \(relative to the config"
    ):
        pipeline.analyze(load_config(conf / "bad.yml"), tmp_path / "out2")
    assert not (tmp_path / "out2" / "cache" / "lens").exists()
