"""Stage `lens`: every SAE feature's top and bottom tokens through the logit lens, with
the token strings and token classes that later stages read."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from generator.artifacts import LensIdentity, from_json, to_json
from generator.cache import stable_json
from generator.lens import LensTable, NormMode
from generator.progress import bar as progress
from generator.sources.lens import LensHandle

NAME = "lens"
VERSION = 1


@dataclass(frozen=True, eq=False)
class LensIn:
    W: np.ndarray  # (n_features, d_in) decoder rows
    w_key: str  # content hash of W
    sae_label: str  # how errors name the SAE
    lens: LensHandle
    layernorm: NormMode
    top_k: int
    chunk_rows: int
    device: str


@dataclass
class LensOut:
    table: LensTable
    tokens: list[str]  # every real token as a reader sees it
    classes: dict[str, np.ndarray]  # token class name → per-token flags
    identity: LensIdentity


def key(inp: LensIn) -> tuple[dict, dict]:
    params = {"layernorm": inp.layernorm, "top_k": inp.top_k}
    return params, {"W_dec": inp.w_key, "lens": inp.lens.fingerprint()}


def compute(inp: LensIn) -> LensOut:
    from generator.lens import lens_topk, token_classes
    from generator.sources.lens import check_widths

    lens = inp.lens.get()
    check_widths(inp.W.shape[1], lens, inp.sae_label)
    with progress(len(inp.W), "logit lens") as bar:
        table = lens_topk(
            inp.W,
            lens,
            inp.layernorm,
            inp.top_k,
            chunk_rows=inp.chunk_rows,
            device=inp.device,
            progress=bar,
        )
    return LensOut(table, lens.token_strings, token_classes(lens), lens.identity)


def save(out: LensOut, folder: Path) -> None:
    t = out.table
    np.savez(
        folder / "table.npz",
        top_ids=t.top_ids,
        top_logits=t.top_logits,
        bottom_ids=t.bottom_ids,
        bottom_logits=t.bottom_logits,
    )
    (folder / "tokens.json").write_text(json.dumps(out.tokens))
    np.savez(folder / "classes.npz", **out.classes)
    (folder / "identity.json").write_text(stable_json(to_json(out.identity)))


def load(folder: Path) -> LensOut:
    with np.load(folder / "table.npz") as z:
        table = LensTable(z["top_ids"], z["top_logits"], z["bottom_ids"], z["bottom_logits"])
    with np.load(folder / "classes.npz") as z:
        classes = {k: z[k] for k in z.files}
    return LensOut(
        table,
        json.loads((folder / "tokens.json").read_text()),
        classes,
        from_json(LensIdentity, json.loads((folder / "identity.json").read_text())),
    )
