"""The artifact boundary: typed readers, one spelling of every column, atomic sets."""

from __future__ import annotations

import json
import logging
import shutil

import pytest

from generator import artifacts
from generator.artifacts import ArtifactError, Col, LevelMetrics, RunMeta, from_json, to_json


def test_readers_hand_out_typed_records(analyzed):
    out, cfg = analyzed
    a = artifacts.load(out)
    assert isinstance(a.manifest.selection, artifacts.SelectionInfo)
    assert isinstance(a.manifest.decoder_structure.decoder, artifacts.NnSummary)
    r = a.run(a.run_ids[0])
    assert isinstance(r.meta, RunMeta) and isinstance(r.meta.metrics[0], LevelMetrics)
    rows = r.cluster_rows()
    assert len(rows) == len(r.clusters) and isinstance(rows[0].tokens, list)
    parents = r.parents()
    assert all(parents[(0, row.cluster)] == -1 for row in rows if row.level == 0)
    labels = r.labels()
    for row in rows:
        if row.level > 0:  # a child's members all sit in its parent
            members = labels[:, row.level] == row.cluster
            assert set(labels[members, row.level - 1]) == {parents[(row.level, row.cluster)]}
    assert [Col.level(1), Col.match(1), Col.cos(1)] == ["level_1", "match_1", "cos_1"]
    assert Col.level(0) in r.assignments and Col.cos(0) in r.assignments


def test_unknown_keys_are_logged_and_missing_ones_named(analyzed, caplog):
    out, _ = analyzed
    a = artifacts.load(out)
    level = a.run(a.run_ids[0]).meta.metrics[0]
    data = {**to_json(level), "from_the_future": 1}
    with caplog.at_level(logging.INFO, logger="generator.artifacts"):
        assert from_json(LevelMetrics, data) == level
    assert "from_the_future" in caplog.text
    del data["gini"]
    with pytest.raises(ArtifactError, match=r"LevelMetrics: the key 'gini' is missing"):
        from_json(LevelMetrics, data)


def test_another_schema_version_is_refused_with_what_to_do(analyzed, tmp_path):
    out, _ = analyzed
    copy = tmp_path / "artifacts"
    shutil.copytree(out / "artifacts", copy)
    m = json.loads((copy / "manifest.json").read_text())
    m["schema_version"] = 1
    (copy / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(
        ArtifactError, match=r"schema_version 1; this version of saetax reads 4\. Re-run"
    ):
        artifacts.load(tmp_path)


def test_a_set_interrupted_between_its_two_renames_is_read_from_the_previous_one(
    analyzed, tmp_path
):
    out, _ = analyzed
    shutil.copytree(out / "artifacts", tmp_path / ".artifacts-old-999")
    a = artifacts.load(tmp_path)
    assert a.root.name == ".artifacts-old-999" and a.run_ids
    with pytest.raises(ArtifactError, match="run `saetax analyze` first"):
        artifacts.load(tmp_path / "nothing")


def test_the_weakest_stability_names_which_refit_and_the_unstable_check_reports_it(analyzed):
    from dataclasses import replace

    from generator.checks import CHECKS

    out, _ = analyzed
    level = artifacts.load(out).run(artifacts.load(out).run_ids[0]).meta.metrics[0]
    cases = [
        ((0.9, 0.4, 0.6), ("seed", 0.4)),
        ((0.3, None, 0.3), ("order", 0.3)),  # a tie: the first in order, seed, subsample
        ((None, None, 0.7), ("subsample", 0.7)),
        ((None, None, None), None),
    ]
    for (order, seed, sub), expected in cases:
        lv = replace(level, order_ari=order, seed_ari=seed, subsample_ari=sub)
        assert lv.weakest == expected
        assert lv.weakest_ari == (None if expected is None else expected[1])
    a = artifacts.load(out)
    lv0 = a.run(a.manifest.recommended.run).meta.metrics[0]
    aris = {"order": lv0.order_ari, "seed": lv0.seed_ari, "subsample": lv0.subsample_ari}
    kind = min((k for k in aris if aris[k] is not None), key=lambda k: aris[k])
    result = CHECKS["unstable"].run(a)
    assert result.detail.endswith(f"weakest ARI {aris[kind]:.2f} ({kind}; fails below 0.5)")
    assert result.failed == (aris[kind] < 0.5)
