"""The logit lens: decoder directions read as tokens, and the junk filter built on it.

A direction x is read as logits W_U · f(x), where f is the final norm's treatment chosen
in the config (`gamma`: centre and scale by γ, no β; `seed`: the full final norm with β,
as the seed notebook did; `none`). Rows of W_U past `len(tokenizer)` are padding and
never reach a top-k. Work is chunked so peak memory is `chunk_rows × vocab` floats.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from generator.sources.lens import LensModel

log = logging.getLogger(__name__)

NormMode = Literal["gamma", "seed", "none"]
_SPECIAL = re.compile(r"<\|[^|]*\|>|\[(unused\d+|[A-Z]{2,5})\]")


@dataclass
class LensTable:
    """Top and bottom tokens of every SAE feature (ids index the tokenizer)."""

    top_ids: np.ndarray  # (n_features, k) int32
    top_logits: np.ndarray  # (n_features, k) float32
    bottom_ids: np.ndarray  # (n_features, k) int32
    bottom_logits: np.ndarray  # (n_features, k) float32


def apply_norm(x: Any, lens: LensModel, mode: NormMode) -> Any:
    """f(x) for rows of x (a torch tensor) before the unembedding."""
    import torch

    norm = lens.norm
    if mode == "none" or norm is None:
        return x
    if mode == "gamma":
        if norm.kind == "layernorm":
            x = x - x.mean(dim=-1, keepdim=True)
        return x * norm.weight.to(x.device)
    # "seed": the final norm exactly as the model applies it
    if norm.kind == "layernorm":
        return torch.nn.functional.layer_norm(
            x,
            (x.shape[-1],),
            norm.weight.to(x.device),
            None if norm.bias is None else norm.bias.to(x.device),
            norm.eps,
        )
    rms = torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + norm.eps)
    return x * rms * norm.weight.to(x.device)


def lens_topk(
    directions: np.ndarray,
    lens: LensModel,
    mode: NormMode,
    k: int,
    *,
    chunk_rows: int = 2048,
    device: str = "cpu",
    progress: Any = None,
) -> LensTable:
    """Top-k and bottom-k tokens of each row of `directions` (n, d_model)."""
    import torch

    n = directions.shape[0]
    k = min(k, lens.n_tokens)
    W_U = lens.W_U[: lens.n_tokens].to(device)  # (vocab, d): padding rows dropped
    out = LensTable(
        np.empty((n, k), np.int32),
        np.empty((n, k), np.float32),
        np.empty((n, k), np.int32),
        np.empty((n, k), np.float32),
    )
    with torch.no_grad():
        for start in range(0, n, chunk_rows):
            x = torch.from_numpy(
                np.ascontiguousarray(directions[start : start + chunk_rows], dtype=np.float32)
            ).to(device)
            logits = apply_norm(x, lens, mode) @ W_U.T  # (chunk, vocab)
            top = torch.topk(logits, k, dim=1)
            bot = torch.topk(logits, k, dim=1, largest=False)
            stop = start + x.shape[0]
            out.top_ids[start:stop] = top.indices.cpu().numpy()
            out.top_logits[start:stop] = top.values.cpu().numpy()
            out.bottom_ids[start:stop] = bot.indices.cpu().numpy()
            out.bottom_logits[start:stop] = bot.values.cpu().numpy()
            del logits
            if progress is not None:
                progress.update(x.shape[0])
    return out


def token_classes(lens: LensModel) -> dict[str, np.ndarray]:
    """Boolean masks over the vocabulary, one per junk class."""
    strings = lens.token_strings
    special = np.zeros(len(strings), bool)
    special[list(lens.special_ids)] = True
    # <|endoftext|>-style (GPT) and [CLS] / [unused12]-style (BERT) markers
    special |= np.array([bool(_SPECIAL.fullmatch(s)) for s in strings])
    return {
        "byte_fallback": np.array(["\ufffd" in s for s in strings]),
        "special": special,
        "whitespace": np.array([s.strip() == "" for s in strings]),
        "non_ascii": np.array([any(ord(ch) > 127 for ch in s) for s in strings]),
    }


def junk_counts(
    top_ids: np.ndarray, classes: dict[str, np.ndarray], use: list[str], top_n: int
) -> np.ndarray:
    """How many of each feature's top `top_n` tokens fall in the chosen junk classes."""
    mask = np.zeros_like(next(iter(classes.values())))
    for name in use:
        mask |= classes[name]
    return mask[top_ids[:, :top_n]].sum(axis=1).astype(np.int32)


def decode(ids: Any, strings: list[str]) -> list[list[str]]:
    """Token strings for an (n, k) id array or a sequence of id rows."""
    rows = ids.tolist() if isinstance(ids, np.ndarray) else ids
    return [[strings[int(i)] for i in row] for row in rows]
