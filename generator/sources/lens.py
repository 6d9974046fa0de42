"""Lens models: the unembedding, the final norm and the tokenizer that read directions as tokens.

Two kinds: a causal LM's output embeddings with its final norm (GPT-NeoX, Llama-style,
GPT-2-style), or an encoder's input embeddings used as a tied unembedding (BERT-like
models without an LM head). Everything is float32; rows of the unembedding past
`len(tokenizer)` are padding and are masked out of every top-k.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from generator.artifacts import LensIdentity
from generator.errors import SourceError
from generator.progress import third_party_quiet

log = logging.getLogger(__name__)

# attribute names of the final norm on a model's base module, in the order tried
FINAL_NORM_NAMES = ("final_layer_norm", "norm", "ln_f", "final_layernorm", "final_norm")


@dataclass(frozen=True)
class FinalNorm:
    """The norm a causal LM applies just before its unembedding."""

    kind: Literal["layernorm", "rmsnorm"]
    weight: Any  # torch.Tensor (d,)
    bias: Any | None  # torch.Tensor (d,) or None
    eps: float


@dataclass
class LensModel:
    """Unembedding (rows = tokens), optional final norm and the tokenizer."""

    W_U: Any  # torch.Tensor (unembed_rows, d_model) float32
    norm: FinalNorm | None
    tokenizer: Any
    identity: LensIdentity
    special_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def n_tokens(self) -> int:
        """Real tokens; unembedding rows from here on are padding."""
        return self.identity.n_tokens

    @property
    def d_model(self) -> int:
        return self.identity.d_model

    @cached_property
    def token_strings(self) -> list[str]:
        """Every real token decoded on its own, as a reader would see it."""
        return self.tokenizer.batch_decode(
            [[i] for i in range(self.n_tokens)], clean_up_tokenization_spaces=False
        )


def local_lens_folder(model: str, base: Path | None = None) -> str | None:
    """The local folder `model` names, or None for a hub id or `package:NAME`.

    A path (`/…`, `./…`, `../…`, `~…`) must be an existing folder: it is never a hub id.
    With `base` (the config file's folder) relative paths resolve against it, and a bare
    relative name is a folder where one exists there, else a hub id."""
    if model.startswith("package:"):
        return None
    written = Path(model).expanduser()
    path = written if base is None or written.is_absolute() else base / written
    if not (model.startswith(("/", "./", "../", "~")) or (base is not None and path.is_dir())):
        return None
    if not path.is_dir():
        where = "" if path is written else f" (relative to the config: {path})"
        raise SourceError(
            f"lens folder {model!r}{where} does not exist; give a model folder, a hub id "
            "(org/name) or package:NAME."
        )
    return str(path)


def resolve_model_location(model: str) -> str:
    """`package:NAME` → the folder NAME.get_model_path() returns; a path must be an
    existing folder (`local_lens_folder`); a hub id unchanged."""
    folder = local_lens_folder(model)
    if folder is not None:
        return folder
    if not model.startswith("package:"):
        return model
    name = model.split(":", 1)[1]
    try:
        mod = importlib.import_module(name)
    except ImportError:
        raise SourceError(
            f"lens model {model!r}: Python package {name!r} is not installed."
        ) from None
    if not hasattr(mod, "get_model_path"):
        raise SourceError(f"lens model {model!r}: package {name!r} has no get_model_path().")
    return str(mod.get_model_path())


def load_lens(
    model: str,
    kind: Literal["causal_lm", "encoder"] = "causal_lm",
    revision: str | None = None,
    location: str | None = None,
) -> LensModel:
    """Load a lens from a local folder, a hub id or `package:NAME`, in float32.
    `location`: where `model` (as the config spells it, which the artifacts record) was
    found, e.g. a folder relative to the config file."""
    import torch
    import transformers

    location = location or resolve_model_location(model)
    if kind not in ("causal_lm", "encoder"):
        raise SourceError(f"lens kind {kind!r} is not known; accepted: 'causal_lm', 'encoder'.")
    auto = transformers.AutoModelForCausalLM if kind == "causal_lm" else transformers.AutoModel
    kwargs: dict[str, Any] = {"dtype": torch.float32}
    if revision:
        kwargs["revision"] = revision
    try:
        with third_party_quiet():  # weight-loading bars, unless -v
            tokenizer = transformers.AutoTokenizer.from_pretrained(
                location, **({"revision": revision} if revision else {})
            )
            net, info = auto.from_pretrained(location, output_loading_info=True, **kwargs)
    except OSError as e:
        raise SourceError(f"lens model {model!r} could not be loaded ({_first_line(e)}).") from None
    except ValueError as e:  # e.g. an encoder-only config asked for as a causal LM
        hint = (
            " Use lens.kind: encoder for models without an LM head." if kind == "causal_lm" else ""
        )
        raise SourceError(
            f"lens model {model!r} is not a {kind} model ({_first_line(e)}).{hint}"
        ) from None
    net.eval()
    _reject_fresh_head(net, info.get("missing_keys", ()), model, kind)
    with torch.no_grad():
        if kind == "causal_lm":
            head = net.get_output_embeddings()
            if head is None:
                raise SourceError(
                    f"lens model {model!r} has no output embeddings; use lens.kind: encoder."
                )
            W_U = head.weight.detach().float().clone()
            norm = find_final_norm(net)
        else:
            W_U = net.get_input_embeddings().weight.detach().float().clone()
            norm = None
    n_tokens = min(len(tokenizer), W_U.shape[0])
    if len(tokenizer) > W_U.shape[0]:
        log.warning(
            "%s: tokenizer has %d tokens but the unembedding only %d rows",
            model,
            len(tokenizer),
            W_U.shape[0],
        )
    ident = LensIdentity(
        model=model,
        kind=kind,
        revision=revision,
        model_class=type(net).__name__,
        d_model=int(W_U.shape[1]),
        unembed_rows=int(W_U.shape[0]),
        n_tokens=int(n_tokens),
        final_norm="none" if norm is None else norm.kind,
    )
    special = frozenset(int(i) for i in tokenizer.all_special_ids if i is not None and i < n_tokens)
    del net
    return LensModel(W_U=W_U, norm=norm, tokenizer=tokenizer, identity=ident, special_ids=special)


def _reject_fresh_head(net: Any, missing: Any, model: str, kind: str) -> None:
    """A checkpoint without an LM head loads with a random one: refuse to read tokens through it."""
    if kind != "causal_lm" or not missing:
        return
    head = net.get_output_embeddings()
    head_names = {name for name, mod in net.named_modules() if mod is head}
    if any(key.rsplit(".", 1)[0] in head_names for key in missing):
        raise SourceError(
            f"lens model {model!r} has no trained LM head in its checkpoint (transformers would "
            "initialise it at random); use lens.kind: encoder to read through its input embeddings."
        )


def find_final_norm(net: Any) -> FinalNorm | None:
    """The final norm of a GPT-NeoX, Llama-style or GPT-2-style causal LM (None if absent)."""
    import torch

    base = getattr(net, "base_model", net)
    for name in FINAL_NORM_NAMES:
        mod = getattr(base, name, None)
        if isinstance(mod, torch.nn.Module) and getattr(mod, "weight", None) is not None:
            return _as_final_norm(mod)
    log.warning(
        "%s: no final norm found (looked for %s); the lens uses raw directions",
        type(net).__name__,
        FINAL_NORM_NAMES,
    )
    return None


def _as_final_norm(mod: Any) -> FinalNorm:
    import torch

    bias = getattr(mod, "bias", None)
    is_layernorm = isinstance(mod, torch.nn.LayerNorm) or (
        bias is not None and "rms" not in type(mod).__name__.lower()
    )
    eps = next(
        (float(getattr(mod, a)) for a in ("eps", "variance_epsilon", "epsilon") if hasattr(mod, a)),
        1e-5,
    )
    return FinalNorm(
        kind="layernorm" if is_layernorm else "rmsnorm",
        weight=mod.weight.detach().float().clone(),
        bias=None if bias is None else bias.detach().float().clone(),
        eps=eps,
    )


class LensHandle:
    """A lens model as the config names it, loaded on first use: stages whose output is
    cached never load the weights."""

    def __init__(
        self,
        model: str,
        kind: Literal["causal_lm", "encoder"],
        revision: str | None,
        location: str | None = None,
    ) -> None:
        self.model, self.kind, self.revision = model, kind, revision
        self.location = location  # a local folder `model` names (resolved by the config)
        self._loaded: LensModel | None = None

    def get(self) -> LensModel:
        if self._loaded is None:
            self._loaded = load_lens(self.model, self.kind, self.revision, self.location)
        return self._loaded

    def fingerprint(self) -> str:
        """The lens's cache identity (loading a hub model that is not cached yet)."""
        args = (self.model, self.kind, self.revision, self.location)
        fp = lens_fingerprint(*args)
        if fp is None:  # a hub model not cached yet: loading it caches it
            self.get()
            fp = lens_fingerprint(*args)
        return fp or f"{self.model}|{self.revision}"


def check_widths(d_in: int, lens: LensModel, sae_label: str) -> None:
    """The SAE's d_in must equal the lens model's hidden width."""
    if d_in != lens.d_model:
        raise SourceError(
            f"SAE {sae_label} has d_in {d_in} but lens model {lens.identity.model!r} has hidden width "
            f"{lens.d_model}; pick the lens model the SAE was trained on."
        )


def _first_line(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def lens_fingerprint(
    model: str, kind: str, revision: str | None, location: str | None = None
) -> str | None:
    """A cheap identity of the lens weights, for cache keys, without loading them.

    Local folders: names, sizes and mtimes of their files. Hub ids: the cached commit the
    revision points to. None when the hub model is not cached yet (load it first).
    """
    location = location or resolve_model_location(model)
    h = hashlib.sha256(f"{model}|{kind}|{revision}".encode())
    p = Path(location)
    if p.is_dir():
        for f in sorted(q for q in p.rglob("*") if q.is_file() and not q.name.startswith(".")):
            st = f.stat()
            h.update(f"{f.relative_to(p)}|{st.st_size}|{st.st_mtime_ns}".encode())
        return h.hexdigest()[:16]
    from huggingface_hub import constants

    ref = (
        Path(constants.HF_HUB_CACHE)
        / ("models--" + model.replace("/", "--"))
        / "refs"
        / (revision or "main")
    )
    if ref.is_file():
        h.update(ref.read_text().strip().encode())
        return h.hexdigest()[:16]
    if revision and len(revision) == 40 and all(c in "0123456789abcdef" for c in revision):
        return h.hexdigest()[:16]  # a commit hash names immutable weights
    return None
