"""Every stage module is a unit: the cache contract, and a lossless save/load of its entry."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from generator.stages import decoder_stats, interpret, lens, neighbours, pca, runs, selection, umap

STAGES = (lens, selection, pca, umap, decoder_stats, neighbours, runs, interpret)


def _same(a, b, where="value"):
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        assert type(a) is type(b), where
        for f in dataclasses.fields(a):
            _same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


@pytest.mark.parametrize("stage", STAGES, ids=lambda m: m.NAME)
def test_a_stage_entry_loads_saves_and_loads_again_unchanged(analyzed, tmp_path, stage):
    out, _ = analyzed
    entries = sorted((out / "cache" / stage.NAME).glob("*/meta.json"))
    assert entries, f"the shared analysis wrote no {stage.NAME} entry"
    for meta_file in entries:
        meta = json.loads(meta_file.read_text())
        assert meta["stage"] == stage.NAME and meta["version"] == stage.VERSION
        first = stage.load(meta_file.parent)
        copy = tmp_path / meta["key"]
        copy.mkdir()
        stage.save(first, copy)
        _same(first, stage.load(copy), stage.NAME)


def test_each_stage_names_its_key_inputs_by_content_hash_not_by_path(analyzed):
    out, _ = analyzed
    for stage in STAGES:
        for meta_file in (out / "cache" / stage.NAME).glob("*/meta.json"):
            inputs = json.loads(meta_file.read_text())["inputs"]
            assert inputs and all(len(v) == 16 and "/" not in v for v in inputs.values()), (
                stage.NAME,
                inputs,
            )
