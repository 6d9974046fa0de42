"""`saetax build`: analyse (cached), render the site, optionally archive it, run the checks,
and always report: `OUT/build.json`, and the step summary on GitHub Actions.

The order matters to CI: the site and the archive are written before a `--fail-on` check
ends the build with exit code 4, so a failing job still uploads what it found; and
build.json is written however the build ends (with the exit code and the error).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence
from pathlib import Path

from generator.errors import EXIT_OK, CheckFailed, SaetaxError, exit_code_of, filesystem_problem
from generator.progress import Recorder
from generator.report import (
    BuildOutcome,
    WarningLog,
    append_step_summary,
    build_record,
    write_build_json,
)

log = logging.getLogger("generator.build")

STATUS = {
    0: "built",
    2: "bad input",
    3: "site failed",
    4: "check failed",
    5: "cluster failed",
    130: "interrupted",
}


def build(
    config_path: Path,
    out_dir: Path,
    *,
    strict: bool = True,
    fail_on: Sequence[str] = (),
    archive: str | None = None,
    site_url: str | None = None,
) -> BuildOutcome:
    """Run a whole build and report it. Raises what ended it (after reporting); a failed
    `fail_on` check raises `CheckFailed` under `strict`, and is a warning otherwise."""
    from generator.checks import CHECKS

    unknown = [n for n in fail_on if n not in CHECKS]
    if unknown:
        raise SaetaxError(
            f"--fail-on {unknown[0]!r} is not a check; accepted: {', '.join(CHECKS)}."
        )
    out_dir = Path(out_dir)
    outcome = BuildOutcome(
        config_path=Path(config_path),
        out_dir=out_dir,
        started=dt.datetime.now(dt.timezone.utc),
        seconds=0.0,
        exit_code=EXIT_OK,
        status="built",
        recorder=Recorder(),
        fail_on=list(fail_on),
        site_url=site_url,
    )
    warnings = WarningLog()
    watched = [logging.getLogger(), logging.getLogger("generator")]  # ours may not propagate
    for logger in watched:
        logger.addHandler(warnings)
    t0 = time.perf_counter()
    try:
        _build(outcome, strict, archive)
    except BaseException as e:
        outcome.exit_code = exit_code_of(e)
        outcome.status = STATUS.get(outcome.exit_code, "failed")
        outcome.error = filesystem_problem(e) or str(e) or type(e).__name__
        raise
    finally:
        for logger in watched:
            logger.removeHandler(warnings)
        outcome.warnings = warnings.messages
        outcome.seconds = time.perf_counter() - t0
        _report(outcome)
    return outcome


def _build(o: BuildOutcome, strict: bool, archive: str | None) -> None:
    from generator.artifacts import ModelArtifacts, load_any
    from generator.checks import run_checks, run_model_checks
    from generator.config import load_config
    from generator.pipeline import analyze
    from generator.site import render_site

    rec = o.recorder
    with rec.step("config"):
        cfg = load_config(o.config_path)
    o.site_url = o.site_url or cfg.site.url
    analyze(cfg, o.out_dir, rec)
    arts = load_any(o.out_dir)
    if isinstance(arts, ModelArtifacts):
        o.model, o.checks = arts, run_model_checks(arts)
    else:
        o.artifacts, o.checks = arts, run_checks(arts)
    with rec.step("site") as st:
        o.site = render_site(o.out_dir, strict=strict, site_url=o.site_url)
        st.detail = f"{sum(1 for p in o.site.rglob('*.html')):,} pages"
    if archive:
        from generator.archive import write_archive

        with rec.step("archive") as st:
            o.archive = write_archive(o.out_dir, archive)
            st.detail = f"{o.archive.name}, {o.archive.stat().st_size / 1e6:.1f} MB"
    for c in o.checks:
        if c.failed:
            asked = " (--fail-on)" if c.name in o.fail_on else ""
            log.warning("check %s%s: %s", c.name, asked, c.detail)
    failed = [c for c in o.checks if c.failed and c.name in o.fail_on]
    if failed and strict:
        names = ", ".join(c.name for c in failed)
        raise CheckFailed(
            f"--fail-on {names}: {failed[0].detail}. The site and artifacts were written "
            f"to {o.out_dir}; see build.json."
        )
    if failed:
        o.status = "built (checks failed, --no-strict)"


def _report(o: BuildOutcome) -> None:
    """build.json and the step summary; a failure here is logged, never raised over the
    error that ended the build."""
    try:
        record = build_record(o)
        write_build_json(o.out_dir, record)
        append_step_summary(record)
    except Exception as e:  # pragma: no cover - reporting must not mask the build's outcome
        log.warning("could not write build.json: %s: %s", type(e).__name__, e)
