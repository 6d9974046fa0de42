"""The ART engine: exact, fast FuzzyART and cosine ART, SMART and nested hierarchies.

from generator.art import FuzzyART, SMART        # artlib's own classes, block kernels inside
model = FuzzyART(rho=0.8, alpha=0.01, beta=1.0)   # a drop-in for artlib.FuzzyART
X = model.prepare_data(data)
model.fit(X).labels_

`FuzzyART` and `SMART` (in `dropin`) derive from artlib's classes, so importing them
imports artlib (about 3 s); they are loaded on first use. The pipeline's engines
(`BlockFuzzyART`, `CosineART`, `MeanART`, `Hierarchy`) do not need artlib.
"""

from typing import Any

from generator.art.adapters import ArtlibModule
from generator.art.base import ParamError
from generator.art.cosine import CosineART
from generator.art.fuzzy import BlockFuzzyART
from generator.art.hierarchy import Hierarchy
from generator.art.mean import MeanART
from generator.art.registry import list_modules, make_module

_DROP_INS = ("FuzzyART", "SMART")


def __getattr__(name: str) -> Any:
    if name in _DROP_INS:
        from generator.art import dropin

        return getattr(dropin, name)
    raise AttributeError(f"module 'generator.art' has no attribute {name!r}")


__all__ = [
    "SMART",
    "ArtlibModule",
    "BlockFuzzyART",
    "CosineART",
    "FuzzyART",
    "Hierarchy",
    "MeanART",
    "ParamError",
    "list_modules",
    "make_module",
]
