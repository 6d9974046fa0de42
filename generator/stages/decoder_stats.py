"""Stage `decoder_stats`: is there structure to find? Nearest-neighbour cosines of the
decoder rows beside random unit vectors of the same shape."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from generator.artifacts import DecoderStructure, from_json, to_json

NAME = "decoder_stats"
VERSION = 1


@dataclass(frozen=True, eq=False)
class DecoderStatsIn:
    W: np.ndarray  # (n_features, d_in), every feature (junk included)
    w_key: str
    sample: int
    seed: int


def key(inp: DecoderStatsIn) -> tuple[dict, dict]:
    return {"sample": inp.sample, "seed": inp.seed}, {"W_dec": inp.w_key}


def compute(inp: DecoderStatsIn) -> DecoderStructure:
    from generator.metrics import decoder_structure

    return decoder_structure(inp.W, inp.sample, inp.seed)


def save(out: DecoderStructure, folder: Path) -> None:
    (folder / "stats.json").write_text(json.dumps(to_json(out)))


def load(folder: Path) -> DecoderStructure:
    return from_json(DecoderStructure, json.loads((folder / "stats.json").read_text()))
