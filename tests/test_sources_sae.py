"""Loading W_dec from every source kind through the public `load_sae`."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from generator.errors import DataError, SourceError
from generator.sources import load_sae
from tests import fixtures
from tests.conftest import HUB_CACHE


def test_local_hookpoint_folder_loads_w_dec_as_float32(sae_root, planted):
    dec = load_sae(path=sae_root / "layers.0")
    assert dec.W_dec.dtype == np.float32
    assert dec.W_dec.shape == planted.W_dec.shape
    np.testing.assert_allclose(dec.W_dec, planted.W_dec, rtol=0, atol=1e-7)
    ident = dec.identity
    assert (ident.kind, ident.hookpoint, ident.d_in, ident.num_latents) == (
        "local",
        "layers.0",
        64,
        planted.W_dec.shape[0],
    )
    assert ident.cfg["k"] == 4 and ident.cfg["activation"] == "topk"


def test_root_plus_hookpoint_and_old_style_fp16_cfg(sae_root):
    dec = load_sae(path=sae_root, hookpoint="layers.1.mlp")
    assert dec.identity.stored_dtype == "float16"
    assert dec.W_dec.dtype == np.float32 and dec.W_dec.shape == (40, 64)
    assert dec.identity.cfg["num_latents"] == 40 and "signed" not in dec.identity.cfg
    other = np.random.default_rng(1).standard_normal((40, 64)).astype(np.float32)
    np.testing.assert_allclose(dec.W_dec, other.astype(np.float16).astype(np.float32))


def test_bf16_decoder_loads_as_float32(sae_root):
    dec = load_sae(path=sae_root, hookpoint="layers.1")
    assert dec.identity.stored_dtype == "bfloat16" and dec.W_dec.dtype == np.float32
    other = np.random.default_rng(1).standard_normal((40, 64)).astype(np.float32)
    np.testing.assert_allclose(dec.W_dec, other, rtol=1e-2)


def test_wrong_hookpoint_lists_available_ones(sae_root):
    with pytest.raises(SourceError) as e:
        load_sae(path=sae_root, hookpoint="layers.1.attention")
    msg = str(e.value)
    assert "'layers.1.attention' not found" in msg
    assert "Available hookpoints: layers.0, layers.1, layers.1.mlp" in msg


def test_root_without_hookpoint_asks_for_one(sae_root):
    with pytest.raises(
        SourceError, match=r"give `hookpoint`, one of: layers\.0, layers\.1, layers\.1\.mlp"
    ):
        load_sae(path=sae_root)


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".safetensors"])
def test_plain_files_in_any_dtype(tmp_path, suffix):
    W = np.random.default_rng(0).standard_normal((20, 8))
    p = tmp_path / f"dec{suffix}"
    if suffix == ".npy":
        np.save(p, W.astype(np.float16))
    elif suffix == ".npz":
        np.savez(p, W_dec=W.astype(np.float64))
    else:
        import torch
        from safetensors.torch import save_file

        save_file({"W_dec": torch.from_numpy(W).to(torch.bfloat16)}, str(p))
    dec = load_sae(path=p)
    assert dec.W_dec.dtype == np.float32 and dec.W_dec.shape == (20, 8)
    np.testing.assert_allclose(dec.W_dec, W, rtol=1e-2, atol=1e-2)
    assert dec.identity.kind == "file" and dec.identity.d_in == 8


def test_plain_file_with_other_tensor_name_names_the_ones_present(tmp_path):
    p = tmp_path / "x.npz"
    np.savez(p, decoder=np.ones((3, 2)))
    with pytest.raises(SourceError, match=r"no array named 'W_dec'; arrays in the file: decoder"):
        load_sae(path=p)
    assert load_sae(path=p, tensor="decoder").W_dec.shape == (3, 2)


def test_nan_rows_are_named(tmp_path):
    W = np.ones((6, 4), dtype=np.float32)
    W[2, 1] = np.nan
    W[5, 0] = np.inf
    np.save(tmp_path / "w.npy", W)
    with pytest.raises(
        DataError, match=r"W_dec: 2 row\(s\) contain NaN or infinite values \(latents 2, 5\)"
    ):
        load_sae(path=tmp_path / "w.npy")


def test_wrong_rank_is_rejected(tmp_path):
    np.save(tmp_path / "w.npy", np.ones((2, 3, 4), dtype=np.float32))
    with pytest.raises(DataError, match=r"must be a 2-D matrix .* got shape \(2, 3, 4\)"):
        load_sae(path=tmp_path / "w.npy")


def test_unknown_suffix_and_missing_path(tmp_path):
    (tmp_path / "w.txt").write_text("1 2")
    with pytest.raises(SourceError, match=r"suffix '.txt'; accepted: .safetensors, .npy, .npz"):
        load_sae(path=tmp_path / "w.txt")
    with pytest.raises(SourceError, match="does not exist"):
        load_sae(path=tmp_path / "nope.npy")


def test_hub_loads_from_cache_offline(hub_repo, planted):
    dec = load_sae(repo=hub_repo, hookpoint="layers.0")
    np.testing.assert_allclose(dec.W_dec, planted.W_dec, atol=1e-7)
    assert dec.identity.kind == "hub" and dec.identity.revision == "ab" * 20
    assert dec.identity.location == hub_repo


def test_hub_wrong_hookpoint_lists_available_ones(hub_repo):
    with pytest.raises(SourceError) as e:
        load_sae(repo=hub_repo, hookpoint="layers.1")
    msg = str(e.value)
    assert "Did you mean 'layers.1.mlp'" in msg
    assert "Available hookpoints: layers.0, layers.0.mlp, layers.1.mlp, layers.2.mlp" in msg


def test_hub_repo_missing_from_cache_is_a_clear_error():
    with pytest.raises(SourceError, match=r"'test-org/absent' .* not in the local hub cache"):
        load_sae(repo="test-org/absent", hookpoint="layers.0")


def test_hub_touches_only_requested_hookpoint_and_downloads_nothing(monkeypatch):
    """Other hookpoints hold garbage; any read of them, or any download, would fail."""
    import huggingface_hub.file_download as fd

    W = np.random.default_rng(3).standard_normal((10, 64)).astype(np.float32)
    snap = fixtures.build_fake_hub_repo(
        HUB_CACHE, "test-org/sae-guarded", {"layers.3": W}, revision="cd" * 20
    )
    for hp in ("layers.4", "layers.5.mlp"):
        (snap / hp).mkdir()
        (snap / hp / "cfg.json").write_text("{not json")
        (snap / hp / "sae.safetensors").write_bytes(b"\x00garbage")

    def no_download(*a, **k):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(fd, "http_get", no_download)
    monkeypatch.setattr(fd, "hf_hub_download", no_download)
    opened: list[str] = []

    def audit(event, args):
        if event == "open" and isinstance(args[0], str) and "sae-guarded" in args[0]:
            opened.append(args[0])

    sys.addaudithook(audit)
    dec = load_sae(repo="test-org/sae-guarded", hookpoint="layers.3")
    np.testing.assert_allclose(dec.W_dec, W)
    touched = [p for p in opened if "/snapshots/" in p]
    assert touched and all("/layers.3/" in p for p in touched), touched


def test_exactly_one_location_is_required():
    with pytest.raises(SourceError, match="exactly one of repo"):
        load_sae()
    with pytest.raises(SourceError, match="hookpoint is required"):
        load_sae(repo="a/b")


def test_cfg_without_d_in_is_not_a_sparsify_folder(tmp_path):
    (tmp_path / "cfg.json").write_text(json.dumps({"k": 4}))
    with pytest.raises(SourceError, match="no 'd_in' key"):
        load_sae(path=tmp_path)


def test_all_hookpoints_of_a_root_are_its_folders_in_natural_order(tmp_path):
    from generator.sources.sae import hookpoints_of

    W = np.random.default_rng(0).standard_normal((8, fixtures.D_MODEL)).astype(np.float32)
    for hp in ("layers.10", "layers.2", "layers.2.mlp", "ckpt/layers.2/step100"):
        fixtures.save_sparsify_sae(tmp_path / hp, W, style="new")
    # deeper folders (checkpoints kept beside the hookpoints) are other SAEs, not hookpoints
    assert hookpoints_of(path=tmp_path) == ["layers.2", "layers.2.mlp", "layers.10"]
    with pytest.raises(SourceError, match="holds no hookpoint folders"):
        hookpoints_of(path=tmp_path / "ckpt")
    with pytest.raises(SourceError, match="needs a sparsify root folder"):
        hookpoints_of(path=tmp_path / "layers.2" / "sae.safetensors")


def test_all_hookpoints_of_a_hub_repo_come_from_the_cache_offline(hub_repo, monkeypatch):
    from huggingface_hub import constants

    from generator.sources.sae import hookpoints_of

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert hookpoints_of(repo=hub_repo) == [
        "layers.0",
        "layers.0.mlp",
        "layers.1.mlp",
        "layers.2.mlp",
    ]
    with pytest.raises(SourceError, match="no hookpoints found for SAE repo 'test-org/none'"):
        hookpoints_of(repo="test-org/none")
