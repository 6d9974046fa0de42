"""The artifact format (schema_version 4): the only boundary between compute and rendering.

    OUT/artifacts/
      manifest.json                      provenance, resolved config, run ids (no timings:
                                         same config and seed, same bytes)
      features.parquet                   one row per SAE feature
      runs/<run_id>/run.json             what the run was (method, parameters, levels) and
                                         its headline numbers per level
      runs/<run_id>/assignments.parquet  feature → cluster per level (+ ART diagnostics)
      runs/<run_id>/clusters.parquet     one row per cluster per level
      evolution/<name>/evolution.json    a taxonomy followed across snapshots: counts
      evolution/<name>/features.parquet  every snapshot's features: category, resonated, match
      evolution/<name>/categories.parquet  every category: members, drift, tokens per snapshot

A model build (`sae.hookpoints`) writes `model.json` (the config and the hookpoints) and
one such set per hookpoint under `hookpoints/<hookpoint>/`.

`docs/artifacts.md` documents every file and column. The JSON files are typed
(`generator.records`: `Manifest`, `RunMeta`, `LevelMetrics`, `EvolutionMeta`), column
names are defined here once, and readers hand out these types, so the site never reads a
string key of its own. Writing is atomic (`generator.atomic`). This module imports no
torch: the renderer uses it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from generator.atomic import previous, replacing
from generator.errors import reading
from generator.records import (  # noqa: F401  (the format's records, read through here)
    CLUSTER_COLUMNS,
    SCHEMA_VERSION,
    Agreement,
    ArtifactError,
    ClusterRow,
    DecoderStructure,
    EvolutionMeta,
    GeneratorInfo,
    LensIdentity,
    LevelMetrics,
    Manifest,
    ModelMeta,
    NnSummary,
    PcaInfo,
    Recommendation,
    RunMeta,
    SaeIdentity,
    SelectionInfo,
    SnapshotCounts,
    SnapshotInfo,
    from_json,
    hookpoint_folder,
    to_json,
)

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------
# column names (the only place they are spelt)


class Col:
    """Column names of features.parquet, assignments.parquet and clusters.parquet."""

    FEATURE = "feature"

    @staticmethod
    def level(k: int) -> str:
        """The cluster of each feature at level k."""
        return f"level_{k}"

    @staticmethod
    def cos(k: int) -> str:
        """Cosine of each feature's decoder row to its level-k cluster's mean direction."""
        return f"cos_{k}"

    @staticmethod
    def match(k: int) -> str:
        return f"match_{k}"

    @staticmethod
    def margin(k: int) -> str:
        return f"margin_{k}"

    @staticmethod
    def created(k: int) -> str:
        return f"created_{k}"


# ---------------------------------------------------------------------------------------
# a run, and the whole set


@dataclass
class RunArtifacts:
    """One run: its description, per-feature assignments and per-cluster table."""

    meta: RunMeta
    assignments: pd.DataFrame
    clusters: pd.DataFrame

    @property
    def run_id(self) -> str:
        return self.meta.run_id

    @property
    def features(self) -> np.ndarray:
        return self.assignments[Col.FEATURE].to_numpy()

    def column(self, name: str) -> np.ndarray | None:
        """An assignments column (e.g. `Col.match(1)`), None when the run has none."""
        return self.assignments[name].to_numpy() if name in self.assignments else None

    def labels(self) -> np.ndarray:
        """(n_features, n_levels) cluster per level, rows as in assignments.parquet."""
        return np.stack(
            [self.assignments[Col.level(k)].to_numpy() for k in range(self.meta.n_levels)],
            axis=1,
        )

    def cluster_rows(self) -> list[ClusterRow]:
        c = self.clusters
        cols = [c[name].tolist() for name in CLUSTER_COLUMNS]
        return [ClusterRow(*(_plain(v) for v in values)) for values in zip(*cols)]

    def parents(self) -> dict[tuple[int, int], int]:
        """(level, cluster) → its parent cluster at level − 1 (−1 at level 0)."""
        c = self.clusters
        return {
            (int(lv), int(cl)): int(p)
            for lv, cl, p in zip(c["level"].tolist(), c["cluster"].tolist(), c["parent"].tolist())
        }


def _plain(v: Any) -> Any:
    return v.tolist() if isinstance(v, np.ndarray) else v


@dataclass
class EvolutionArtifacts:
    """One evolution: its description, every snapshot's features, every category."""

    meta: EvolutionMeta
    features: pd.DataFrame
    categories: pd.DataFrame

    @property
    def name(self) -> str:
        return self.meta.name


