"""SAE decoders: W_dec and the SAE's identity from a hub repo, a sparsify folder or a file.

Only the decoder is read (safetensors can read one tensor), so a 65,536 × 1,024 SAE costs
its 268 MB of W_dec, not the encoder too. Whatever the stored dtype, W_dec is float32.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from generator.artifacts import SaeIdentity
from generator.cache import array_hash
from generator.errors import DataError, SourceError, check_finite_rows, reading
from generator.progress import third_party_quiet

log = logging.getLogger(__name__)

PLAIN_SUFFIXES = (".safetensors", ".npy", ".npz")

# Hookpoint spellings of well-known SAE repos, checked before anything is downloaded.
KNOWN_SAE_REPOS: dict[str, tuple[str, str]] = {
    "EleutherAI/sae-pythia-70m-32k": (
        r"layers\.[0-5](\.mlp|\.attention)?",
        "layers.N, layers.N.mlp or layers.N.attention (N = 0-5)",
    ),
    "EleutherAI/sae-pythia-70m-deduped-32k": (
        r"layers\.[0-5](\.mlp|\.attention)?",
        "layers.N, layers.N.mlp or layers.N.attention (N = 0-5)",
    ),
    "EleutherAI/sae-pythia-410m-65k": (
        r"layers\.([0-9]|1[0-9]|2[0-3])\.mlp",
        "layers.N.mlp (N = 0-23); there is no layers.N",
    ),
}


def check_known_hookpoint(repo: str, hookpoint: str | None) -> None:
    """Reject a hookpoint a well-known repo does not have, without touching the network."""
    import re

    known = KNOWN_SAE_REPOS.get(repo)
    if known and hookpoint is not None and not re.fullmatch(known[0], hookpoint):
        raise SourceError(f"hookpoint {hookpoint!r} does not exist in {repo}; it has {known[1]}.")


@dataclass
class SaeDecoder:
    """The decoder matrix, one row per latent, and what it is."""

    W_dec: np.ndarray  # (num_latents, d_in) float32
    identity: SaeIdentity

    @property
    def content_hash(self) -> str:
        """Hash of the decoder values: the cache key of everything computed from them."""
        return array_hash(self.W_dec)


# ---------------------------------------------------------------------------------------
# validation shared by every source


def check_decoder(W: Any, where: str) -> np.ndarray:
    """Return W as a float32 (rows, d_in) array or raise a clear `DataError`."""
    W = _to_float32_numpy(W, where)
    if W.ndim != 2:
        raise DataError(
            f"{where}: W_dec must be a 2-D matrix (num_latents, d_in); got shape {tuple(W.shape)}."
        )
    if W.shape[0] < 2 or W.shape[1] < 1:
        raise DataError(
            f"{where}: W_dec needs at least 2 rows and 1 column; got shape {tuple(W.shape)}."
        )
    check_finite_rows(np.isfinite(W).all(axis=1), f"{where}: W_dec", ids="latents")
    zero = np.flatnonzero(~W.any(axis=1))
    if len(zero):
        shown = ", ".join(map(str, zero[:10])) + (", ..." if len(zero) > 10 else "")
        raise DataError(
            f"{where}: W_dec has {len(zero)} all-zero row(s) (latents {shown}); a decoder "
            "direction must be non-zero to be compared by cosine. Remove those latents."
        )
    return W


def _to_float32_numpy(W: Any, where: str) -> np.ndarray:
    if hasattr(W, "detach"):  # a torch tensor of any dtype, bf16 included
        return W.detach().to("cpu").float().numpy()
    W = np.asarray(W)
    if not np.issubdtype(W.dtype, np.number) or np.issubdtype(W.dtype, np.complexfloating):
        raise DataError(f"{where}: W_dec must hold real numbers; got dtype {W.dtype}.")
    return W.astype(np.float32, copy=False)


# ---------------------------------------------------------------------------------------
# sparsify folders


def read_sparsify_cfg(folder: Path) -> dict[str, Any]:
    """cfg.json of one hookpoint folder, checked by sparsify's own config class.

    Old-style (Pythia) and new-style cfgs both load; fields sparsify no longer knows
    (`signed`) are dropped with a log line, as sparsify does.
    """
    raw = json.loads((folder / "cfg.json").read_text())
    if "d_in" not in raw:
        raise SourceError(f"{folder / 'cfg.json'}: no 'd_in' key; is this a sparsify SAE folder?")
    with third_party_quiet():  # its import prints a Triton notice
        from sparsify.config import SparseCoderConfig  # heavy import, only when loading

    d_in = int(raw["d_in"])
    body = {k: v for k, v in raw.items() if k != "d_in"}
    known = set(SparseCoderConfig.__dataclass_fields__)
    extra = sorted(set(body) - known)
    if extra:
        log.info("%s: ignoring cfg keys sparsify does not know: %s", folder, extra)
    cfg = SparseCoderConfig.from_dict({k: v for k, v in body.items() if k in known})
    out = cfg.to_dict()
    out["d_in"] = d_in
    out["num_latents"] = cfg.num_latents or d_in * cfg.expansion_factor
    return out


def _read_w_dec(st_path: Path, name: str = "W_dec") -> tuple[np.ndarray, str]:
    from safetensors import safe_open

    with (
        reading(st_path, "a safetensors file"),
        safe_open(str(st_path), framework="pt", device="cpu") as f,
    ):
        keys = list(f.keys())
        if name not in keys:
            raise SourceError(
                f"{st_path}: no tensor named {name!r}; tensors in the file: {', '.join(keys)}."
            )
        t = f.get_tensor(name)
    return check_decoder(t, str(st_path)), str(t.dtype).replace("torch.", "")


def list_hookpoints(root: Path) -> list[str]:
    """Hookpoint folders (holding cfg.json) under a sparsify root, at any depth."""
    found = [p.parent.relative_to(root).as_posix() for p in root.rglob("cfg.json")]
    return _natsorted([h for h in found if h != "."])


def _natsorted(names: list[str]) -> list[str]:
    import re

    return sorted(
        names, key=lambda s: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]
    )


def _hookpoint_error(hookpoint: str, available: list[str], where: str) -> SourceError:
    import difflib

    # the `layers.12` vs `layers.12.mlp` trap first: names that extend or shorten the given one
    close = [h for h in available if h.startswith(hookpoint + ".") or hookpoint.startswith(h + ".")]
    close = close[:3] or difflib.get_close_matches(hookpoint, available, n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    shown = ", ".join(available) if available else "(none found)"
    return SourceError(
        f"hookpoint {hookpoint!r} not found in {where}.{hint} Available hookpoints: {shown}."
    )


def load_sae_folder(path: Path, hookpoint: str | None = None) -> SaeDecoder:
    """A local sparsify folder: a hookpoint folder itself, or a root plus `hookpoint`."""
    path = Path(path).resolve()
    if not path.is_dir():
        raise SourceError(f"SAE folder {str(path)!r} does not exist.")
    if hookpoint is None:
        if not (path / "cfg.json").is_file():
            raise SourceError(
                f"{path} holds no cfg.json; give `hookpoint`, one of: {', '.join(list_hookpoints(path)) or '(none found)'}."
            )
        folder, root, hookpoint_out = path, path.parent, path.name
    else:
        folder, root, hookpoint_out = path / hookpoint, path, hookpoint
        if not (folder / "cfg.json").is_file():
            raise _hookpoint_error(hookpoint, list_hookpoints(path), str(path))
    return _load_hookpoint_folder(
        folder, kind="local", location=str(root), hookpoint=hookpoint_out, revision=None
    )


def _load_hookpoint_folder(
    folder: Path,
    *,
    kind: Literal["hub", "local"],
    location: str,
    hookpoint: str,
    revision: str | None,
) -> SaeDecoder:
    cfg = read_sparsify_cfg(folder)
    st = folder / "sae.safetensors"
    if not st.is_file():
        raise SourceError(f"{folder}: cfg.json found but sae.safetensors is missing.")
    W, dtype = _read_w_dec(st)
    if W.shape != (cfg["num_latents"], cfg["d_in"]):
        raise DataError(
            f"{st}: W_dec has shape {W.shape} but cfg.json says (num_latents, d_in) = "
            f"({cfg['num_latents']}, {cfg['d_in']})."
        )
    ident = SaeIdentity(
        kind, location, hookpoint, revision, cfg["d_in"], cfg["num_latents"], dtype, cfg
    )
    return SaeDecoder(W, ident)


# ---------------------------------------------------------------------------------------
# the hub


def load_sae_hub(repo: str, hookpoint: str, revision: str | None = None) -> SaeDecoder:
    """Download (or find in the cache) only `hookpoint`'s files of a sparsify hub repo."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        root = Path(snapshot_download(repo, revision=revision, allow_patterns=[f"{hookpoint}/*"]))
    except RepositoryNotFoundError:
        raise SourceError(
            f"SAE repo {repo!r} was not found on the hub (check the id and your access)."
        ) from None
    except RevisionNotFoundError:
        raise SourceError(f"revision {revision!r} not found in SAE repo {repo!r}.") from None
    except LocalEntryNotFoundError:
        raise SourceError(
            f"SAE repo {repo!r} (revision {revision or 'main'!r}) is not in the local hub cache and the hub "
            "cannot be reached (HF_HUB_OFFLINE is set or there is no network)."
        ) from None
    folder = root / hookpoint
    if not (folder / "cfg.json").is_file():
        raise _hookpoint_error(hookpoint, _hub_hookpoints(repo, revision, root), repr(repo))
    return _load_hookpoint_folder(
        folder, kind="hub", location=repo, hookpoint=hookpoint, revision=root.name
    )


