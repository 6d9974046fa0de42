"""The stage cache: keys from parameters and input hashes, atomic entries, unreadable = miss."""

from __future__ import annotations

import json
import types
from dataclasses import dataclass

import numpy as np
import pytest

from generator.atomic import previous, replacing
from generator.cache import Cache


@dataclass(frozen=True)
class Doubling:
    x: np.ndarray
    x_key: str
    factor: int


def _stage(calls: list, fail: bool = False) -> types.ModuleType:
    """A stage module built at test time (the cache sees modules, as in generator.stages)."""
    m = types.ModuleType("doubling_stage")
    m.NAME, m.VERSION = "doubling", 1
    m.key = lambda inp: ({"factor": inp.factor}, {"x": inp.x_key})

    def compute(inp):
        calls.append(inp.factor)
        if fail:
            raise KeyboardInterrupt
        return inp.x * inp.factor

    def save(out, folder):
        np.save(folder / "y.npy", out)

    m.compute, m.save, m.load = compute, save, lambda folder: np.load(folder / "y.npy")
    return m


def test_a_hit_returns_what_the_miss_stored(tmp_path):
    calls: list = []
    cache, stage = Cache(tmp_path), _stage(calls)
    inp = Doubling(np.arange(4.0), "k1", 2)
    miss = cache.run(stage, inp)
    hit = cache.run(stage, inp)
    assert (miss.hit, hit.hit) == (False, True) and calls == [2]
    assert miss.key == hit.key and hit.seconds == miss.seconds
    np.testing.assert_array_equal(hit.value, [0.0, 2.0, 4.0, 6.0])
    other = cache.run(stage, Doubling(np.arange(4.0), "k1", 3))  # another parameter: new key
    assert other.key != miss.key and calls == [2, 3]
    meta = json.loads((tmp_path / "doubling" / miss.key / "meta.json").read_text())
    assert meta["params"] == {"factor": 2} and meta["inputs"] == {"x": "k1"}


def test_a_new_stage_version_misses(tmp_path):
    calls: list = []
    cache, stage = Cache(tmp_path), _stage(calls)
    inp = Doubling(np.arange(2.0), "k", 2)
    first = cache.run(stage, inp)
    stage.VERSION = 2
    assert cache.run(stage, inp).key != first.key and calls == [2, 2]


def test_an_unreadable_entry_is_recomputed_and_an_interrupted_one_leaves_nothing(tmp_path):
    calls: list = []
    cache, stage = Cache(tmp_path), _stage(calls)
    inp = Doubling(np.arange(2.0), "k", 2)
    e = cache.run(stage, inp)
    (tmp_path / "doubling" / e.key / "y.npy").write_bytes(b"garbage")
    assert not cache.run(stage, inp).hit and calls == [2, 2]
    with pytest.raises(KeyboardInterrupt):
        cache.run(_stage(calls, fail=True), Doubling(np.arange(2.0), "other", 5))
    assert sorted(p.name for p in (tmp_path / "doubling").iterdir()) == [e.key]


def test_replacing_swaps_a_folder_in_whole_or_not_at_all(tmp_path):
    final = tmp_path / "set"
    with replacing(final) as tmp:
        (tmp / "a").write_text("1")
    with pytest.raises(RuntimeError), replacing(final) as tmp:
        (tmp / "a").write_text("2")
        raise RuntimeError("killed while writing")
    assert (final / "a").read_text() == "1" and sorted(p.name for p in tmp_path.iterdir()) == [
        "set"
    ]
    aside = tmp_path / ".set-old-123"  # a swap stopped between its two renames
    final.rename(aside)
    assert previous(final) == aside
