"""The artifact format (schema_version 2): the only boundary between compute and rendering.

    OUT/artifacts/
      manifest.json                      provenance, resolved config, stage seconds, run ids
      features.parquet                   one row per SAE feature
      runs/<run_id>/run.json             what the run was (method, parameters, levels) and
                                         its headline numbers per level
      runs/<run_id>/assignments.parquet  feature → cluster per level (+ ART diagnostics)
      runs/<run_id>/clusters.parquet     one row per cluster per level

`docs/artifacts.md` documents every file and column. The JSON files are typed here
(`Manifest`, `RunMeta`, `LevelMetrics`), column names are defined here once, and readers
hand out these types, so the site never reads a string key of its own. Writing is atomic
(`generator.atomic`). This module imports no torch: the renderer uses it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import types
import typing
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from generator.atomic import previous, replacing

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2


class ArtifactError(ValueError):
    """Artifacts that are missing, from another schema version, or inconsistent."""


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
# typed JSON


@dataclass(frozen=True)
class SaeIdentity:
    """Where a decoder came from, recorded in the manifest and shown on the site."""

    kind: Literal["hub", "local", "file"]
    location: str
    """Hub repo id, or the absolute path of the folder or file."""
    hookpoint: str | None
    revision: str | None
    """For the hub: the resolved commit; otherwise None."""
    d_in: int
    num_latents: int
    stored_dtype: str
    cfg: dict[str, Any] = field(default_factory=dict)
    """The SAE's own cfg.json (parsed by sparsify's config class), when there is one."""

    @property
    def label(self) -> str:
        hp = f" @ {self.hookpoint}" if self.hookpoint else ""
        return f"{self.location}{hp}"


@dataclass(frozen=True)
class LensIdentity:
    """What the lens is, for the manifest and the site."""

    model: str
    kind: Literal["causal_lm", "encoder"]
    revision: str | None
    model_class: str
    d_model: int
    unembed_rows: int
    n_tokens: int
    final_norm: str
    """`layernorm`, `rmsnorm` or `none`."""


@dataclass(frozen=True)
class NnSummary:
    """Quantiles and histogram of nearest-neighbour cosines."""

    p10: float
    median: float
    p90: float
    histogram: list[int]


@dataclass(frozen=True)
class DecoderStructure:
    """Nearest-neighbour cosines of decoder rows beside random unit vectors of that shape."""

    shape: list[int]
    sample: int
    bins: list[float]
    decoder: NnSummary
    random: NnSummary
    norms: dict[str, float]


@dataclass(frozen=True)
class SelectionInfo:
    n_features: int
    n_junk: int
    n_selected: int


@dataclass(frozen=True)
class PcaInfo:
    landscape: dict[str, int | None]
    """Dimensions needed for 50/80/90/95/99 % of the variance (None: never)."""
    explained_variance_ratio: list[float]


@dataclass(frozen=True)
class Recommendation:
    run: str
    score: float
    why: str
    best_art: str | None = None  # the best ART run (the recommendation itself when it is ART)
    method: str = "art"  # the recommended run's method


@dataclass(frozen=True)
class GeneratorInfo:
    name: str
    version: str
    packages: dict[str, str]


@dataclass(frozen=True)
class Manifest:
    """manifest.json: what was analysed, how, and which runs there are."""

    generator: GeneratorInfo
    config: dict[str, Any]  # the resolved config, key for key as site_config.yml spells it
    sae: SaeIdentity
    sae_source: str  # the SAE as the config names it (a hub id, or the path as written)
    lens: LensIdentity
    selection: SelectionInfo
    pca: PcaInfo
    decoder_structure: DecoderStructure
    stage_seconds: dict[str, float]
    recommended: Recommendation | None
    schema_version: int = SCHEMA_VERSION
    runs: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LevelMetrics:
    """One level's headline numbers. Cohesion, distinctiveness and token coherence are
    means over the families of 2+ features; each `…_chance` is what random sets of the
    same sizes give; the three ARIs compare refits (see generator/stability.py)."""

    clusters: int
    singletons: int  # features alone in their family
    singleton_share: float  # … as a share of the features
    largest_share: float
    gini: float
    cohesion: float | None
    cohesion_chance: float | None
    distinctiveness: float | None
    token_coherence: float | None
    token_coherence_chance: float | None
    catch_all: int  # families flagged as catch-alls
    catch_all_share: float  # … and the share of the features they hold
    silhouette: float | None
    mean_match: float | None  # ART only
    mean_margin: float | None  # ART only
    order_ari: float | None
    seed_ari: float | None
    subsample_ari: float | None


@dataclass(frozen=True)
class RunMeta:
    """run.json: which method ran with which parameters, and how it went per level."""

    run_id: str
    method: str
    params: dict[str, Any]
    label: str  # the method's own name for what ran, e.g. "cosine ART, nested hierarchy"
    level_param: str | None  # what sets each level's granularity ("vigilance ρ", "K")
    level_values: list[Any]
    pca_dims: int | None
    explained_variance: float
    seed: int
    stability: dict[str, Any]  # refits made: orders, seeds, subsamples, fraction
    n_levels: int
    clusters_per_level: list[int]
    fit_seconds: float
    metrics: list[LevelMetrics]
    matched_to: str | None = None  # a baseline run at another run's clusters per level


@dataclass(frozen=True)
class ClusterRow:
    """One row of clusters.parquet."""

    cluster: int
    level: int
    parent: int
    size: int
    n_children: int
    tokens: list[str]
    token_ids: list[int]
    token_scores: list[float]
    bottom_tokens: list[str]  # the differential direction's most negative logits
    bottom_token_ids: list[int]
    bottom_scores: list[float]
    nearest: list[int]  # the same level's families nearest by centre cosine
    nearest_cos: list[float]
    cohesion: float
    distinctiveness: float
    global_overlap: float
    mean_match: float  # NaN when no member joined (or not ART)
    mean_margin: float
    stability: float  # mean best-match Jaccard across subsample refits (NaN: not measured)
    cohesion_chance: float  # cohesion of random sets of this size
    token_coherence: float  # mean share of its tokens among a member's own top tokens
    token_coherence_chance: float  # … for a random feature
    catch_all: bool  # large and barely more cohesive than chance


CLUSTER_COLUMNS = tuple(f.name for f in dataclasses.fields(ClusterRow))


def to_json(obj: Any) -> dict[str, Any]:
    return asdict(obj)


def from_json(cls: type, data: dict[str, Any]) -> Any:
    """A typed record from JSON data; unknown keys are logged and ignored (a newer writer),
    missing ones without a default are an ArtifactError."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        log.info("%s: ignoring unknown keys %s", cls.__name__, unknown)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            kwargs[f.name] = _convert(hints[f.name], data[f.name])
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ArtifactError(f"{cls.__name__}: the key {f.name!r} is missing")
    return cls(**kwargs)


