"""The artifact format (schema_version 1): the only boundary between compute and rendering.

    OUT/artifacts/
      manifest.json                      provenance, resolved config, stage seconds, run ids
      features.parquet                   one row per SAE feature
      runs/<run_id>/run.json             what the run was and its headline numbers
      runs/<run_id>/assignments.parquet  feature → cluster per level, with ART diagnostics
      runs/<run_id>/clusters.parquet     one row per cluster per level

`docs/artifacts.md` documents every file and column. Writing is atomic: the new set is
written beside the old and swapped in with two renames, so readers never see half a set.
This module imports no torch: the renderer uses it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

SCHEMA_VERSION = 1


class ArtifactError(ValueError):
    """Artifacts that are missing, from another schema version, or inconsistent."""


# ---------------------------------------------------------------------------------------
# writing


@dataclass
class RunArtifacts:
    """One run: its description, per-feature assignments and per-cluster table."""

    run_id: str
    meta: dict[str, Any]
    assignments: pd.DataFrame
    clusters: pd.DataFrame


@dataclass
class ArtifactSet:
    manifest: dict[str, Any]
    features: pd.DataFrame
    runs: list[RunArtifacts] = field(default_factory=list)


def write(out_dir: Path, arts: ArtifactSet) -> Path:
    """Write the set to OUT/artifacts atomically; returns that folder."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / "artifacts"
    tmp = Path(tempfile.mkdtemp(prefix=".artifacts-new-", dir=out_dir))
    try:
        manifest = {
            **arts.manifest,
            "schema_version": SCHEMA_VERSION,
            "runs": [r.run_id for r in arts.runs],
        }
        (tmp / "manifest.json").write_text(
            json.dumps(manifest, indent=2, sort_keys=False, allow_nan=False)
        )
        arts.features.to_parquet(tmp / "features.parquet", index=False)
        for r in arts.runs:
            d = tmp / "runs" / r.run_id
            d.mkdir(parents=True)
            (d / "run.json").write_text(
                json.dumps({**r.meta, "run_id": r.run_id}, indent=2, allow_nan=False)
            )
            r.assignments.to_parquet(d / "assignments.parquet", index=False)
            r.clusters.to_parquet(d / "clusters.parquet", index=False)
        old = out_dir / f".artifacts-old-{os.getpid()}"
        if final.exists():
            os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


# ---------------------------------------------------------------------------------------
# reading


class Artifacts:
    """A read-only view of OUT/artifacts; parquet files are read on first use."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.manifest: dict[str, Any] = json.loads((self.root / "manifest.json").read_text())
        version = self.manifest.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ArtifactError(
                f"{self.root}: artifacts have schema_version {version!r}; this version of saetax reads "
                f"{SCHEMA_VERSION}. Re-run `saetax analyze` to regenerate them."
            )

    @property
    def run_ids(self) -> list[str]:
        return list(self.manifest["runs"])

    @cached_property
    def features(self) -> pd.DataFrame:
        return pd.read_parquet(self.root / "features.parquet")

    def run(self, run_id: str) -> RunArtifacts:
        if run_id not in self.run_ids:
            raise ArtifactError(
                f"run {run_id!r} is not in {self.root}; runs: {', '.join(self.run_ids)}."
            )
        d = self.root / "runs" / run_id
        return RunArtifacts(
            run_id,
            json.loads((d / "run.json").read_text()),
            pd.read_parquet(d / "assignments.parquet"),
            pd.read_parquet(d / "clusters.parquet"),
        )

    def runs(self) -> list[RunArtifacts]:
        return [self.run(r) for r in self.run_ids]


def load(path: str | Path) -> Artifacts:
    """Open OUT/artifacts (or OUT itself). A swap interrupted between its two renames is
    recovered from the previous set."""
    p = Path(path)
    if (p / "artifacts" / "manifest.json").is_file():
        p = p / "artifacts"
    if not (p / "manifest.json").is_file():
        olds = (
            sorted(p.parent.glob(".artifacts-old-*"))
            if p.name == "artifacts"
            else sorted(p.glob(".artifacts-old-*"))
        )
        if olds:
            return Artifacts(olds[-1])
        raise ArtifactError(
            f"no artifacts at {path} (expected manifest.json); run `saetax analyze` first."
        )
    return Artifacts(p)
