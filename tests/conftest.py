"""Shared offline fixtures. The hub is unreachable in tests: HF_HUB_OFFLINE=1 and a private
HF_HOME are set before anything imports huggingface_hub."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_HF_HOME = Path(tempfile.mkdtemp(prefix="saetax-hf-"))
os.environ["HF_HOME"] = str(_HF_HOME)
os.environ["HF_HUB_CACHE"] = str(_HF_HOME / "hub")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["SPARSIFY_DISABLE_TRITON"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tests import fixtures  # noqa: E402

HUB_CACHE = Path(os.environ["HF_HUB_CACHE"])


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory) -> Path:
    """A tiny GPT-NeoX with a trained byte-level BPE tokenizer (13 padding unembedding rows)."""
    return fixtures.build_causal_lm(tmp_path_factory.mktemp("lm") / "tiny-neox")


@pytest.fixture(scope="session")
def planted(tiny_lm) -> fixtures.PlantedSae:
    return fixtures.planted_decoder(tiny_lm)


@pytest.fixture(scope="session")
def sae_root(tmp_path_factory, planted) -> Path:
    """A sparsify root with three hookpoints: new-style fp32, old-style fp16, new-style bf16."""
    root = tmp_path_factory.mktemp("sae") / "sae-tiny"
    rng = np.random.default_rng(1)
    other = rng.standard_normal((40, fixtures.D_MODEL)).astype(np.float32)
    fixtures.save_sparsify_sae(root / "layers.0", planted.W_dec, style="new")
    fixtures.save_sparsify_sae(root / "layers.1.mlp", other, style="old", dtype="float16")
    fixtures.save_sparsify_sae(root / "layers.1", other, style="new", dtype="bfloat16")
    return root


@pytest.fixture(scope="session")
def hub_repo(planted) -> str:
    """`test-org/sae-tiny` in the fake hub cache with hookpoints layers.0 … layers.2.mlp."""
    rng = np.random.default_rng(2)
    decoders = {
        "layers.0": planted.W_dec,
        "layers.0.mlp": rng.standard_normal((30, fixtures.D_MODEL)).astype(np.float32),
        "layers.1.mlp": rng.standard_normal((30, fixtures.D_MODEL)).astype(np.float32),
        "layers.2.mlp": rng.standard_normal((30, fixtures.D_MODEL)).astype(np.float32),
    }
    fixtures.build_fake_hub_repo(HUB_CACHE, "test-org/sae-tiny", decoders)
    return "test-org/sae-tiny"


def pytest_collection_modifyitems(config, items):
    """Tests marked `gpu` run only where torch sees a CUDA device (`device: auto` finds
    one; without importing torch where the machine has no GPU at all); elsewhere each is
    reported as skipped, with why, so a GPU machine runs them with `pytest -m gpu`."""
    from generator.errors import resolve_device

    wanting = [item for item in items if item.get_closest_marker("gpu")]
    if wanting and resolve_device("auto") != "cuda":
        skip = pytest.mark.skip(reason="needs a CUDA device; torch sees none here")
        for item in wanting:
            item.add_marker(skip)


def fresh_python(code: str) -> str:
    """What `code` prints when run in a fresh Python process: what a new process (a
    command, a worker) imports and decides before anything else has run in it."""
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return run.stdout


def fixture_config(sae_path, lens_path, **sections):
    """A config over the fixture SAE and tiny LM: small, UMAP off unless asked for."""
    from generator.config import parse_config

    return parse_config(fixture_dict(sae_path, lens_path, **sections))


def fixture_dict(sae_path, lens_path, **sections) -> dict:
    """`fixture_config`'s mapping, as a site_config.yml would hold it."""
    base = {
        "sae": {"path": str(sae_path), "hookpoint": "layers.0"},
        "lens": {"model": str(lens_path)},
        "pca": {"dims": [None, 8]},
        "sweep": {"rho_sets": [[0.2, 0.5], [0.3, 0.6, 0.8]], "hierarchy": ["nested", "smart"]},
        "umap": {"enabled": False},
        "metrics": {"nn_sample": 50, "silhouette_sample": 100},
    }
    for key, value in sections.items():
        base[key] = {**base.get(key, {}), **value} if isinstance(value, dict) else value
    return base


@pytest.fixture(scope="session")
def analyzed(tmp_path_factory, sae_root, tiny_lm):
    """One full analysis of the fixtures (UMAP on), shared by the read-only tests."""
    from generator.pipeline import analyze

    out = tmp_path_factory.mktemp("analyzed")
    cfg = fixture_config(sae_root, tiny_lm, umap={"enabled": True, "n_neighbors": 10})
    analyze(cfg, out)
    return out, cfg


@pytest.fixture(scope="session")
def rendered(analyzed):
    """The site built (strict) from the shared fixture artifacts."""
    from generator.site import render_site

    out, cfg = analyzed
    return render_site(out, strict=True)


@pytest.fixture(scope="session")
def browser():
    """Headless Debian chromium driven by Playwright (installed by scripts/install.sh --test)."""
    from pathlib import Path as _P

    from playwright.sync_api import sync_playwright

    from generator.site.browser import CHROMIUM, launch

    assert _P(CHROMIUM).exists(), "Debian chromium is missing: run `bash scripts/install.sh --test`"
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture(scope="session")
def site_server(rendered):
    """The built site on 127.0.0.1 (a random free port)."""
    import functools
    import http.server
    import threading

    handler = functools.partial(_QuietHandler, directory=str(rendered))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


import http.server as _hs  # noqa: E402


class _QuietHandler(_hs.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