@dataclass
class ArtifactSet:
    manifest: Manifest
    features: pd.DataFrame
    runs: list[RunArtifacts] = field(default_factory=list)
    evolutions: list[EvolutionArtifacts] = field(default_factory=list)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=False, allow_nan=False)


def write(out_dir: Path, arts: ArtifactSet) -> Path:
    """Write the set to OUT/artifacts atomically; returns that folder."""
    final = Path(out_dir) / "artifacts"
    with replacing(final) as tmp:
        _write_set(tmp, arts)
    return final


def write_model(out_dir: Path, meta: ModelMeta, sets: dict[str, ArtifactSet]) -> Path:
    """A model build: OUT/artifacts/model.json and one set per hookpoint under
    `hookpoints/<folder>/`, all swapped in at once."""
    final = Path(out_dir) / "artifacts"
    folders = [hookpoint_folder(h) for h in sets]
    if len(set(folders)) != len(folders):
        dup = next(f for f in folders if folders.count(f) > 1)
        raise ArtifactError(f"two hookpoints share the folder name {dup!r}; rename one.")
    meta = dataclasses.replace(meta, schema_version=SCHEMA_VERSION, hookpoints=list(sets))
    with replacing(final) as tmp:
        (tmp / "model.json").write_text(_dumps(to_json(meta)))
        for hookpoint, arts in sets.items():
            d = tmp / "hookpoints" / hookpoint_folder(hookpoint)
            d.mkdir(parents=True)
            _write_set(d, arts)
    return final


def _write_set(tmp: Path, arts: ArtifactSet) -> None:
    manifest = dataclasses.replace(
        arts.manifest,
        schema_version=SCHEMA_VERSION,
        runs=[r.run_id for r in arts.runs],
        evolutions=[e.name for e in arts.evolutions],
    )
    (tmp / "manifest.json").write_text(_dumps(to_json(manifest)))
    arts.features.to_parquet(tmp / "features.parquet", index=False)
    for r in arts.runs:
        d = tmp / "runs" / r.run_id
        d.mkdir(parents=True)
        (d / "run.json").write_text(_dumps(to_json(r.meta)))
        r.assignments.to_parquet(d / "assignments.parquet", index=False)
        r.clusters.to_parquet(d / "clusters.parquet", index=False)
    for e in arts.evolutions:
        d = tmp / "evolution" / e.name
        d.mkdir(parents=True)
        (d / "evolution.json").write_text(_dumps(to_json(e.meta)))
        e.features.to_parquet(d / "features.parquet", index=False)
        e.categories.to_parquet(d / "categories.parquet", index=False)


def _read_json(path: Path) -> dict[str, Any]:
    with reading(path, "artifact JSON", ArtifactError):
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            raise ValueError(f"a JSON object was expected, got {type(data).__name__}")
        return data


def _read_record(cls: type, path: Path) -> Any:
    """A top-level record (manifest.json, model.json) of this schema version."""
    data = _read_json(path)
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ArtifactError(
            f"{path.parent}: artifacts have schema_version {version!r}; this version of saetax "
            f"reads {SCHEMA_VERSION}. Re-run `saetax analyze` to regenerate them."
        )
    return from_json(cls, data)


def _read_parquet(path: Path) -> pd.DataFrame:
    with reading(path, "a Parquet file", ArtifactError):
        return pd.read_parquet(path)


