"""A catalogue of bad inputs through the command line. Each gets exit code 2 and exactly one
error line that names the bad key or file (and, where there is a list, what is accepted),
and leaves the previous artifacts in OUT byte for byte as they were."""

from __future__ import annotations

import copy
import re
import shutil

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from generator.cli import main
from tests import fixtures
from tests.conftest import fixture_dict


@pytest.fixture(scope="module")
def good(tmp_path_factory, sae_root, tiny_lm):
    """A good analysis in OUT, the config that made it, and bad input files beside it."""
    root = tmp_path_factory.mktemp("bad-inputs")
    cfg = fixture_dict(sae_root, tiny_lm, pca={"dims": [None]}, sweep={"hierarchy": ["nested"]})
    (root / "good.yml").write_text(yaml.safe_dump(cfg))
    r = CliRunner().invoke(main, ["analyze", "-c", str(root / "good.yml"), "-o", str(root / "out")])
    assert r.exit_code == 0, r.output
    files = root / "files"
    files.mkdir()
    W = np.random.default_rng(0).standard_normal((20, fixtures.D_MODEL)).astype(np.float32)
    np.save(files / "good.npy", W)
    raw = (files / "good.npy").read_bytes()
    (files / "truncated.npy").write_bytes(raw[: len(raw) // 2])
    (files / "garbage.safetensors").write_bytes(b"\x00\x01 this is not a safetensors file" * 4)
    fixtures.save_sparsify_sae(files / "sae" / "layers.0", W)
    st = (files / "sae" / "layers.0" / "sae.safetensors").read_bytes()
    (files / "truncated.safetensors").write_bytes(st[: len(st) // 3])
    nan = W.copy()
    nan[[3, 11]] = np.nan
    np.save(files / "nan.npy", nan)
    zero = W.copy()
    zero[7] = 0
    np.save(files / "zero.npy", zero)
    np.save(files / "vector.npy", W[0])
    _headless_copy(cfg["lens"]["model"], files / "headless-lm")
    np.save(files / "text.npy", np.array(["a", "b"]))
    (files / "decoder.txt").write_text("0.1 0.2\n")
    return root, cfg


def _headless_copy(lm: str, folder) -> None:
    """The tiny LM's body without its LM head (GPTNeoXModel), tokenizer included."""
    import transformers

    with_head = transformers.AutoModelForCausalLM.from_pretrained(lm)
    with_head.gpt_neox.save_pretrained(folder)
    transformers.AutoTokenizer.from_pretrained(lm).save_pretrained(folder)


def _with(cfg: dict, path: str, value) -> dict:
    """cfg with the dotted key set (`value` DELETE removes it)."""
    out = copy.deepcopy(cfg)
    *parents, last = path.split(".")
    d = out
    for p in parents:
        d = d.setdefault(p, {})
    if value is DELETE:
        d.pop(last, None)
    else:
        d[last] = value
    return out


DELETE = object()
F = "FILES"  # replaced by the folder of bad files

# (dotted key, value, what the one error line must contain)
CONFIG_CASES = [
    ("colour", "red", r"colour"),
    ("sae.hookpont", "layers.0", r"hookpont"),
    ("seed", "abc", r"seed.*'abc'"),
    ("seed", True, r"`seed` must be a number; got true"),
    ("lens.top_k", True, r"lens.*`top_k` must be a number; got true"),
    ("lens.top_k", 0, r"lens\.top_k.*greater than or equal to 1"),
    ("lens.top_k", 500, r"lens\.top_k.*less than or equal to 200"),
    ("lens.top_k", 3, r"selection\.junk\.top_n \(5\) cannot exceed lens\.top_k \(3\)"),
    ("lens.layernorm", "full", r"lens\.layernorm.*'gamma', 'seed' or 'none'.*'full'"),
    ("lens.kind", "decoder", r"lens\.kind.*'causal_lm' or 'encoder'"),
    ("lens", DELETE, r"lens: required key is missing"),
    ("selection.max_features", 1, r"selection\.max_features.*greater than or equal to 2"),
    ("selection.junk.min_junk", 9, r"min_junk \(9\) cannot exceed top_n \(5\)"),
    ("selection.junk.classes", ["specials"], r"classes.*specials"),
    ("pca.dims", [0], r"dims\[0\] = 0: a PCA dimension must be a positive integer or null"),
    ("pca.dims", [True], r"dims\[0\] = true: a PCA dimension must be a positive integer"),
    ("pca.dims", [None, None], r"lists a setting twice"),
    ("pca.dims", [], r"pca\.dims"),
    ("sweep.rho_sets", [[0.5, 0.3]], r"rho_sets\[0\]"),
    ("sweep.rho_sets", [[1.5]], r"rho_sets"),
    ("sweep.hierarchy", ["flat"], r"sweep\.hierarchy.*'nested' or 'smart'"),
    ("sweep.modules", [{"name": "cosin"}], r"unknown ART module 'cosin'\. Did you mean 'cosine'\?"),
    ("sweep.methods", [{"name": "dbscan"}], r"dbscan"),
    ("sweep.executor", "ray", r"sweep\.executor.*'sequential', 'processes' or 'dask'"),
    ("sweep.workers", 0, r"sweep\.workers.*greater than or equal to 1"),
    ("sweep.dask.scheduler", "localhost:8786", r"'localhost:8786' is neither `local` nor"),
    ("sweep.stability.fraction", 1.5, r"fraction.*less than 1"),
    ("sweep.seeds", [], r"sweep\.seeds"),
    ("device", "tpu", r"device.*'auto', 'cpu' or 'cuda'"),
    ("sae.repo", "a/b", r"give exactly one of `repo`"),
    ("sae.hookpoints", ["layers.0"], r"give `hookpoint` \(one\) or `hookpoints`"),
    ("site.url", "ftp://example.org/", r"site\.url"),
    ("umap.n_neighbors", 1, r"umap\.n_neighbors"),
    ("interpret.top_k", -1, r"interpret\.top_k"),
]


def _run(args):
    r = CliRunner().invoke(main, args)
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("saetax: error:")]
    return r, errors


def _artifact_bytes(out):
    return {
        p.relative_to(out): p.read_bytes() for p in (out / "artifacts").rglob("*") if p.is_file()
    }


@pytest.mark.parametrize("key,value,message", CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES])
def test_a_bad_config_value_is_one_line_naming_it(good, key, value, message, tmp_path):
    root, cfg = good
    before = _artifact_bytes(root / "out")
    bad = tmp_path / "bad.yml"
    bad.write_text(yaml.safe_dump(_with(cfg, key, value)))
    r, errors = _run(["analyze", "-c", str(bad), "-o", str(root / "out")])
    assert r.exit_code == 2, (r.exit_code, r.output)
    assert len(errors) == 1 and re.search(message, errors[0]), errors or r.output
    assert "Traceback" not in r.output
    assert _artifact_bytes(root / "out") == before


# (a change to the config with FILES for the bad files' folder, what the error names)
DATA_CASES = [
    (
        "missing-folder",
        {"sae": {"path": "FILES/no-such-sae", "hookpoint": "layers.0"}},
        r"does not exist",
    ),
    (
        "wrong-hookpoint",
        {"sae": {"path": "FILES/sae", "hookpoint": "layers.9"}},
        r"hookpoint 'layers\.9' not found.*Available hookpoints: layers\.0",
    ),
    (
        "truncated-safetensors",
        {"sae": {"path": "FILES/truncated.safetensors"}},
        r"truncated\.safetensors: cannot be read as a safetensors file",
    ),
    (
        "garbage-safetensors",
        {"sae": {"path": "FILES/garbage.safetensors"}},
        r"garbage\.safetensors: cannot be read as a safetensors file",
    ),
    (
        "truncated-npy",
        {"sae": {"path": "FILES/truncated.npy"}},
        r"truncated\.npy: cannot be read as a \.npy array",
    ),
    (
        "nan-rows",
        {"sae": {"path": "FILES/nan.npy"}},
        r"nan\.npy: W_dec: 2 row\(s\) contain NaN.*latents 3, 11",
    ),
    (
        "zero-row",
        {"sae": {"path": "FILES/zero.npy"}},
        r"zero\.npy: W_dec has 1 all-zero row\(s\) \(latents 7\)",
    ),
    ("vector", {"sae": {"path": "FILES/vector.npy"}}, r"vector\.npy: W_dec must be a 2-D matrix"),
    ("text", {"sae": {"path": "FILES/text.npy"}}, r"text\.npy.*(real numbers|cannot be read)"),
    (
        "wrong-suffix",
        {"sae": {"path": "FILES/decoder.txt"}},
        r"SAE file 'decoder\.txt' has suffix '\.txt'; accepted: \.safetensors, \.npy, \.npz",
    ),
    (
        "missing-lens",
        {"lens": {"model": "FILES/no-such-lens"}},
        r"lens folder '.*no-such-lens' does not exist",
    ),
    ("pca-too-wide", {"pca": {"dims": [None, 500]}}, r"500"),
    ("lens-without-head", {"lens": {"model": "FILES/headless-lm"}}, r"headless-lm"),
]


@pytest.mark.parametrize("name,change,message", DATA_CASES, ids=[c[0] for c in DATA_CASES])
def test_a_bad_input_file_is_one_line_naming_it(good, name, change, message, tmp_path):
    root, cfg = good
    before = _artifact_bytes(root / "out")
    data = copy.deepcopy(cfg)
    for section, values in change.items():
        values = {
            k: v.replace(F, str(root / "files")) if isinstance(v, str) else v
            for k, v in values.items()
        }
        data[section] = {**({} if section == "sae" else data[section]), **values}
    bad = tmp_path / "bad.yml"
    bad.write_text(yaml.safe_dump(data))
    r, errors = _run(["analyze", "-c", str(bad), "-o", str(root / "out")])
    assert r.exit_code == 2, (r.exit_code, r.output)
    assert len(errors) == 1 and re.search(message, errors[0]), errors or r.output
    noise = [ln for ln in r.output.splitlines() if ln.strip() and not ln.startswith("saetax: ")]
    assert noise == [], noise  # no library report before the one line
    assert _artifact_bytes(root / "out") == before


def test_a_missing_or_broken_config_file_is_one_line(good, tmp_path):
    root, _ = good
    (tmp_path / "broken.yml").write_text("sae: [unclosed")
    (tmp_path / "list.yml").write_text("- a\n- b\n")
    for path, message in (
        (tmp_path / "none.yml", r"none\.yml' not found"),
        (tmp_path / "broken.yml", r"broken\.yml: not valid YAML"),
        (tmp_path / "list.yml", r"list\.yml: the top level must be a mapping"),
    ):
        r, errors = _run(["analyze", "-c", str(path), "-o", str(root / "out")])
        assert r.exit_code == 2 and len(errors) == 1 and re.search(message, errors[0]), r.output


ARTIFACT_CASES = [
    ("manifest.json", "truncate", r"manifest\.json: cannot be read as artifact JSON"),
    ("manifest.json", "garbage", r"manifest\.json: cannot be read as artifact JSON"),
    ("features.parquet", "truncate", r"features\.parquet: cannot be read as a Parquet file"),
    ("features.parquet", "delete", r"features\.parquet: cannot be read as a Parquet file"),
    ("runs/*/clusters.parquet", "truncate", r"clusters\.parquet: cannot be read as a Parquet file"),
    ("runs/*/run.json", "garbage", r"run\.json: cannot be read as artifact JSON"),
]


@pytest.mark.parametrize(
    "pattern,damage,message", ARTIFACT_CASES, ids=[f"{c[0]}-{c[1]}" for c in ARTIFACT_CASES]
)
def test_damaged_artifacts_at_render_are_one_line_naming_the_file(
    good, pattern, damage, message, tmp_path
):
    root, _ = good
    out = tmp_path / "out"
    shutil.copytree(root / "out" / "artifacts", out / "artifacts")
    (out / "site").mkdir()
    (out / "site" / "index.html").write_text("the previous site")
    target = sorted((out / "artifacts").glob(pattern))[0]
    if damage == "truncate":
        target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])
    elif damage == "garbage":
        target.write_bytes(b"\x89 not json at all")
    else:
        target.unlink()
    r, errors = _run(["render", "-o", str(out)])
    assert r.exit_code == 2, (r.exit_code, r.output)
    assert len(errors) == 1 and re.search(message, errors[0]), errors or r.output
    assert (out / "site" / "index.html").read_text() == "the previous site"  # left in place


