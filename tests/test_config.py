"""site_config.yml parsing: defaults, and one clear message per bad value."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from generator.config import check_against_data, load_config, parse_config
from generator.errors import ConfigError

BASE = {
    "sae": {"repo": "EleutherAI/sae-pythia-70m-32k", "hookpoint": "layers.3"},
    "lens": {"model": "EleutherAI/pythia-70m"},
}


def with_(**sections):
    return {**BASE, **sections}


def test_defaults_fill_every_section():
    cfg = parse_config(BASE)
    assert cfg.sweep.rho_sets == [[0.2, 0.5, 0.8]]
    assert cfg.sweep.hierarchy == ["nested"] and cfg.sweep.modules[0].name == "cosine"
    assert cfg.lens.layernorm == "gamma" and cfg.lens.kind == "causal_lm"
    assert cfg.selection.junk.top_n == 5 and cfg.selection.junk.min_junk == 3
    assert cfg.pca.dims == [None]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            with_(swep={}),
            r"^cfg: swep: unknown key 'swep'; did you mean 'sweep'\? Accepted keys here: device, evolution, interpret",
        ),
        (
            with_(sweep={"rho_set": [[0.2]]}),
            r"sweep\.rho_set: unknown key 'rho_set'; did you mean 'rho_sets'\?",
        ),
        (
            with_(sweep={"rho_sets": [[0.2, 1.5]]}),
            r"sweep\.rho_sets\[0\]\[1\]: rho must be a float in \(0, 1\]; got 1\.5\.",
        ),
        (
            with_(sweep={"rho_sets": [[0.0, 0.5]]}),
            r"sweep\.rho_sets\[0\]\[0\]: rho must be a float in \(0, 1\]; got 0\.0\.",
        ),
        (
            with_(sweep={"rho_sets": [[0.5, 0.2]]}),
            r"rho_sets\[0\] must be strictly increasing \(coarse to fine levels\)\. Got \[0\.5, 0\.2\]",
        ),
        (
            with_(sweep={"hierarchy": ["deep"]}),
            r"sweep\.hierarchy\[0\]: Input should be 'nested' or 'smart'; got 'deep'\.",
        ),
        (
            with_(sweep={"modules": [{"name": "cosin"}]}),
            r"unknown ART module 'cosin'\. Did you mean 'cosine'\?",
        ),
        (
            with_(sweep={"modules": [{"name": "fuzzy", "params": {"alpha": -1}}]}),
            r"'alpha' parameter of fuzzy must be a float in \[0, inf\]\. Got -1",
        ),
        (
            with_(pca={"dims": [None, "x"]}),
            r"pca\.dims\[1\]: Input should be a valid integer.*got 'x'\.",
        ),
        (
            with_(pca={"dims": [0]}),
            r"dims\[0\] = 0: a PCA dimension must be a positive integer or null",
        ),
        (
            with_(lens={"model": "m", "layernorm": "full"}),
            r"lens\.layernorm: Input should be 'gamma', 'seed' or 'none'; got 'full'\.",
        ),
        (with_(seed="abc"), r"seed: Input should be a valid integer.*got 'abc'\."),
        ({"lens": {"model": "m"}}, r"sae: required key is missing\."),
        (with_(sae={"repo": "a/b"}), r"sae: `hookpoint` is required with `repo`"),
        (with_(sae={"repo": "a/b", "path": "x", "hookpoint": "h"}), r"give exactly one of `repo`"),
        (with_(selection={"junk": {"min_junk": 9}}), r"min_junk \(9\) cannot exceed top_n \(5\)"),
        (
            with_(sae={"path": "x", "hookpoint": "a", "hookpoints": ["b"]}),
            r"give `hookpoint` \(one\) or `hookpoints` \(several\), not both",
        ),
        (with_(sae={"path": "x", "hookpoints": []}), r"`hookpoints` is empty"),
        (with_(sae={"path": "x", "hookpoints": "some"}), r"sae\.hookpoints.*got 'some'"),
        (
            with_(sae={"path": "x", "hookpoints": ["layers.1", "layers.1"]}),
            r"hookpoints.*layers\.1",
        ),
        (
            with_(
                sae={
                    "repo": "EleutherAI/sae-pythia-70m-32k",
                    "hookpoints": ["layers.3", "layers.9"],
                }
            ),
            r"hookpoint 'layers\.9' does not exist in EleutherAI/sae-pythia-70m-32k",
        ),
        (
            with_(
                sae={"path": "x", "hookpoints": "all"},
                evolution=[
                    {"name": "e", "snapshots": [{"label": x, "sae": {"path": x}} for x in "ab"]}
                ],
            ),
            r"`evolution` follows the taxonomy of one hookpoint",
        ),
        (
            with_(sweep={"executor": "dask", "dask": {"scheduler": "localhost:8786"}}),
            r"'localhost:8786' is neither `local` nor a scheduler address such as `tcp://host:8786`",
        ),
        (
            with_(sweep={"executor": "ray"}),
            r"sweep\.executor: Input should be 'sequential', 'processes' or 'dask'",
        ),
        (
            with_(selection={"max_features": 1}),
            r"selection\.max_features: Input should be greater than or equal to 2; got 1\.",
        ),
    ],
)
def test_bad_values_name_key_value_and_what_is_accepted(data, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(data, source="cfg")


def test_several_problems_are_counted_in_one_message():
    with pytest.raises(ConfigError, match=r"\(and 1 more problem\)$"):
        parse_config(with_(seed="x", device="tpu"), source="cfg")


def test_pca_dims_larger_than_the_data():
    cfg = parse_config(with_(pca={"dims": [None, 32, 600]}))
    check_against_data(cfg, n_rows=32768, d_in=1024)
    with pytest.raises(
        ConfigError, match=r"pca\.dims\[2\]: 600 is larger than the data allows; at most 512"
    ):
        check_against_data(cfg, n_rows=32768, d_in=512)
    with pytest.raises(
        ConfigError,
        match=r"pca\.dims\[0\]: 32 .* at most 20 \(= min\(selected features 20, d_in 512\)\)",
    ):
        check_against_data(parse_config(with_(pca={"dims": [32]})), n_rows=20, d_in=512)


def test_load_config_resolves_paths_against_its_folder(tmp_path):
    p = tmp_path / "conf" / "site.yml"
    p.parent.mkdir()
    p.write_text(yaml.safe_dump({"sae": {"path": "data/sae"}, "lens": {"model": "m"}}))
    cfg = load_config(p)
    assert cfg.resolve_path(cfg.sae.path) == p.parent / "data" / "sae"
    assert cfg.resolve_path("/abs/x") == Path("/abs/x")


def test_load_config_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="config file .* not found"):
        load_config(tmp_path / "nope.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("sae: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    bad.write_text("- a list")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(bad)


def test_docs_config_md_documents_every_key():
    from generator.config_reference import config_reference

    text = (Path(__file__).parents[1] / "docs" / "config.md").read_text()
    assert text == config_reference(), (
        "docs/config.md is stale: run `python -m generator.config_reference > docs/config.md`"
    )