class Artifacts:
    """A read-only view of OUT/artifacts; parquet files are read on first use."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.manifest: Manifest = _read_record(Manifest, self.root / "manifest.json")

    @property
    def run_ids(self) -> list[str]:
        return list(self.manifest.runs)

    @cached_property
    def features(self) -> pd.DataFrame:
        return _read_parquet(self.root / "features.parquet")

    def _folder(self, kind: str, sub: str, name: str, have: list[str]) -> Path:
        if name not in have:
            raise ArtifactError(
                f"{kind} {name!r} is not in {self.root}; {kind}s: {', '.join(have) or 'none'}."
            )
        return self.root / sub / name

    def run(self, run_id: str) -> RunArtifacts:
        d = self._folder("run", "runs", run_id, self.run_ids)
        return RunArtifacts(
            from_json(RunMeta, _read_json(d / "run.json")),
            _read_parquet(d / "assignments.parquet"),
            _read_parquet(d / "clusters.parquet"),
        )

    def runs(self) -> list[RunArtifacts]:
        return [self.run(r) for r in self.run_ids]

    def evolution(self, name: str) -> EvolutionArtifacts:
        d = self._folder("evolution", "evolution", name, self.manifest.evolutions)
        return EvolutionArtifacts(
            from_json(EvolutionMeta, _read_json(d / "evolution.json")),
            _read_parquet(d / "features.parquet"),
            _read_parquet(d / "categories.parquet"),
        )

    def evolutions(self) -> list[EvolutionArtifacts]:
        return [self.evolution(n) for n in self.manifest.evolutions]


class ModelArtifacts:
    """A read-only view of a model build's OUT/artifacts: model.json and, per hookpoint,
    an `Artifacts` view of its set."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.meta: ModelMeta = _read_record(ModelMeta, self.root / "model.json")

    @property
    def hookpoints(self) -> list[str]:
        return list(self.meta.hookpoints)

    def hookpoint(self, hookpoint: str) -> Artifacts:
        if hookpoint not in self.meta.hookpoints:
            raise ArtifactError(
                f"hookpoint {hookpoint!r} is not in {self.root}; hookpoints: "
                f"{', '.join(self.meta.hookpoints)}."
            )
        return Artifacts(self.root / "hookpoints" / hookpoint_folder(hookpoint))


def _root(path: str | Path, marker: str) -> Path | None:
    p = Path(path)
    if (p / "artifacts" / marker).is_file():
        return p / "artifacts"
    if (p / marker).is_file():
        return p
    old = previous(p if p.name == "artifacts" else p / "artifacts")
    return old if old is not None and (old / marker).is_file() else None


def load(path: str | Path) -> Artifacts:
    """Open OUT/artifacts (or OUT itself). A swap interrupted between its two renames is
    recovered from the previous set."""
    root = _root(path, "manifest.json")
    if root is not None:
        return Artifacts(root)
    if _root(path, "model.json") is not None:
        raise ArtifactError(
            f"{path} holds a model build (several hookpoints); open it with `load_any` or "
            "`load_model`, or one hookpoint's set under artifacts/hookpoints/."
        )
    raise ArtifactError(
        f"no artifacts at {path} (expected manifest.json); run `saetax analyze` first."
    )


def load_model(path: str | Path) -> ModelArtifacts:
    """Open a model build's OUT/artifacts (or OUT itself)."""
    root = _root(path, "model.json")
    if root is None:
        raise ArtifactError(
            f"no model build at {path} (expected model.json); run `saetax analyze` with "
            "`sae.hookpoints` first."
        )
    return ModelArtifacts(root)


def load_any(path: str | Path) -> Artifacts | ModelArtifacts:
    """Whichever a build wrote: one hookpoint's set, or a model of several."""
    if _root(path, "model.json") is not None and _root(path, "manifest.json") is None:
        return load_model(path)
    return load(path)
