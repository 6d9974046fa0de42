"""Stage `matching`: decoder matching between two snapshots' selected features (best
cosine match both ways), the view of feature persistence that does not involve ART."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from generator.evolution import Matching

NAME = "matching"
VERSION = 1


@dataclass(frozen=True, eq=False)
class MatchingIn:
    W_a: np.ndarray  # (n_a, d) the earlier snapshot's selected decoder rows
    key_a: str
    W_b: np.ndarray  # (n_b, d) the later snapshot's
    key_b: str


def key(inp: MatchingIn) -> tuple[dict, dict]:
    return {}, {"a": inp.key_a, "b": inp.key_b}


def compute(inp: MatchingIn) -> Matching:
    from generator.evolution import match

    return match(inp.W_a, inp.W_b)


def save(out: Matching, folder: Path) -> None:
    np.savez(
        folder / "matching.npz",
        b_to_a=out.b_to_a,
        b_cos=out.b_cos,
        a_to_b=out.a_to_b,
        a_cos=out.a_cos,
    )


def load(folder: Path) -> Matching:
    with np.load(folder / "matching.npz") as z:
        return Matching(z["b_to_a"], z["b_cos"], z["a_to_b"], z["a_cos"])
