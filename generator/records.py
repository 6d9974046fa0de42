"""The typed records of the artifact format: every JSON file (manifest.json, run.json,
evolution.json) and every row of clusters.parquet as a dataclass, and the one conversion
from and to JSON. `generator.artifacts` reads and writes them; see its docstring."""

from __future__ import annotations

import dataclasses
import logging
import math
import types
import typing
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from generator.errors import SaetaxError

log = logging.getLogger("generator.artifacts")

SCHEMA_VERSION = 4


class ArtifactError(SaetaxError, ValueError):
    """Artifacts that are missing, from another schema version, or inconsistent."""


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
    recommended: Recommendation | None
    schema_version: int = SCHEMA_VERSION
    runs: list[str] = field(default_factory=list)
    evolutions: list[str] = field(default_factory=list)
    sae_hash: str = ""  # content hash of the decoder (an evolution's snapshot may be it)


@dataclass
class ModelMeta:
    """model.json: a build of several hookpoints of one SAE (`sae.hookpoints`); each
    hookpoint's artifact set lies in `hookpoints/<hookpoint_folder(h)>/`."""

    generator: GeneratorInfo
    config: dict[str, Any]  # the resolved config (with `sae.hookpoints`)
    sae_source: str
    hookpoints: list[str]  # in build order
    schema_version: int = SCHEMA_VERSION


def hookpoint_folder(hookpoint: str) -> str:
    """A hookpoint's folder name in a model build (artifacts and site): the hookpoint as
    spelt, with any character other than letters, digits, `.`, `-` and `_` as `_`."""
    import re

    return re.sub(r"[^A-Za-z0-9._-]", "_", hookpoint).strip(".") or "_"


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

    @property
    def weakest(self) -> tuple[str, float] | None:
        """Which of the order, seed and subsample ARIs measured is lowest ("order", "seed"
        or "subsample"), and its value; None when none was measured."""
        aris = (
            ("order", self.order_ari),
            ("seed", self.seed_ari),
            ("subsample", self.subsample_ari),
        )
        measured = [(kind, a) for kind, a in aris if a is not None]
        return min(measured, key=lambda m: m[1]) if measured else None

    @property
    def weakest_ari(self) -> float | None:
        """The lowest of the order, seed and subsample ARIs measured; None when none was."""
        weakest = self.weakest
        return None if weakest is None else weakest[1]


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


@dataclass(frozen=True)
class SnapshotInfo:
    """One snapshot of an evolution."""

    label: str
    source: str  # the SAE as the config names it
    content_hash: str  # of its decoder (the main SAE's, when it is the same SAE)
    n_features: int
    n_selected: int


@dataclass(frozen=True)
class SnapshotCounts:
    """What one snapshot did to one level of the taxonomy."""

    features: int  # its selected features
    resonant: int  # … that joined a category older than the snapshot
    new_categories: int  # categories it founded
    categories: int  # categories after it
    dormant: int  # older categories none of its features joined (0 for the first)


@dataclass(frozen=True)
class Agreement:
    """ART's "resonant" (level 0) against decoder matching between two snapshots."""

    persisting: int  # later features that are mutual nearest neighbours of an earlier one
    resonant: int  # later features that joined an older category
    both: int
    agreement: float  # share of later features where the two views agree
    family_kept: list[float | None]  # per level: persisting features kept in their category


@dataclass(frozen=True)
class EvolutionMeta:
    """evolution.json: one taxonomy followed across snapshots."""

    name: str
    run: str  # the sweep run whose method and parameters it follows
    params: dict[str, Any]
    level_values: list[float]
    n_levels: int
    snapshots: list[SnapshotInfo]
    counts: list[list[SnapshotCounts]]  # [snapshot][level]
    agreement: list[Agreement]  # one per pair of consecutive snapshots


def to_json(obj: Any) -> dict[str, Any]:
    """A record as JSON data; NaN and infinities become null (JSON has no such numbers,
    and a degenerate decoder can make a metric undefined)."""
    return _finite(asdict(obj))


def _finite(v: Any) -> Any:
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite(x) for x in v]
    return v


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
