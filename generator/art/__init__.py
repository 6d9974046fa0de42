"""The ART engine: exact, fast FuzzyART and cosine ART, SMART and nested hierarchies.

from generator.art import FuzzyART, SMART
model = FuzzyART(rho=0.8, alpha=0.01, beta=1.0)   # drop-in for artlib.FuzzyART
X = model.prepare_data(data)
model.fit(X).labels_
"""

from generator.art.adapters import ArtlibModule
from generator.art.base import ParamError
from generator.art.cosine import CosineART
from generator.art.fuzzy import FuzzyART
from generator.art.hierarchy import SMART, Hierarchy
from generator.art.mean import MeanART
from generator.art.registry import list_modules, make_module

__all__ = [
    "SMART",
    "ArtlibModule",
    "CosineART",
    "FuzzyART",
    "Hierarchy",
    "MeanART",
    "ParamError",
    "list_modules",
    "make_module",
]
