"""`saetax build` as CI runs it: exit codes, build.json against its schema, the GitHub step
summary, --fail-on, deterministic archives, progress and quiet output."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
import zipfile

import pytest
import yaml
from click.testing import CliRunner

from generator import __version__
from generator.archive import write_archive
from generator.checks import CHECKS
from generator.cli import main
from generator.errors import EXIT_SITE, SiteError, exit_code_of
from generator.report import SCHEMA_FILE
from tests.conftest import fixture_dict

SITE_URL = "https://example.org/taxonomy/"
GITHUB = {
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "someone/sae-site",
    "GITHUB_RUN_ID": "4242",
}


def _config(folder, sae_root, tiny_lm, hookpoint="layers.0", **sections):
    """A small real config file over the fixture SAE (one ART run, raw dims)."""
    small = {
        "pca": {"dims": [None]},
        "sweep": {"rho_sets": [[0.3, 0.6, 0.8]], "hierarchy": ["nested"]},
    }
    cfg = fixture_dict(sae_root, tiny_lm, **{**small, **sections})
    cfg["sae"]["hookpoint"] = hookpoint
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "site_config.yml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _build(*args, env=None):
    return CliRunner().invoke(main, ["build", *map(str, args)], env=env)


def _validate(record):
    import jsonschema

    schema = json.loads(SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(
        record, schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory, sae_root, tiny_lm):
    """One `saetax build --archive --site-url` as a GitHub Actions job runs it."""
    root = tmp_path_factory.mktemp("built")
    cfg = _config(root, sae_root, tiny_lm)
    summary = root / "summary.md"
    summary.write_text("earlier step's summary\n")
    env = {**GITHUB, "GITHUB_STEP_SUMMARY": str(summary)}
    r = _build("-c", cfg, "-o", root / "out", "--archive", "--site-url", SITE_URL, env=env)
    return root / "out", r, summary, cfg


def test_build_writes_site_archive_and_build_json_valid_against_its_schema(built):
    out, r, _, cfg = built
    assert r.exit_code == 0, r.output
    assert f"site built: {out / 'site' / 'index.html'}" in r.output
    record = json.loads((out / "build.json").read_text())
    _validate(record)
    assert (record["status"], record["exit_code"], record["error"]) == ("built", 0, None)
    assert record["versions"]["saetax"] == __version__
    assert record["config"]["path"] == str(cfg)
    names = [s["name"] for s in record["steps"]]
    assert names[:3] == ["config", "decoder", "lens"] and names[-2:] == ["site", "archive"]
    assert record["stages"]["lens"] == {**record["stages"]["lens"], "hits": 0, "misses": 1}
    assert set(record["runs"]) == {"cosine-nested-raw-rho0.3-0.6-0.8-s0"}
    html = sorted((out / "site").rglob("*.html"))
    assert record["counts"]["site_pages"] == len(html) and record["counts"]["runs"] == 1
    assert record["counts"]["selected"] <= record["counts"]["features"]
    assert record["structure"]["on_random_baseline"] is False
    assert record["recommended"]["run"] == "cosine-nested-raw-rho0.3-0.6-0.8-s0"
    assert [c["name"] for c in record["checks"]] == list(CHECKS)
    assert record["site"]["url"] == SITE_URL
    archive = out / "site.tar.gz"
    assert record["archive"]["bytes"] == archive.stat().st_size
    import hashlib

    assert record["archive"]["sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()


def test_step_summary_is_appended_with_what_ci_needs(built):
    out, _, summary, _ = built
    text = summary.read_text()
    assert text.startswith("earlier step's summary\n### saetax build: built\n")  # appended
    assert "| analysed |" in text and "at layers.0" in text and "features" in text
    assert "well above the random baseline" in text
    assert "| recommended | cosine-nested-raw-rho0.3-0.6-0.8-s0 (cosine ART" in text
    assert "stability" in text and "cohesion" in text and "of features in families" in text
    assert "https://github.com/someone/sae-site/actions/runs/4242#artifacts" in text
    assert f"published at <{SITE_URL}>" in text
    for name in CHECKS:
        assert f"✅ {name}" in text
    assert "exit code 0" in text


def test_site_url_reaches_the_sitemap_and_404(built):
    out, *_ = built
    site = out / "site"
    assert f"<loc>{SITE_URL}index.html</loc>" in (site / "sitemap.xml").read_text()
    page404 = (site / "404.html").read_text()
    # links from the site URL's path: right on that host however deep the missing page is
    assert 'href="/taxonomy/assets/' in page404 and 'href="/assets' not in page404
    assert 'href="sweep.html"' in (site / "index.html").read_text()  # others stay relative


@pytest.mark.slow
def test_two_builds_of_the_same_config_give_the_same_archive_bytes(built, tmp_path):
    out, _, _, cfg = built
    r = _build("-q", "-c", cfg, "-o", tmp_path / "again", "--archive", "--site-url", SITE_URL)
    assert r.exit_code == 0, r.output
    first, second = out / "site.tar.gz", tmp_path / "again" / "site.tar.gz"
    assert first.read_bytes() == second.read_bytes()
    with tarfile.open(first) as tar:
        members = tar.getmembers()
        names = [m.name for m in members]
        assert names == sorted(names)
        assert "taxonomy/site/index.html" in names
        assert "taxonomy/artifacts/manifest.json" in names
        assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, 0, "", "")}
        index = tar.extractfile("taxonomy/site/index.html").read()
    assert index == (out / "site" / "index.html").read_bytes()
    n_files = sum(1 for p in (out / "site").rglob("*") if p.is_file())
    n_files += sum(1 for p in (out / "artifacts").rglob("*") if p.is_file())
    assert sum(m.isfile() for m in members) == n_files


def test_zip_archive_is_deterministic_and_complete(built, tmp_path):
    out, *_ = built
    a = write_archive(out, "zip").read_bytes()
    b = write_archive(out, "zip").read_bytes()
    assert a == b
    with zipfile.ZipFile(out / "site.zip") as z:
        assert z.testzip() is None
        names = z.namelist()
        assert names == sorted(names) and "taxonomy/site/index.html" in names
        assert z.read("taxonomy/site/index.html") == (out / "site" / "index.html").read_bytes()


@pytest.mark.slow
def test_fail_on_random_structure_exits_4_after_writing_the_site(tmp_path, sae_root, tiny_lm):
    cfg = _config(tmp_path, sae_root, tiny_lm, hookpoint="layers.1")  # random directions
    summary = tmp_path / "summary.md"
    env = {"GITHUB_STEP_SUMMARY": str(summary)}
    r = _build("-c", cfg, "-o", tmp_path / "out", "--fail-on", "random-structure", env=env)
    assert r.exit_code == 4, r.output
    assert "saetax: error: --fail-on random-structure: median nearest-neighbour cosine" in r.output
    assert (tmp_path / "out" / "site" / "index.html").is_file()  # still there to look at
    record = json.loads((tmp_path / "out" / "build.json").read_text())
    _validate(record)
    assert (record["status"], record["exit_code"]) == ("check failed", 4)
    assert record["fail_on"] == ["random-structure"]
    assert record["structure"]["on_random_baseline"] is True
    assert "random-structure" in record["error"]
    text = summary.read_text()
    assert "### saetax build: check failed" in text
    assert "| ❌ random-structure (--fail-on) |" in text and "on the random baseline" in text
    home = (tmp_path / "out" / "site" / "index.html").read_text()
    assert "The decoder sits on the random baseline" in home

    # --no-strict reports the same problem and builds
    r = _build("--no-strict", "-c", cfg, "-o", tmp_path / "out", "--fail-on", "random-structure")
    assert r.exit_code == 0, r.output
    assert "check random-structure (--fail-on)" in r.output
    record = json.loads((tmp_path / "out" / "build.json").read_text())
    assert record["status"] == "built (checks failed, --no-strict)"
    assert any("check random-structure" in w for w in record["warnings"])
    # …and every stage came from the cache this time
    assert all(c["misses"] == 0 for c in record["stages"].values())
    assert all(v["cached"] for v in record["runs"].values())


def test_bad_config_exits_2_and_still_writes_build_json(tmp_path, sae_root, tiny_lm):
    cfg = _config(tmp_path, sae_root, tiny_lm, sweep={"rho_sets": [[0.6, 0.3]]})
    r = _build("-c", cfg, "-o", tmp_path / "out")
    assert r.exit_code == 2
    assert "strictly increasing" in r.output
    record = json.loads((tmp_path / "out" / "build.json").read_text())
    _validate(record)
    assert (record["status"], record["exit_code"]) == ("bad input", 2)
    assert "strictly increasing" in record["error"]
    assert record["site"] is None and record["recommended"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fail-on", "random"], "'random' is not one of 'random-structure'"),
        (["--site-url", "example.org/x"], "--site-url: 'example.org/x' is not a site address"),
        (["--archive", "rar"], "'rar' is not one of 'tar.gz', 'zip'"),
    ],
)
def test_bad_options_name_the_value_and_what_is_accepted(tmp_path, args, message):
    r = _build("-c", tmp_path / "none.yml", "-o", tmp_path / "out", *args)
    assert r.exit_code == 2 and message in r.output, r.output


def test_a_site_that_mkdocs_rejects_is_exit_code_3(tmp_path):
    """A real strict MkDocs build with a broken link: the error the CLI maps to code 3."""
    from generator.site.build import mkdocs_build

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n\n[gone](missing.md)\n")
    (tmp_path / "mkdocs.yml").write_text(
        f"site_name: t\ndocs_dir: {docs}\nsite_dir: {tmp_path / 'site'}\nstrict: true\n"
        "validation:\n  links:\n    not_found: warn\n"
    )
    with pytest.raises(SiteError, match="mkdocs build failed") as e:
        mkdocs_build(tmp_path / "mkdocs.yml")
    assert exit_code_of(e.value) == EXIT_SITE == 3
    assert exit_code_of(KeyboardInterrupt()) == 130 and exit_code_of(RuntimeError()) == 1


def test_default_output_is_one_line_per_step_and_quiet_is_silent(tmp_path, sae_root, tiny_lm):
    cfg = _config(tmp_path, sae_root, tiny_lm)
    r = _build("-c", cfg, "-o", tmp_path / "out")
    assert r.exit_code == 0, r.output
    assert r.stdout == f"site built: {tmp_path / 'out' / 'site' / 'index.html'}\n"
    lines = r.stderr.splitlines()
    steps = [ln for ln in lines if ln.startswith("saetax: ")]
    assert steps == lines  # nothing else: no warnings, no third-party output
    assert [ln.split()[1] for ln in steps][:3] == ["config", "decoder", "lens"]
    lens = next(ln for ln in steps if ln.split()[1] == "lens")
    assert lens.endswith(" s  computed")
    assert not any("cache hit" in ln or "cache miss" in ln for ln in lines)  # those are -v
    r = _build("-c", cfg, "-o", tmp_path / "out")  # again: every step from the cache
    lens = next(ln for ln in r.output.splitlines() if ln.startswith("saetax: lens"))
    assert lens.endswith(" s  cached")
    r = CliRunner().invoke(main, ["-q", "build", "-c", str(cfg), "-o", str(tmp_path / "out")])
    assert r.exit_code == 0 and r.output == "", r.output


@pytest.mark.slow
def test_third_party_noise_reaches_the_user_only_with_v(tmp_path, sae_root, tiny_lm):
    """A fresh process each (sparsify prints its Triton notice on import)."""
    cfg = _config(tmp_path, sae_root, tiny_lm)
    set_by_us = (
        "SPARSIFY_DISABLE_TRITON",
        "HF_HUB_DISABLE_PROGRESS_BARS",
        "TRANSFORMERS_VERBOSITY",
    )
    env = {k: v for k, v in os.environ.items() if k not in set_by_us}  # as a user's shell
    outs = {}
    for flag in ("", "-v"):
        cmd = [sys.executable, "-m", "generator", *([flag] if flag else [])]
        cmd += ["build", "-c", str(cfg), "-o", str(tmp_path / f"out{flag}")]
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
        assert p.returncode == 0, p.stderr
        outs[flag] = p.stdout + p.stderr
    assert "Triton" not in outs[""] and "Loading weights" not in outs[""]
    assert "Triton" in outs["-v"] and "Loading weights" in outs["-v"]
    assert "cache miss: lens" in outs["-v"]


def test_progress_bars_draw_on_a_terminal_only(tmp_path):
    """tqdm draws with an ETA when stderr is a terminal, never in a log or under -q."""
    import fcntl
    import pty
    import struct
    import termios

    code = (
        "import sys, time; from generator import progress; progress.configure(int(sys.argv[1]))\n"
        "with progress.bar(3, 'lens') as b:\n"
        "    drawn = not b.disable\n"
        "    for _ in range(3): time.sleep(0.2); b.update(1)\n"
        "print('drawn' if drawn else 'disabled')"
    )
    results = {}
    for verbosity in ("0", "-1"):
        for terminal in (True, False):
            if terminal:
                master, slave = pty.openpty()
                fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
                proc = subprocess.Popen(
                    [sys.executable, "-c", code, verbosity], stdout=subprocess.PIPE, stderr=slave
                )
                os.close(slave)
                drawn = b""
                while True:  # read the terminal while the child writes to it
                    try:
                        chunk = os.read(master, 1 << 16)
                    except OSError:  # EIO: the child's end is closed
                        break
                    if not chunk:
                        break
                    drawn += chunk
                os.close(master)
                p = subprocess.CompletedProcess(proc.args, proc.wait(60), proc.stdout.read())
                proc.stdout.close()
                if verbosity == "0":  # the bar, with elapsed<remaining time (the ETA)
                    assert re.search(rb"lens: .*3/3 \[\d\d:\d\d<\d\d:\d\d", drawn), drawn
                else:
                    assert drawn == b""
            else:
                p = subprocess.run(
                    [sys.executable, "-c", code, verbosity], capture_output=True, timeout=60
                )
                assert p.stderr == b""  # nothing drawn into a log
            results[(verbosity, terminal)] = p.stdout.decode().strip()
    assert results == {
        ("0", True): "drawn",
        ("0", False): "disabled",
        ("-1", True): "disabled",
        ("-1", False): "disabled",
    }


def test_a_model_build_reports_every_hookpoint_in_build_json_and_the_summary(
    tmp_path, sae_root, tiny_lm
):
    cfg = _config(tmp_path, sae_root, tiny_lm, hookpoint=None)
    data = yaml.safe_load(cfg.read_text())
    data["sae"]["hookpoints"] = ["layers.0", "layers.1"]
    cfg.write_text(yaml.safe_dump(data))
    summary = tmp_path / "summary.md"
    env = {**GITHUB, "GITHUB_STEP_SUMMARY": str(summary)}
    r = _build("-c", cfg, "-o", tmp_path / "out", "--fail-on", "no-families", env=env)
    record = json.loads((tmp_path / "out" / "build.json").read_text())
    _validate(record)
    assert [h["hookpoint"] for h in record["hookpoints"]] == ["layers.0", "layers.1"]
    assert record["recommended"] is None and record["structure"] is None
    per = [h["counts"] for h in record["hookpoints"]]
    assert record["counts"]["features"] == sum(c["features"] for c in per) == 82 + 40
    assert record["counts"]["runs"] == 2 and record["analysed"]["hookpoint"] is None
    assert set(record["runs"]) == {
        f"{h}/cosine-nested-raw-rho0.3-0.6-0.8-s0" for h in ("layers.0", "layers.1")
    }
    # layers.1 is random: the check fails there, and says so, with exit code 4
    checks = {c["name"]: c for c in record["checks"]}
    assert checks["random-structure"]["failed"]
    assert checks["random-structure"]["detail"].startswith("1 of 2 hookpoints: layers.1: ")
    assert r.exit_code == (4 if checks["no-families"]["failed"] else 0), r.output
    text = summary.read_text()
    assert "| layers.0 | " in text and "| layers.1 | " in text
    assert "**on the random baseline**" in text.split("| layers.1 | ")[1].splitlines()[0]
    assert (tmp_path / "out" / "site" / "layers.1" / "index.html").is_file()
