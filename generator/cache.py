"""Stage cache: a result per (stage, code version, parameters, input hashes), written atomically.

Each entry is a folder `OUT/cache/<stage>/<key>/` holding the stage's files and a
`meta.json` saying what produced it. Entries are written under a temporary name and
renamed into place, so a killed run never leaves a half entry; an unreadable entry is
a miss, not a crash. Hits and misses are logged with the reason.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

# bump a stage's version when its code changes what it computes
STAGE_VERSIONS = {
    "lens": 1,
    "selection": 1,
    "pca": 1,
    "umap": 1,
    "decoder_stats": 1,
    "run": 1,
    "interpret": 1,
}


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


def stage_key(stage: str, params: dict[str, Any], inputs: dict[str, str]) -> str:
    """sha256 of stage name, its code version, its parameters and its inputs' hashes."""
    payload = stable_json(
        {"stage": stage, "version": STAGE_VERSIONS[stage], "params": params, "inputs": inputs}
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


class Cache:
    """Folder-per-entry cache under `root` (usually OUT/cache)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.hits: list[str] = []
        self.misses: list[str] = []

    def path(self, stage: str, key: str) -> Path:
        return self.root / stage / key

    def lookup(self, stage: str, key: str) -> Path | None:
        p = self.path(stage, key)
        try:
            meta = json.loads((p / "meta.json").read_text())
            if meta.get("key") != key:
                return None
        except (OSError, ValueError):
            return None
        return p

    def get_or_compute(
        self,
        stage: str,
        params: dict[str, Any],
        inputs: dict[str, str],
        compute: Callable[[Path], dict[str, Any] | None],
        label: str = "",
    ) -> tuple[str, Path]:
        """Return (key, folder) of the entry, computing it into a fresh folder on a miss."""
        key = stage_key(stage, params, inputs)
        name = f"{stage}{' ' + label if label else ''}"
        found = self.lookup(stage, key)
        if found is not None:
            log.info("cache hit: %s (%s)", name, key)
            self.hits.append(stage)
            return key, found
        log.info("cache miss: %s (%s) - computing", name, key)
        self.misses.append(stage)
        final = self.path(stage, key)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=final.parent))
        try:
            t0 = time.perf_counter()
            extra = compute(tmp) or {}
            meta = {
                "key": key,
                "stage": stage,
                "version": STAGE_VERSIONS[stage],
                "params": params,
                "inputs": inputs,
                "seconds": round(time.perf_counter() - t0, 3),
                **extra,
            }
            (tmp / "meta.json").write_text(stable_json(meta))
            if final.exists():  # a stale or unreadable entry: replace it
                shutil.rmtree(final)
            os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return key, final

    @staticmethod
    def meta(folder: Path) -> dict[str, Any]:
        return json.loads((folder / "meta.json").read_text())
