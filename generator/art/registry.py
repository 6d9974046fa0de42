"""Every ART module a sweep can name: ours (compiled) and artlib's (adapted).

Listing modules does not import artlib (3 s), so `saetax modules` and config validation
stay fast; artlib is imported only when an adapted module is fitted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generator.art.adapters import ARTLIB_SPECS
from generator.art.base import Param, ParamError, check_names


@dataclass(frozen=True)
class ModuleInfo:
    """A module's name, what it is, and its parameters with defaults."""

    name: str
    summary: str
    source: str
    params: tuple[Param, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "summary": self.summary,
            "source": self.source,
            "params": [
                {"name": p.name, "default": p.default, "accepts": p.describe(), "help": p.help}
                for p in self.params
            ],
        }


def _ours() -> list[ModuleInfo]:
    from generator.art.cosine import CosineART
    from generator.art.fuzzy import BlockFuzzyART
    from generator.art.mean import MeanART

    return [
        ModuleInfo(
            "cosine",
            "Cosine ART (ART2-A style): vigilance on cosine, normalised moving-average prototypes; "
            "the natural geometry for unit decoder directions",
            "art-sae-taxonomy",
            CosineART.param_specs(),
        ),
        ModuleInfo(
            "mean",
            "Mean ART: the prototype is the mean of the unit members, vigilance on the average "
            "cosine to them; max_iter > 1 re-presents samples until none moves",
            "art-sae-taxonomy",
            MeanART.param_specs(),
        ),
        ModuleInfo(
            "fuzzy",
            "FuzzyART (Carpenter et al. 1991), artlib's semantics, exact in float64; "
            "the seed notebook's module",
            "art-sae-taxonomy",
            BlockFuzzyART.param_specs(),
        ),
    ]


def list_modules() -> list[ModuleInfo]:
    """Our modules first, then artlib's elementary modules behind the adapter."""
    adapted = [
        ModuleInfo(name, spec.note, "artlib (adapter, per-sample Python)", spec.params)
        for name, spec in ARTLIB_SPECS.items()
    ]
    return _ours() + adapted


def module_names() -> list[str]:
    return [m.name for m in list_modules()]


def make_module(module: Any, params: dict[str, Any]) -> Any:
    """An unfitted module from a registry name, a class, or an instance to copy."""
    from generator.art.adapters import ArtlibModule
    from generator.art.cosine import CosineART
    from generator.art.fuzzy import BlockFuzzyART
    from generator.art.mean import MeanART

    if isinstance(module, str):
        classes = {"cosine": CosineART, "mean": MeanART, "fuzzy": BlockFuzzyART}
        if module in classes:
            cls = classes[module]
            check_names(f"module {module!r}", (p.name for p in cls.param_specs()), params)
            return cls(**params)
        if module in ARTLIB_SPECS:
            check_names(f"module {module!r}", (p.name for p in ARTLIB_SPECS[module].params), params)
            return ArtlibModule(module, **params)
        raise ParamError(
            f"Unknown ART module {module!r}; available: {', '.join(module_names())} (see `saetax modules`)."
        )
    if isinstance(module, ArtlibModule):
        return ArtlibModule(module.name, **{**module.params, **params})
    drop_in = _drop_in_fuzzy()
    if drop_in is not None and (module is drop_in or type(module) is drop_in):
        # artlib's drop-in: its kernels are BlockFuzzyART's (same parameters)
        own = {} if isinstance(module, type) else _drop_in_settings(module)
        return make_module("fuzzy", {**own, **params})
    if isinstance(module, type):
        if module.__module__.startswith("artlib"):
            return make_module(f"artlib.{module.__name__}", params)
        return module(**params)
    return type(module)(**{**module.get_params(), **params})  # an instance: copy its parameters


def _drop_in_fuzzy() -> type | None:
    """The drop-in FuzzyART class if it was imported (checking must not import artlib)."""
    import sys

    dropin = sys.modules.get("generator.art.dropin")
    return getattr(dropin, "FuzzyART", None)


def _drop_in_settings(module: Any) -> dict[str, Any]:
    return {
        **module.get_params(),
        "dtype": module.dtype,
        "device": module.device,
        "block_size": module.block_size,
    }


def describe_modules(infos: list[ModuleInfo]) -> str:
    """Plain-text listing for `saetax modules`."""
    lines = []
    for m in infos:
        lines.append(f"{m.name}  [{m.source}]")
        lines.append(f"    {m.summary}")
        for p in m.params:
            lines.append(
                f"    {p.name:<11} default {p.default!r:<10} {p.describe()}"
                + (f"  ({p.help})" if p.help else "")
            )
        lines.append("")
    lines.append(
        "Hierarchy modes: nested (parent-constrained, the seed's rule), smart (Bartfai's SMART, MT+)."
    )
    return "\n".join(lines)