def _hub_hookpoints(repo: str, revision: str | None, snapshot: Path) -> list[str]:
    """Hookpoints of a hub repo: from the hub's file list, or from the cache when offline."""
    from huggingface_hub import constants

    if not constants.HF_HUB_OFFLINE:
        try:
            from huggingface_hub import HfApi

            files = HfApi().list_repo_files(repo, revision=revision)
            return _natsorted(
                sorted({f.rsplit("/", 1)[0] for f in files if f.endswith("/cfg.json")})
            )
        except Exception as e:  # network trouble: fall back to what the cache holds
            log.info("could not list %s on the hub (%s); listing the cache", repo, e)
    return list_hookpoints(snapshot) if snapshot.is_dir() else []


# ---------------------------------------------------------------------------------------
# plain files


def load_sae_file(path: Path, tensor: str = "W_dec") -> SaeDecoder:
    """W_dec from a `.safetensors`, `.npy` or `.npz` file (rows are latents)."""
    path = Path(path).resolve()
    if not path.is_file():
        raise SourceError(f"SAE file {str(path)!r} does not exist.")
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        W, dtype = _read_w_dec(path, tensor)
    elif suffix == ".npy":
        with reading(path, "a .npy array"):
            raw = np.load(path, allow_pickle=False)
        dtype, W = str(raw.dtype), check_decoder(raw, str(path))
    elif suffix == ".npz":
        with reading(path, "a .npz archive"), np.load(path, allow_pickle=False) as z:
            if tensor not in z.files:
                raise SourceError(
                    f"{path}: no array named {tensor!r}; arrays in the file: {', '.join(z.files)}."
                )
            raw = z[tensor]
        dtype, W = str(raw.dtype), check_decoder(raw, str(path))
    else:
        raise SourceError(
            f"SAE file {path.name!r} has suffix {suffix!r}; accepted: {', '.join(PLAIN_SUFFIXES)} or a sparsify folder."
        )
    ident = SaeIdentity("file", str(path), None, None, int(W.shape[1]), int(W.shape[0]), dtype)
    return SaeDecoder(W, ident)


