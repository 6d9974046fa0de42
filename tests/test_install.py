"""The package as users install it: a wheel (not editable) carries its templates and pages,
and `saetax build` works from another folder."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_a_wheel_in_a_fresh_venv_builds_the_demo_site_from_another_folder(tmp_path):
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(ROOT)],
        check=True,
    )
    (wheel,) = wheels.glob("art_sae_taxonomy-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "-q", "install", "--no-deps", str(wheel)], check=True)
    # the dependencies (torch and the rest) are shared with this environment rather than
    # installed again; the package itself comes from the wheel only
    site = Path(
        subprocess.run(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (site / "_shared_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    cfg = yaml.safe_load((ROOT / "site_config.yml").read_text())
    cfg["sae"]["path"] = str(ROOT / cfg["sae"]["path"])
    for ev in cfg.get("evolution", []):  # the bundled snapshots, wherever the config is
        for snap in ev["snapshots"]:
            snap["sae"]["path"] = str(ROOT / snap["sae"]["path"])
    cfg["selection"] = {**cfg.get("selection", {}), "max_features": 400}
    cfg["pca"] = {"dims": [None]}
    cfg["sweep"]["stability"] = False  # this test is about packaging, not about numbers
    cfg["umap"] = {"enabled": False}
    work = tmp_path / "elsewhere"
    work.mkdir()
    (work / "my_config.yml").write_text(yaml.safe_dump(cfg))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": ""}
    where = subprocess.run(
        [str(py), "-c", "import generator; print(generator.__file__)"],
        cwd=work,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert where.startswith(str(venv)), f"generator imported from {where}, not the wheel"
    r = subprocess.run(
        [str(venv / "bin" / "saetax"), "build", "-c", "my_config.yml", "-o", "out"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    site = work / "out" / "site"
    assert (site / "index.html").is_file() and (site / "assets" / "saetax.js").is_file()
    assert "Reading guide" in (site / "reading.html").read_text()
    assert "assignments.parquet" in (site / "reference" / "artifacts.html").read_text()
    assert "sweep.methods" in (site / "reference" / "config.html").read_text()
