"""What one `saetax build` did, for machines and for CI: `OUT/build.json` (schema:
`generator/docs/build.schema.json`) and, when `GITHUB_STEP_SUMMARY` names a file, a short
Markdown summary appended to it.

build.json is written after every build, failed ones included (with the exit code and the
error), so a CI job can always upload it. It is the one place for timings and cache hits:
the artifacts and the site hold none, so the same config gives the same bytes.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator import __version__
from generator.atomic import atomic_write_text
from generator.checks import CheckResult
from generator.progress import Recorder

if TYPE_CHECKING:
    from generator.artifacts import Artifacts, Manifest, ModelArtifacts

log = logging.getLogger("generator.report")

BUILD_SCHEMA_VERSION = 1
SCHEMA_FILE = Path(__file__).parent / "docs" / "build.schema.json"


class WarningLog(logging.Handler):
    """Collects every WARNING (or worse) logged during a build, from any logger, for
    build.json; what reaches the terminal is unchanged."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.messages.append(f"{record.name}: {record.getMessage()}")
        except Exception:  # a malformed log call must not end the build  # pragma: no cover
            self.messages.append(f"{record.name}: {record.msg!r}")


@dataclass
class BuildOutcome:
    """What the command line knows when a build ends, however it ended."""

    config_path: Path
    out_dir: Path
    started: _dt.datetime
    seconds: float
    exit_code: int
    status: str  # built | check failed | failed | interrupted
    recorder: Recorder
    error: str | None = None
    fail_on: list[str] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    site: Path | None = None
    site_url: str | None = None
    archive: Path | None = None
    artifacts: Artifacts | None = None  # once the analysis has written them
    model: ModelArtifacts | None = None  # instead, for a build of several hookpoints