def test_the_catalogue_holds_at_least_40_bad_inputs():
    assert len(CONFIG_CASES) + len(DATA_CASES) + 3 + len(ARTIFACT_CASES) >= 40


def test_checks_that_need_only_the_decoder_run_before_the_lens(good, tmp_path):
    root, cfg = good
    bad = tmp_path / "bad.yml"
    bad.write_text(yaml.safe_dump({**cfg, "pca": {"dims": [None, 500]}}))
    r, errors = _run(["analyze", "-c", str(bad), "-o", str(tmp_path / "out")])
    assert r.exit_code == 2 and "at most 64 (= min(features 82, d_in 64))" in errors[0], r.output
    assert not (tmp_path / "out" / "cache" / "lens").exists()  # no stage ran


@pytest.mark.parametrize(
    "err,verb",
    [(28, "write"), (30, "write"), (13, "use")],  # ENOSPC, EROFS, EACCES
    ids=["disk-full", "read-only", "no-permission"],
)
def test_an_out_that_cannot_be_written_is_one_line_naming_the_path(
    good, monkeypatch, tmp_path, err, verb
):
    """A full disk or a read-only OUT (tests run as root, so it is simulated at the write)."""
    import json
    import os

    from generator import pipeline

    root, cfg = good
    target = tmp_path / "out" / "artifacts"

    def refuse(out_dir, arts):
        raise OSError(err, os.strerror(err), str(target))

    monkeypatch.setattr(pipeline, "write", refuse)
    (tmp_path / "c.yml").write_text(yaml.safe_dump(cfg))
    r = CliRunner().invoke(
        main, ["build", "-c", str(tmp_path / "c.yml"), "-o", str(tmp_path / "out")]
    )
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("saetax: error:")]
    assert r.exit_code == 2, r.output
    assert errors == [
        f"saetax: error: cannot {verb} {target}: {os.strerror(err)}. Check the folder's permissions and free space."
    ]
    record = json.loads((tmp_path / "out" / "build.json").read_text())
    assert record["exit_code"] == 2 and record["error"] == errors[0][len("saetax: error: ") :]
