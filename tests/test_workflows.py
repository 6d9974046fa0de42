"""The GitHub Actions workflows users copy (.github/workflows/): valid by actionlint, and
running the README's own commands."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"


def _actionlint() -> str:
    found = Path(sys.executable).parent / "actionlint"
    path = str(found) if found.exists() else shutil.which("actionlint")
    assert path, "actionlint is missing: run `bash scripts/install.sh --test`"
    return path


def _lint(*files: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [_actionlint(), "-no-color", *map(str, files)], capture_output=True, text=True, timeout=120
    )


def _readme_command(n: int) -> str:
    """The README's n-th set-up command (1: install and build, 2: install and test)."""
    text = (ROOT / "README.md").read_text()
    return re.findall(r"^bash scripts/install\.sh.*$", text, flags=re.M)[n - 1].strip()


@pytest.mark.parametrize("name", ["ci.yml", "taxonomy-site.yml"])
def test_actionlint_passes(name):
    r = _lint(WORKFLOWS / name)
    assert r.returncode == 0 and r.stdout == "", r.stdout + r.stderr


def test_actionlint_catches_a_typo(tmp_path):
    """The check is live: a misspelt key and an unknown expression fail it."""
    bad = (WORKFLOWS / "ci.yml").read_text().replace("runs-on:", "run-on:", 1)
    bad = bad.replace("steps:", "steps:\n      - run: echo ${{ github.nope_nope }}", 1)
    (tmp_path / "ci.yml").write_text(bad)
    r = _lint(tmp_path / "ci.yml")
    assert r.returncode == 1, r.stdout
    assert '"runs-on" section is missing' in r.stdout and "nope_nope" in r.stdout


def test_ci_runs_the_readmes_test_command_on_push_and_pull_request():
    wf = yaml.safe_load((WORKFLOWS / "ci.yml").read_text())
    assert set(wf[True]) == {"push", "pull_request"}  # YAML reads the key `on` as True
    runs = [s.get("run", "") for s in wf["jobs"]["test"]["steps"]]
    test_cmd = _readme_command(2)
    assert any(test_cmd in r for r in runs), (test_cmd, runs)
    assert test_cmd in (ROOT / ".ci" / "run").read_text()  # the same command everywhere


def test_site_workflow_installs_caches_builds_uploads_and_deploys():
    text = (WORKFLOWS / "taxonomy-site.yml").read_text()
    wf = yaml.safe_load(text)
    steps = wf["jobs"]["build"]["steps"]
    runs = "\n".join(s.get("run", "") for s in steps)
    install = _readme_command(1).split("&&")[0].strip()  # the README's install, without the build
    assert install in runs
    assert "saetax build" in runs and "--strict" in runs and "--archive" in runs
    assert "--fail-on random-structure" in runs and "--site-url" in runs
    caches = [s for s in steps if s.get("uses", "").startswith("actions/cache@")]
    paths = {s["with"]["path"] for s in caches}
    assert paths == {".hf", "out/cache"}  # the model hub cache and the saetax stage cache
    stage_key = next(s["with"]["key"] for s in caches if s["with"]["path"] == "out/cache")
    assert (
        "hashFiles(env.SAETAX_CONFIG)" in stage_key and "steps.version.outputs.version" in stage_key
    )
    uses = [s.get("uses", "") for s in steps]
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["if"] == "${{ !cancelled() }}"  # kept when a --fail-on check failed
    assert set(upload["with"]["path"].split()) == {"out/site.tar.gz", "out/build.json"}
    assert any(u.startswith("actions/upload-pages-artifact@") for u in uses)
    deploy = wf["jobs"]["deploy"]
    assert deploy["needs"] == "build" and "default_branch" in deploy["if"]
    assert deploy["steps"][0]["uses"].startswith("actions/deploy-pages@")
    assert wf["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