def _convert(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    if dataclasses.is_dataclass(tp):
        return from_json(tp, value)
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _convert(inner[0], value) if len(inner) == 1 else value
    if origin is list:
        (arg,) = typing.get_args(tp)
        return [_convert(arg, v) for v in value]
    return value


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
class ArtifactSet:
    manifest: Manifest
    features: pd.DataFrame
    runs: list[RunArtifacts] = field(default_factory=list)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=False, allow_nan=False)


def write(out_dir: Path, arts: ArtifactSet) -> Path:
    """Write the set to OUT/artifacts atomically; returns that folder."""
    final = Path(out_dir) / "artifacts"
    manifest = dataclasses.replace(
        arts.manifest, schema_version=SCHEMA_VERSION, runs=[r.run_id for r in arts.runs]
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

    def run(self, run_id: str) -> RunArtifacts:
        if run_id not in self.run_ids:
            raise ArtifactError(
                f"run {run_id!r} is not in {self.root}; runs: {', '.join(self.run_ids)}."
            )
        d = self.root / "runs" / run_id
        return RunArtifacts(
            from_json(RunMeta, json.loads((d / "run.json").read_text())),
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
    if (p / "manifest.json").is_file():
        return Artifacts(p)
    old = previous(p if p.name == "artifacts" else p / "artifacts")
    if old is not None:
        return Artifacts(old)
    raise ArtifactError(
        f"no artifacts at {path} (expected manifest.json); run `saetax analyze` first."
    )
