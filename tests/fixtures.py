"""Tiny real artifacts built at test time, offline, in the formats users have on disk.

- a byte-level BPE tokenizer trained with `tokenizers`, saved with `save_pretrained`
- tiny GPT-NeoX / GPT-2 / Llama causal LMs and a tiny BERT encoder (`save_pretrained`)
- a tiny sparsify SAE saved with `Sae.save_to_disk` (old-style and new-style cfg.json)
- a fake hub cache (`models--ORG--NAME/refs/main` + `snapshots/<rev>/...`)

The SAE's decoder rows are planted: groups of rows near the unembedding rows of related
tokens, so the logit lens and clustering have something real to find.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# word families: each family becomes a group of SAE features whose lens reads its words
FAMILIES: dict[str, list[str]] = {
    "animals": ["cat", "dog", "bird", "fish", "horse", "mouse"],
    "colours": ["red", "green", "blue", "yellow", "purple", "orange"],
    "numbers": ["one", "two", "three", "four", "five", "six"],
    "verbs": ["run", "jump", "swim", "fly", "eat", "sing"],
    "royals": ["king", "queen", "prince", "duke", "lord", "lady"],
    "nature": ["river", "mountain", "forest", "ocean", "valley", "desert"],
}
# tokens that must survive every page as text (see the site's escaping tests)
HOSTILE_TOKENS = ["<script>alert(1)</script>", "`code`", "**bold**", "a|b", "[link](x)"]
D_MODEL = 64


def corpus(n_lines: int = 400, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    words = [w for ws in FAMILIES.values() for w in ws] + ["the", "a", "and", "of", "|", "*", "#"]
    return [" ".join(rng.choice(words) for _ in range(14)) for _ in range(n_lines)]


def build_tokenizer(folder: Path, *, vocab_size: int = 360):
    """Train a byte-level BPE tokenizer and save it the way GPT-NeoX checkpoints are saved."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>", "<|padding|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(corpus(), trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|endoftext|>",
        eos_token="<|endoftext|>",
        unk_token="<|endoftext|>",
        pad_token="<|padding|>",
    )
    fast.add_tokens(HOSTILE_TOKENS)
    fast.save_pretrained(folder)
    cfg_path = folder / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["tokenizer_class"] = "GPTNeoXTokenizer"  # loads on transformers 4 and 5
    cfg_path.write_text(json.dumps(cfg))
    return fast


def build_causal_lm(
    folder: Path, arch: str = "gpt_neox", *, pad_rows: int = 13, seed: int = 0
) -> Path:
    """A tiny causal LM with a real tokenizer; its unembedding has `pad_rows` padding rows."""
    import torch
    import transformers

    folder.mkdir(parents=True, exist_ok=True)
    tok = build_tokenizer(folder)
    vocab = len(tok) + pad_rows
    common = dict(vocab_size=vocab, hidden_size=D_MODEL, num_hidden_layers=2, num_attention_heads=4)
    if arch == "gpt_neox":
        cfg = transformers.GPTNeoXConfig(
            **common, intermediate_size=128, max_position_embeddings=64, tie_word_embeddings=False
        )
        cls = transformers.GPTNeoXForCausalLM
    elif arch == "gpt2":
        cfg = transformers.GPT2Config(
            vocab_size=vocab, n_embd=D_MODEL, n_layer=2, n_head=4, n_positions=64
        )
        cls = transformers.GPT2LMHeadModel
    elif arch == "llama":
        cfg = transformers.LlamaConfig(
            **common, intermediate_size=128, max_position_embeddings=64, num_key_value_heads=4
        )
        cls = transformers.LlamaForCausalLM
    else:
        raise ValueError(arch)
    torch.manual_seed(seed)
    model = cls(cfg)
    with torch.no_grad():  # a final norm that is not the identity, so tests can tell modes apart
        norm = getattr(
            model.base_model,
            {"gpt_neox": "final_layer_norm", "gpt2": "ln_f", "llama": "norm"}[arch],
        )
        norm.weight.copy_(1.0 + 0.5 * torch.rand(D_MODEL))
        if getattr(norm, "bias", None) is not None:
            norm.bias.copy_(0.1 * torch.randn(D_MODEL))
    model.save_pretrained(folder)
    return folder


