"""The `saetax` command line: subcommands, one-line errors with exit code 2, a fast start."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import yaml
from click.testing import CliRunner

from generator.cli import main
from tests.conftest import fresh_python


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_help_lists_every_subcommand():
    r = run("--help")
    assert r.exit_code == 0
    for cmd in ("build", "analyze", "render", "serve", "modules"):
        assert cmd in r.output


def test_help_imports_no_torch_and_starts_fast():
    code = (
        "import sys, time; t=time.perf_counter(); from generator.cli import main; "
        "print('torch' in sys.modules, 'numba' in sys.modules, time.perf_counter()-t)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[:2] == ["False", "False"]
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "generator", "--help"], capture_output=True, check=True)
    assert time.perf_counter() - t0 < 2.0


def test_modules_lists_ours_and_artlibs():
    r = run("modules")
    assert r.exit_code == 0
    assert "cosine" in r.output and "fuzzy" in r.output and "artlib.HypersphereART" in r.output
    assert "rho" in r.output and "default" in r.output
    assert "Clustering methods (sweep.methods):" in r.output and "\n  art " in r.output


def test_a_command_freezes_the_collector_as_it_exits():
    """The collector's walk over every loaded object at exit (more than a second after a
    build's imports) is skipped: gc.freeze runs at exit, after the command's output."""
    code = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0, flush=True))\n"
        "from generator.cli import main\n"
        "main(['modules'])"
    )
    stdout = fresh_python(code)
    assert "cosine" in stdout and stdout.rstrip().endswith("frozen True")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {
                "sae": {"repo": "a/b", "hookpoint": "layers.3"},
                "lens": {"model": "m"},
                "sweep": {"rho_sets": [[0.5, 0.2]]},
            },
            "strictly increasing",
        ),
        (
            {"sae": {"repo": "a/b", "hookpoint": "layers.3"}, "lens": {"model": "m"}, "swep": {}},
            "did you mean 'sweep'",
        ),
        ({"sae": {"path": "nope"}, "lens": {"model": "m"}}, "does not exist"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, config, message):
    cfg = tmp_path / "site_config.yml"
    cfg.write_text(yaml.safe_dump(config))
    r = CliRunner().invoke(main, ["analyze", "-c", str(cfg), "-o", str(tmp_path / "out")])
    assert r.exit_code == 2
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("saetax: error: ") and message in lines[0], (
        r.output
    )


def test_wrong_hookpoint_on_the_command_line_lists_the_available_ones(tmp_path, sae_root, tiny_lm):
    cfg = tmp_path / "c.yml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "sae": {"path": str(sae_root), "hookpoint": "layers.1.attention"},
                "lens": {"model": str(tiny_lm)},
            }
        )
    )
    r = CliRunner().invoke(main, ["analyze", "-c", str(cfg), "-o", str(tmp_path / "out")])
    assert r.exit_code == 2
    assert "Available hookpoints: layers.0, layers.1, layers.1.mlp" in r.output


def test_render_without_artifacts_and_missing_config(tmp_path):
    r = CliRunner().invoke(main, ["render", "-o", str(tmp_path)])
    assert r.exit_code == 2 and "no artifacts at" in r.output and "saetax analyze" in r.output
    r = CliRunner().invoke(main, ["build", "-c", str(tmp_path / "none.yml"), "-o", str(tmp_path)])
    assert r.exit_code == 2 and "not found" in r.output


def test_serve_without_a_site(tmp_path):
    r = CliRunner().invoke(main, ["serve", "-o", str(tmp_path)])
    assert r.exit_code == 2 and "no site at" in r.output


def test_render_with_a_relative_out_folder(analyzed, tmp_path, monkeypatch):
    import shutil

    out, _ = analyzed
    shutil.copytree(out / "artifacts", tmp_path / "rel" / "artifacts")
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(main, ["render", "-o", "rel"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert (tmp_path / "rel" / "site" / "index.html").is_file()