def cpu_name() -> str:
    """The CPU's model name and its wide-vector extensions (timings mean little without)."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
            if flags and model:
                break
    except OSError:
        pass
    ext = [name for name, flag in (("AVX2", "avx2"), ("AVX-512", "avx512f")) if flag in flags]
    ext.append("AMX" if "amx_tile" in flags else "no AMX") if flags else None
    return f"{model} ({', '.join(ext)})" if ext else model


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _recommended(arts: Artifacts) -> dict[str, Any] | None:
    rec = arts.manifest.recommended
    if rec is None:
        return None
    meta = arts.run(rec.run).meta
    lv = meta.metrics[0]
    return {
        "run": rec.run,
        "method": rec.method,
        "label": meta.label,
        "score": rec.score,
        "why": rec.why,
        "best_art": rec.best_art,
        "clusters_per_level": meta.clusters_per_level,
        "level0": {
            "clusters": lv.clusters,
            "singleton_share": lv.singleton_share,
            "cohesion": lv.cohesion,
            "cohesion_chance": lv.cohesion_chance,
            "order_ari": lv.order_ari,
            "seed_ari": lv.seed_ari,
            "subsample_ari": lv.subsample_ari,
        },
    }


def _structure(arts: Artifacts) -> dict[str, Any]:
    from generator.checks import on_random_baseline

    ds = arts.manifest.decoder_structure
    return {
        "decoder_median": ds.decoder.median,
        "random_median": ds.random.median,
        "on_random_baseline": on_random_baseline(ds),
    }


def _counts(m: Manifest) -> dict[str, int]:
    s = m.selection
    return {
        "features": s.n_features,
        "junk": s.n_junk,
        "selected": s.n_selected,
        "runs": len(m.runs),
    }


def _hookpoint(model: ModelArtifacts, hookpoint: str) -> dict[str, Any]:
    arts = model.hookpoint(hookpoint)
    return {
        "hookpoint": hookpoint,
        "counts": _counts(arts.manifest),
        "structure": _structure(arts),
        "recommended": _recommended(arts),
    }


def build_record(o: BuildOutcome) -> dict[str, Any]:
    """build.json's content (see generator/docs/build.schema.json). A model build's
    top-level counts add up its hookpoints; `hookpoints` has each one's numbers."""
    from generator.assemble import package_versions

    arts, model = o.artifacts, o.model
    m = arts.manifest if arts is not None else None
    hookpoints = [_hookpoint(model, h) for h in model.hookpoints] if model else None
    per = [_counts(m)] if m else [h["counts"] for h in hookpoints or []]
    site_files = [p for p in o.site.rglob("*") if p.is_file()] if o.site else []
    head = m or (model.meta if model else None)  # manifest.json or model.json: both say these
    analysed = None
    if head is not None:
        analysed = {
            "sae": head.sae_source,
            "hookpoint": m.sae.hookpoint if m else None,
            "lens": m.lens.model if m else head.config["lens"]["model"],
        }
    return {
        "build_schema": BUILD_SCHEMA_VERSION,
        "status": o.status,
        "exit_code": o.exit_code,
        "error": o.error,
        "started": o.started.isoformat(timespec="seconds"),
        "seconds": round(o.seconds, 3),
        "config": {"path": str(o.config_path), "sha256": _sha256(o.config_path)},
        "out": str(o.out_dir.resolve()),
        "versions": {
            "saetax": __version__,
            "python": platform.python_version(),
            "packages": head.generator.packages if head else package_versions(),
        },
        "machine": {"cpu": cpu_name(), "platform": platform.platform(), "cores": os.cpu_count()},
        "steps": [s.to_dict() for s in o.recorder.steps],
        "stages": {k: v.to_dict() for k, v in sorted(o.recorder.stages.items())},
        "runs": o.recorder.runs,
        "counts": {
            **{
                k: sum(c[k] for c in per) if per else None
                for k in ("features", "junk", "selected", "runs")
            },
            "evolutions": len(m.evolutions) if m else 0 if model else None,
            "site_pages": sum(p.suffix == ".html" for p in site_files) if o.site else None,
            "site_bytes": sum(p.stat().st_size for p in site_files) if o.site else None,
        },
        "analysed": analysed,
        "structure": _structure(arts) if arts is not None else None,
        "recommended": _recommended(arts) if arts is not None else None,
        "hookpoints": hookpoints,
        "fail_on": o.fail_on,
        "checks": [c.to_dict() for c in o.checks],
        "warnings": o.warnings,
        "site": None if o.site is None else {"path": str(o.site), "url": o.site_url},
        "archive": None
        if o.archive is None
        else {
            "path": str(o.archive),
            "bytes": o.archive.stat().st_size,
            "sha256": _sha256(o.archive),
        },
    }


def write_build_json(out_dir: Path, record: dict[str, Any]) -> Path:
    """OUT/build.json, replaced atomically."""
    path = Path(out_dir) / "build.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(record, indent=2, allow_nan=False) + "\n")
    return path


def _md(s: Any) -> str:
    """Text from the config or the data, inert in GitHub's Markdown: HTML escaped and every
    Markdown mark (table pipes, emphasis, links, code) backslash-escaped."""
    import html
    import re

    return re.sub(r"([\\`*_{}\[\]()#+!|~])", r"\\\1", html.escape(str(s), quote=False))