# ---------------------------------------------------------------------------------------
# the one entry point


def load_sae(
    *,
    repo: str | None = None,
    path: str | os.PathLike | None = None,
    hookpoint: str | None = None,
    revision: str | None = None,
    tensor: str = "W_dec",
) -> SaeDecoder:
    """Load W_dec from exactly one of a hub `repo` (with `hookpoint`) or a local `path`."""
    if (repo is None) == (path is None):
        raise SourceError("give exactly one of repo (a hub id) or path (a local folder or file).")
    if repo is not None:
        if not hookpoint:
            raise SourceError(f"a hookpoint is required to load from hub repo {repo!r}.")
        return load_sae_hub(repo, hookpoint, revision)
    p = Path(path)  # type: ignore[arg-type]
    if p.is_dir():
        return load_sae_folder(p, hookpoint)
    if p.suffix.lower() in PLAIN_SUFFIXES or p.is_file():
        return load_sae_file(p, tensor)
    raise SourceError(
        f"SAE path {str(p)!r} does not exist; give a sparsify folder or a {'/'.join(PLAIN_SUFFIXES)} file."
    )


def hookpoints_of(
    *, repo: str | None = None, path: str | os.PathLike | None = None, revision: str | None = None
) -> list[str]:
    """Every hookpoint of a hub repo or a local sparsify root (`sae.hookpoints: all`), in
    natural order (`layers.2` before `layers.10`)."""
    if repo is not None:
        from huggingface_hub import constants, snapshot_download

        snapshot = None
        if constants.HF_HUB_OFFLINE:
            try:  # the cache's snapshot folder, without downloading anything
                snapshot = Path(
                    snapshot_download(repo, revision=revision, allow_patterns=["*/cfg.json"])
                )
            except Exception:
                snapshot = None
        found = _hub_hookpoints(repo, revision, snapshot or Path("/nonexistent"))
        if not found:
            raise SourceError(
                f"`hookpoints: all`: no hookpoints found for SAE repo {repo!r} (neither on "
                "the hub nor in the local cache); list them under `sae.hookpoints`."
            )
        return found
    p = Path(path)  # type: ignore[arg-type]
    if not p.is_dir():
        raise SourceError(
            f"`hookpoints: all` needs a sparsify root folder; {str(p)!r} is not a folder."
        )
    # sparsify saves each hookpoint as a folder of the root; deeper ones (checkpoints kept
    # beside them) are other SAEs, named only when asked for
    found = [h for h in list_hookpoints(p) if "/" not in h]
    if not found:
        raise SourceError(
            f"`hookpoints: all`: {p} holds no hookpoint folders (folders with a cfg.json)."
        )
    return found