def build_encoder(folder: Path) -> Path:
    """A tiny BERT with a WordPiece tokenizer and no LM head (like all-MiniLM-L6-v2)."""
    import torch
    import transformers
    from tokenizers import BertWordPieceTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    wp = BertWordPieceTokenizer(lowercase=True)
    wp.train_from_iterator(
        corpus(), vocab_size=200, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    )
    wp.save_model(str(folder))
    tok = transformers.BertTokenizerFast(vocab_file=str(folder / "vocab.txt"))
    tok.save_pretrained(folder)
    cfg = transformers.BertConfig(
        vocab_size=len(tok),
        hidden_size=D_MODEL,
        num_hidden_layers=1,
        num_attention_heads=4,
        intermediate_size=128,
    )
    torch.manual_seed(0)
    transformers.BertModel(cfg).save_pretrained(folder)
    return folder


@dataclass
class PlantedSae:
    """A decoder whose rows were planted near token unembeddings, and the truth behind it."""

    W_dec: np.ndarray  # (num_latents, d_in) float32, unit rows
    family: np.ndarray  # (num_latents,) family index, -1 for noise rows
    family_names: list[str]


def planted_decoder(
    lens_folder: Path, *, per_family: int = 12, n_noise: int = 8, seed: int = 0
) -> PlantedSae:
    """Rows = (centred, γ-scaled) unembedding of a random family word + noise, normalised.

    Built from the saved model's own weights, so the lens must read each row's family.
    """
    import torch
    import transformers

    tok = transformers.AutoTokenizer.from_pretrained(lens_folder)
    model = transformers.AutoModelForCausalLM.from_pretrained(lens_folder, dtype=torch.float32)
    W_U = model.get_output_embeddings().weight.detach().numpy().astype(np.float64)
    rng = np.random.default_rng(seed)
    rows, fam = [], []
    names = list(FAMILIES)
    for f, name in enumerate(names):
        ids = [tok.convert_tokens_to_ids(tok.tokenize(" " + w))[0] for w in FAMILIES[name]]
        centre = W_U[ids].mean(0)
        for _ in range(per_family):
            w = W_U[rng.choice(ids)]
            rows.append(
                0.5 * w / np.linalg.norm(w)
                + centre / np.linalg.norm(centre)
                + 0.15 * rng.standard_normal(D_MODEL) / np.sqrt(D_MODEL)
            )
            fam.append(f)
    for _ in range(n_noise):
        rows.append(rng.standard_normal(D_MODEL))
        fam.append(-1)
    for hostile in ("<script>alert(1)</script>", "|"):  # features that read as hostile tokens
        w = W_U[tok.convert_tokens_to_ids(hostile)]
        rows.append(w / np.linalg.norm(w))
        fam.append(-1)
    W = np.array(rows)
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    return PlantedSae(W.astype(np.float32), np.array(fam), names)


def save_sparsify_sae(
    folder: Path, W_dec: np.ndarray, *, style: str = "new", dtype: str = "float32", k: int = 4
) -> Path:
    """Save with sparsify's own `Sae.save_to_disk`; `style='old'` rewrites cfg.json as Pythia's."""
    import torch
    from sparsify import Sae, SaeConfig

    n, d = W_dec.shape
    sae = Sae(d, SaeConfig(num_latents=n, k=k), dtype=getattr(torch, dtype))
    with torch.no_grad():
        sae.W_dec.copy_(torch.from_numpy(W_dec).to(sae.W_dec.dtype))
    sae.save_to_disk(folder)
    if style == "old":
        cfg = {
            "expansion_factor": 32,
            "normalize_decoder": True,
            "num_latents": n,
            "k": k,
            "signed": False,
            "d_in": d,
        }
        (folder / "cfg.json").write_text(json.dumps(cfg))
    return folder


def build_sae_root(
    root: Path,
    decoders: dict[str, np.ndarray],
    *,
    styles: dict[str, str] | None = None,
    dtype: str = "float32",
) -> Path:
    """A sparsify root: one folder per hookpoint."""
    for hookpoint, W in decoders.items():
        save_sparsify_sae(
            root / hookpoint, W, style=(styles or {}).get(hookpoint, "new"), dtype=dtype
        )
    return root


def build_fake_hub_repo(
    cache_dir: Path, repo: str, decoders: dict[str, np.ndarray], *, revision: str = "ab" * 20
) -> Path:
    """A hub cache entry for `repo` as huggingface_hub lays it out; returns the snapshot folder."""
    repo_dir = cache_dir / ("models--" + repo.replace("/", "--"))
    (repo_dir / "refs").mkdir(parents=True, exist_ok=True)
    (repo_dir / "refs" / "main").write_text(revision)
    snapshot = repo_dir / "snapshots" / revision
    build_sae_root(snapshot, decoders, styles={h: "old" for h in decoders})
    return snapshot