def _n(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _f(v: float | None, fmt: str = "{:.2f}") -> str:
    return "–" if v is None else fmt.format(v)


def step_summary(record: dict[str, Any]) -> str:
    """The GitHub step summary: what was analysed, structure against random, the
    recommended run and its key numbers, the checks, and where the site is."""
    ok = record["exit_code"] == 0
    lines = [f"### saetax build: {'built' if ok else _md(record['status'])}", ""]
    if record["error"]:
        lines += [f"**Error** (exit code {record['exit_code']}): {_md(record['error'])}", ""]
    a, c = record["analysed"], record["counts"]
    lines += ["| | |", "|---|---|"]
    if a:
        hook = f" at {_md(a['hookpoint'])}" if a["hookpoint"] else ""
        lines.append(
            f"| analysed | {_md(a['sae'])}{hook}: {c['features']:,} features, "
            f"{c['selected']:,} clustered ({c['junk']:,} junk); lens {_md(a['lens'])} |"
        )
    s = record["structure"]
    if s:
        verdict = (
            "**on the random baseline**: nothing to cluster"
            if s["on_random_baseline"]
            else "well above the random baseline"
        )
        lines.append(
            f"| structure | nearest-neighbour cosine {s['decoder_median']:.3f} against "
            f"{s['random_median']:.3f} for random directions: {verdict} |"
        )
    for h in record.get("hookpoints") or []:
        lines.append(_hookpoint_row(h))
    r = record["recommended"]
    if r:
        lv = r["level0"]
        lines.append(
            f"| recommended | {_md(r['run'])} ({_md(r['label'])}), score {r['score']:.3f}; "
            f"clusters per level {_per_level(r)}; level 0: "
            f"stability {_f(_weakest(lv))}, cohesion {_f(lv['cohesion'])} "
            f"(chance {_f(lv['cohesion_chance'])}), {1 - lv['singleton_share']:.0%} of features "
            "in families |"
        )
        if r["method"] != "art" and r["best_art"]:
            lines.append(f"| best ART run | {_md(r['best_art'])} |")
    if c["runs"] is not None:
        cached = sum(1 for v in record["runs"].values() if v["cached"])
        lines.append(f"| runs | {_n(c['runs'], 'run')}, {cached:,} of them from the cache |")
    for ch in record["checks"]:
        mark = "❌" if ch["failed"] else "✅"
        asked = " (--fail-on)" if ch["name"] in record["fail_on"] else ""
        lines.append(f"| {mark} {ch['name']}{asked} | {_md(ch['detail'])} |")
    site = record["site"]
    if site:
        where = []
        run_url = _run_url()
        if run_url:
            where.append(f"[download it from this run's artifacts]({run_url}#artifacts)")
        if site["url"]:
            where.append(f"published at <{site['url']}>")
        where = where or [_md(site["path"])]
        lines.append(f"| site | {_n(c['site_pages'], 'page')}; {', '.join(where)} |")
    if record["warnings"]:
        lines.append(f"| warnings | {_n(len(record['warnings']), 'warning')} (see build.json) |")
    lines.append(f"| build | {record['seconds']:.0f} s, exit code {record['exit_code']} |")
    return "\n".join(lines) + "\n"


def _weakest(lv: dict[str, Any]) -> float | None:
    """A recommended run's level-0 stability, from build.json's numbers (as
    `LevelMetrics.weakest_ari` gives it)."""
    aris = [lv[k] for k in ("order_ari", "seed_ari", "subsample_ari") if lv[k] is not None]
    return min(aris) if aris else None


def _per_level(r: dict[str, Any]) -> str:
    return ", ".join(f"{k:,}" for k in r["clusters_per_level"])


def _hookpoint_row(h: dict[str, Any]) -> str:
    """A model build's hookpoint in the step summary: structure, then the recommended run."""
    s, r, c = h["structure"], h["recommended"], h["counts"]
    verdict = "**on the random baseline**" if s["on_random_baseline"] else "above random"
    text = (
        f"{c['selected']:,} of {c['features']:,} features; NN cosine {s['decoder_median']:.3f} "
        f"(random {s['random_median']:.3f}, {verdict})"
    )
    if r:
        text += (
            f"; recommended {_md(r['run'])} ({_md(r['method'])}), clusters per level "
            f"{_per_level(r)}, stability {_f(_weakest(r['level0']))}"
        )
    return f"| {_md(h['hookpoint'])} | {text} |"


def _run_url() -> str | None:
    env = os.environ
    if all(env.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")):
        return f"{env['GITHUB_SERVER_URL']}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
    return None


def append_step_summary(record: dict[str, Any]) -> Path | None:
    """Append the summary to $GITHUB_STEP_SUMMARY when it is set (GitHub Actions)."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    try:
        with open(target, "a", encoding="utf-8") as f:
            f.write(step_summary(record))
    except OSError as e:
        log.warning("could not write the step summary to %s: %s", target, e)
        return None
    return Path(target)
