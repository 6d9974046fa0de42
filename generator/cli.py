"""`saetax`: the command line. Each command parses its options and calls one library function.

Heavy libraries (torch, transformers, sklearn) are imported inside the commands, so
`saetax --help` starts fast.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from generator import __version__
from generator.archive import FORMATS as ARCHIVE_FORMATS
from generator.checks import CHECKS
from generator.errors import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    SaetaxError,
    exit_code_of,
    filesystem_problem,
)
from generator.quick_exit import freeze_at_exit

log = logging.getLogger("generator")

CONFIG_OPT = click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("site_config.yml"),
    show_default=True,
    help="The site config (YAML).",
)
OUT_OPT = click.option(
    "-o",
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("out"),
    show_default=True,
    help="Output folder: artifacts/, site/ and cache/ go here.",
)


class _Stderr(logging.Handler):
    """Writes to whatever sys.stderr is at the time (a test runner may swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:  # pragma: no cover
            self.handleError(record)


def _own_handler(logger: logging.Logger, fmt: str) -> None:
    """One _Stderr handler on `logger` (replacing an earlier one), not passed to the root."""
    for h in [h for h in logger.handlers if isinstance(h, _Stderr)]:
        logger.removeHandler(h)
    handler = _Stderr()
    handler.setFormatter(logging.Formatter(fmt))
    logger.addHandler(handler)
    logger.propagate = False


def _setup_logging(verbosity: int) -> None:
    """-q: warnings and errors only; default: one line per build step; -v: our INFO log and
    third-party output; -vv: DEBUG."""
    from generator import progress

    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(  # other libraries' warnings
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    ours = logging.getLogger("generator")
    ours.setLevel(level)
    _own_handler(ours, "saetax: %(levelname)s: %(message)s" if verbosity < 1 else
                 "%(levelname)s %(name)s: %(message)s")  # fmt: skip
    _own_handler(logging.getLogger("generator.progress"), "saetax: %(message)s")
    progress.configure(verbosity)
    quiet_level = logging.ERROR if verbosity <= 0 else logging.NOTSET
    for noisy in (
        "transformers",
        "huggingface_hub",
        "sparsify",
        "numba",
        "urllib3",
        "distributed",
        "tornado",
    ):
        logging.getLogger(noisy).setLevel(quiet_level)  # third-party chatter unless -v


class _Group(click.Group):
    """Turns errors into one line and the documented exit code (docs/publishing.md): 2 for
    bad input, 3 when the site cannot be built, 4 for a failed --fail-on check, 5 when the
    Dask cluster failed, 1 for a bug, 130 for Ctrl-C."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SaetaxError as e:
            click.echo(f"saetax: error: {e}", err=True)
            ctx.exit(exit_code_of(e))
        except KeyboardInterrupt:
            click.echo(
                "saetax: interrupted; finished stages are cached, run the same command to resume.",
                err=True,
            )
            ctx.exit(EXIT_INTERRUPTED)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as e:
            problem = filesystem_problem(e)  # a read-only or full OUT: the user's to fix
            if problem:
                click.echo(f"saetax: error: {problem}", err=True)
                ctx.exit(exit_code_of(e))
            if ctx.obj and ctx.obj.get("verbosity", 0) >= 1:
                raise
            click.echo(
                f"saetax: internal error: {type(e).__name__}: {e} (run with -v for the traceback)",
                err=True,
            )
            ctx.exit(EXIT_INTERNAL)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="saetax")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug and tracebacks).")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors: no progress.")
@click.pass_context
def main(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """Cluster SAE decoder directions with ART and publish the taxonomy as an offline site.

    Exit codes: 0 built; 2 bad config or input; 3 the site could not be built; 4 a
    --fail-on check failed (the site was still written); 5 the Dask cluster failed; 1 a
    bug; 130 interrupted.
    """
    verbosity = -1 if quiet else verbose
    ctx.obj = {"verbosity": verbosity}
    _setup_logging(verbosity)
    freeze_at_exit()


def _verbosity(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """-q and -v also work after the subcommand (`saetax build -q`)."""
    if not value:
        return
    root = ctx.find_root()
    verbosity = -1 if param.name == "quiet" else value
    root.obj = {**(root.obj or {}), "verbosity": verbosity}
    _setup_logging(verbosity)


def verbosity_options(f: Callable) -> Callable:
    f = click.option(
        "-q", "--quiet", is_flag=True, expose_value=False, callback=_verbosity,
        help="Only warnings and errors: no progress.",
    )(f)  # fmt: skip
    return click.option(
        "-v", "--verbose", count=True, expose_value=False, callback=_verbosity,
        help="More log output (-vv for debug and tracebacks).",
    )(f)  # fmt: skip


def _say(ctx: click.Context, message: str) -> None:
    if ctx.find_root().obj.get("verbosity", 0) >= 0:
        click.echo(message)


STRICT_OPT = click.option(
    "--strict/--no-strict",
    default=True,
    show_default=True,
    help="Fail on MkDocs warnings (exit 3) and on the --fail-on checks (exit 4); "
    "--no-strict reports both as warnings.",
)

SITE_URL_OPT = click.option(
    "--site-url",
    default=None,
    help="Where the site will be served, e.g. https://you.github.io/repo/ (else the config's "
    "site.url); links stay relative, so it also works from disk and any sub-path.",
)


@main.command()
@verbosity_options
@CONFIG_OPT
@OUT_OPT
@STRICT_OPT
@click.option(
    "--fail-on",
    "fail_on",
    multiple=True,
    type=click.Choice(list(CHECKS)),
    help="Exit with code 4 when this check flags a problem (repeatable): "
    + "; ".join(f"{c.name}: {c.summary}" for c in CHECKS.values())
    + ".",
)
@click.option(
    "--archive",
    type=click.Choice(list(ARCHIVE_FORMATS)),
    is_flag=False,
    flag_value="tar.gz",
    default=None,
    help="Also write OUT/site.tar.gz (or --archive zip: OUT/site.zip) with the site and the "
    "artifacts; the same inputs give the same bytes.",
)
@SITE_URL_OPT
@click.pass_context
def build(
    ctx: click.Context,
    config_path: Path,
    out_dir: Path,
    strict: bool,
    fail_on: tuple[str, ...],
    archive: str | None,
    site_url: str | None,
) -> None:
    """Analyze (cached) + render + mkdocs build: OUT/artifacts, OUT/site and OUT/build.json
    (timings, cache hits, the recommended run, the checks); a step summary on GitHub
    Actions."""
    from generator.build import build as run_build
    from generator.config import check_site_url

    check_site_url(site_url, "--site-url")
    outcome = run_build(
        config_path, out_dir, strict=strict, fail_on=fail_on, archive=archive, site_url=site_url
    )
    _say(ctx, f"site built: {outcome.site / 'index.html'}")
    if outcome.archive:
        _say(ctx, f"archive: {outcome.archive}")


@main.command()
@verbosity_options
@CONFIG_OPT
@OUT_OPT
@click.pass_context
def analyze(ctx: click.Context, config_path: Path, out_dir: Path) -> None:
    """Compute the artifacts only (every stage cached under OUT/cache)."""
    from generator.config import load_config
    from generator.pipeline import analyze as run_analyze

    artifacts = run_analyze(load_config(config_path), out_dir)
    _say(ctx, f"artifacts written: {artifacts}")


@main.command()
@verbosity_options
@OUT_OPT
@STRICT_OPT
@SITE_URL_OPT
@click.pass_context
def render(ctx: click.Context, out_dir: Path, strict: bool, site_url: str | None) -> None:
    """Build the site from OUT/artifacts alone (no recompute, no torch)."""
    from generator.config import check_site_url
    from generator.progress import Recorder
    from generator.site import render_site

    check_site_url(site_url, "--site-url")
    with Recorder().step("site") as st:
        site = render_site(out_dir, strict=strict, site_url=site_url)
        st.detail = f"{sum(1 for p in site.rglob('*.html')):,} pages"
    _say(ctx, f"site built: {site / 'index.html'}")


@main.command()
@OUT_OPT
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port on 127.0.0.1.",
)
@click.option(
    "--base",
    default="/",
    show_default=True,
    help="URL path to serve the site under, e.g. /my-repo/ as GitHub Pages does for a "
    "project site; missing pages get the site's 404.html.",
)
def serve(out_dir: Path, port: int, base: str) -> None:
    """Serve OUT/site on 127.0.0.1 (Ctrl-C stops)."""
    from generator.site.serve import serve_site

    serve_site(
        out_dir / "site",
        port,
        on_ready=lambda url: click.echo(f"serving {out_dir / 'site'} at {url} (Ctrl-C stops)"),
        base=base,
    )


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def modules(as_json: bool) -> None:
    """List the ART modules a sweep can use, with their parameters and defaults, and the
    clustering methods."""
    from generator.art.registry import describe_modules, list_modules
    from generator.methods import METHODS

    infos = list_modules()
    if as_json:
        import json

        click.echo(json.dumps([i.to_dict() for i in infos], indent=2))
    else:
        click.echo(describe_modules(infos))
        click.echo("\nClustering methods (sweep.methods):")
        for name, method in METHODS.items():
            click.echo(f"  {name:<11} {method.summary}")


if __name__ == "__main__":  # pragma: no cover
    main()
