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
    NnSummary,
    PcaInfo,
    Recommendation,
    RunMeta,
    SaeIdentity,
    SelectionInfo,
    SnapshotCounts,
    SnapshotInfo,
    from_json,
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
    manifest = dataclasses.replace(
        arts.manifest,
        schema_version=SCHEMA_VERSION,
        runs=[r.run_id for r in arts.runs],
        evolutions=[e.name for e in arts.evolutions],
    )
    with replacing(final) as tmp:
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
    return final


class Artifacts:
    """A read-only view of OUT/artifacts; parquet files are read on first use."""

    def __init__(self, root: Path):
        self.root = Path(root)
        data = json.loads((self.root / "manifest.json").read_text())
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ArtifactError(
                f"{self.root}: artifacts have schema_version {version!r}; this version of saetax reads "
                f"{SCHEMA_VERSION}. Re-run `saetax analyze` to regenerate them."
            )
        self.manifest: Manifest = from_json(Manifest, data)

    @property
    def run_ids(self) -> list[str]:
        return list(self.manifest.runs)

    @cached_property
    def features(self) -> pd.DataFrame:
        return pd.read_parquet(self.root / "features.parquet")

    def _folder(self, kind: str, sub: str, name: str, have: list[str]) -> Path:
        if name not in have:
            raise ArtifactError(
                f"{kind} {name!r} is not in {self.root}; {kind}s: {', '.join(have) or 'none'}."
            )
        return self.root / sub / name

    def run(self, run_id: str) -> RunArtifacts:
        d = self._folder("run", "runs", run_id, self.run_ids)
        return RunArtifacts(
            from_json(RunMeta, json.loads((d / "run.json").read_text())),
            pd.read_parquet(d / "assignments.parquet"),
            pd.read_parquet(d / "clusters.parquet"),
        )

    def runs(self) -> list[RunArtifacts]:
        return [self.run(r) for r in self.run_ids]

    def evolution(self, name: str) -> EvolutionArtifacts:
        d = self._folder("evolution", "evolution", name, self.manifest.evolutions)
        return EvolutionArtifacts(
            from_json(EvolutionMeta, json.loads((d / "evolution.json").read_text())),
            pd.read_parquet(d / "features.parquet"),
            pd.read_parquet(d / "categories.parquet"),
        )

    def evolutions(self) -> list[EvolutionArtifacts]:
        return [self.evolution(n) for n in self.manifest.evolutions]


def load(path: str | Path) -> Artifacts:
    """Open OUT/artifacts (or OUT itself). A swap interrupted between its two renames is
    recovered from the previous set."""
    p = Path(path)
    if (p / "artifacts" / "manifest.json").is_file():
        p = p / "artifacts"
    if (p / "manifest.json").is_file():
        return Artifacts(p)
    old = previous(p if p.name == "artifacts" else p / "artifacts")
    if old is not None:
        return Artifacts(old)
    raise ArtifactError(
        f"no artifacts at {path} (expected manifest.json); run `saetax analyze` first."
    )
