"""Stage cache: one entry per (stage, code version, parameters, input hashes), written atomically.

A stage (see `generator/stages/`) says what its key is made of, how to compute its output
and how to save and load it; this module decides whether to compute, and writes. Each
entry is a folder `OUT/cache/<stage>/<key>/` holding the stage's files and a `meta.json`
saying what produced it. An unreadable entry is a miss, not a crash. Hits and misses are
logged with the stage's label.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import numpy as np

from generator.atomic import replacing

log = logging.getLogger(__name__)

In = TypeVar("In")
Out = TypeVar("Out")


class Stage(Protocol):
    """What a stage module provides (each module under `generator/stages/` is one)."""

    NAME: str
    VERSION: int  # bump when the stage's code changes what it computes

    def key(self, inp: Any) -> tuple[dict[str, Any], dict[str, str]]:
        """(parameters, content hashes of the inputs): what the cache key is made of."""

    def compute(self, inp: Any) -> Any:
        """The stage's output from its input (pure: no cache, no other stage's files)."""

    def save(self, out: Any, folder: Path) -> None:
        """Write the output into an (empty) entry folder."""

    def load(self, folder: Path) -> Any:
        """Read the output back from an entry folder."""


@dataclass(frozen=True)
class Entry(Generic[Out]):
    """A stage's output with its cache key (the content hash later stages are keyed on)."""

    key: str
    value: Out
    seconds: float  # time the computation took when it ran (a hit keeps the original)
    hit: bool


def stable_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_json_default)


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON-serialisable: {type(o).__name__}")


def array_hash(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def text_hash(*parts: str) -> str:
    """A content hash derived from other hashes or names."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def stage_key(name: str, version: int, params: dict[str, Any], inputs: dict[str, str]) -> str:
    """sha256 of stage name, its code version, its parameters and its inputs' hashes."""
    payload = stable_json({"stage": name, "version": version, "params": params, "inputs": inputs})
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


class Cache:
    """Folder-per-entry cache under `root` (usually OUT/cache)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def _key(self, stage: Stage, inp: Any) -> tuple[str, dict[str, Any]]:
        params, inputs = stage.key(inp)
        key = stage_key(stage.NAME, stage.VERSION, params, inputs)
        meta = {
            "key": key,
            "stage": stage.NAME,
            "version": stage.VERSION,
            "params": params,
            "inputs": inputs,
        }
        return key, meta

    def lookup(self, stage: Stage, inp: Any, label: str = "") -> Entry[Any] | None:
        """The cached output for this input, or None (a missing or unreadable entry)."""
        key, _ = self._key(stage, inp)
        folder = self.root / stage.NAME / key
        try:
            meta = json.loads((folder / "meta.json").read_text())
            if meta.get("key") != key:
                return None
            value = stage.load(folder)
        except Exception as e:  # truncated npz (BadZipFile), garbage JSON, a missing file
            why = f"unreadable entry: {type(e).__name__}" if folder.exists() else "not computed yet"
            log.info("cache miss: %s (%s) - %s", _name(stage, label), key, why)
            return None
        log.info("cache hit: %s (%s)", _name(stage, label), key)
        return Entry(key, value, float(meta["seconds"]), True)

    def store(self, stage: Stage, inp: Any, value: Any, seconds: float) -> Entry[Any]:
        """Save an output computed elsewhere (an executor's result) as the input's entry.
        The value returned is read back from the entry, so a miss and a later hit hand the
        next stage the same thing."""
        key, meta = self._key(stage, inp)
        folder = self.root / stage.NAME / key
        with replacing(folder) as tmp:
            stage.save(value, tmp)
            (tmp / "meta.json").write_text(stable_json({**meta, "seconds": round(seconds, 3)}))
        return Entry(key, stage.load(folder), round(seconds, 3), False)

    def run(self, stage: Stage, inp: Any, label: str = "") -> Entry[Any]:
        """The cached output, or compute it here and store it."""
        found = self.lookup(stage, inp, label)
        if found is not None:
            return found
        t0 = time.perf_counter()
        value = stage.compute(inp)
        return self.store(stage, inp, value, time.perf_counter() - t0)


def _name(stage: Stage, label: str) -> str:
    return f"{stage.NAME}{' ' + label if label else ''}"
