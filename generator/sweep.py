"""The run grid: PCA settings × each method's runs × seeds, and the baselines matched to
each ART run's number of clusters. Where the runs are fitted is `generator.executors`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from generator.config import Config
from generator.errors import ConfigError

if TYPE_CHECKING:
    from generator.methods import RunResult


@dataclass(frozen=True)
class RunSpec:
    """Everything that defines one run of the sweep: a method, its parameters, the PCA
    setting of its input, its seed, and whether to measure stability."""

    method: str
    params: dict[str, Any] = field(hash=False)  # JSON-able; the method's own parameters
    pca_dims: int | None
    seed: int
    stability: dict[str, Any] = field(hash=False)  # stability.Settings as a dict

    @property
    def run_id(self) -> str:
        """Readable, unique within a sweep, safe as a folder and URL name."""
        from generator.methods import get_method

        prefix, suffix = get_method(self.method).run_name(self.params)
        pca = "raw" if self.pca_dims is None else f"pca{self.pca_dims}"
        return "-".join(p for p in (prefix, pca, suffix, f"s{self.seed}") if p)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "params": self.params,
            "pca_dims": self.pca_dims,
            "seed": self.seed,
            "stability": self.stability,
        }


def grid(cfg: Config) -> list[RunSpec]:
    """The sweep's runs in a fixed order: PCA setting, then each method's runs, then seed."""
    from generator.methods import get_method

    runs = []
    for dims in cfg.pca.dims:
        for entry in cfg.sweep.methods:
            method = get_method(entry.name)
            for params in method.expand(cfg.sweep, entry.params):
                for seed in cfg.sweep.seeds:
                    stab = cfg.sweep.stability.model_dump()
                    runs.append(RunSpec(entry.name, params, dims, seed, stab))
    ids = [r.run_id for r in runs]
    if len(set(ids)) != len(ids):  # e.g. the same module listed twice with equal params
        dup = next(i for i in ids if ids.count(i) > 1)
        raise ConfigError(f"sweep: run {dup!r} appears twice; make the sweep's entries distinct.")
    return runs


def matched(cfg: Config, fitted: list[tuple[RunSpec, RunResult]]) -> list[RunSpec]:
    """The runs of methods asked for at matched K (`params: {k: matched}`): one per ART run,
    on the same PCA setting and seed, with K per level = that run's clusters per level.
    Runs that would be identical (the same K) appear once."""
    from generator.methods import get_method

    runs, seen = [], set()
    for entry in cfg.sweep.methods:
        method = get_method(entry.name)
        if not getattr(method, "matched", lambda p: False)(entry.params):
            continue
        for spec, result in fitted:
            if spec.method != "art":
                continue
            params = {"k": list(result.n_clusters), "matched_to": spec.run_id}
            run = RunSpec(entry.name, params, spec.pca_dims, spec.seed, spec.stability)
            if run.run_id not in seen:
                seen.add(run.run_id)
                runs.append(run)
    return runs
