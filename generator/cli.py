"""`saetax`: the command line. Each command parses its options and calls one library function.

Heavy libraries (torch, transformers, sklearn) are imported inside the commands, so
`saetax --help` starts fast.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from generator import __version__
from generator.errors import SaetaxError

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


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    logging.getLogger("generator").setLevel(logging.INFO if verbose == 0 else level)
    if verbose == 0:  # third-party chatter stays quiet unless asked for
        for noisy in ("transformers", "huggingface_hub", "sparsify", "mkdocs", "numba", "urllib3"):
            logging.getLogger(noisy).setLevel(logging.ERROR)


class _Group(click.Group):
    """Turns input errors into one line and exit code 2; bugs into one line and exit code 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SaetaxError as e:
            click.echo(f"saetax: error: {e}", err=True)
            ctx.exit(2)
        except KeyboardInterrupt:
            click.echo(
                "saetax: interrupted; finished stages are cached, run the same command to resume.",
                err=True,
            )
            ctx.exit(130)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as e:
            if ctx.obj and ctx.obj.get("verbose"):
                raise
            click.echo(
                f"saetax: internal error: {type(e).__name__}: {e} (run with -v for the traceback)",
                err=True,
            )
            ctx.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="saetax")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug and tracebacks).")
@click.pass_context
def main(ctx: click.Context, verbose: int) -> None:
    """Cluster SAE decoder directions with ART and publish the taxonomy as an offline site."""
    ctx.obj = {"verbose": verbose}
    _setup_logging(verbose)


@main.command()
@CONFIG_OPT
@OUT_OPT
@click.option(
    "--strict/--no-strict",
    default=True,
    show_default=True,
    help="Fail the site build on MkDocs warnings.",
)
def build(config_path: Path, out_dir: Path, strict: bool) -> None:
    """Analyze (cached) + render + mkdocs build: OUT/artifacts and OUT/site."""
    from generator.config import load_config
    from generator.pipeline import analyze as run_analyze
    from generator.site import render_site

    cfg = load_config(config_path)
    run_analyze(cfg, out_dir)
    site = render_site(out_dir, strict=strict)
    click.echo(f"site built: {site / 'index.html'}")


@main.command()
@CONFIG_OPT
@OUT_OPT
def analyze(config_path: Path, out_dir: Path) -> None:
    """Compute the artifacts only (every stage cached under OUT/cache)."""
    from generator.config import load_config
    from generator.pipeline import analyze as run_analyze

    artifacts = run_analyze(load_config(config_path), out_dir)
    click.echo(f"artifacts written: {artifacts}")


@main.command()
@OUT_OPT
@click.option(
    "--strict/--no-strict",
    default=True,
    show_default=True,
    help="Fail the site build on MkDocs warnings.",
)
def render(out_dir: Path, strict: bool) -> None:
    """Build the site from OUT/artifacts alone (no recompute, no torch)."""
    from generator.site import render_site

    site = render_site(out_dir, strict=strict)
    click.echo(f"site built: {site / 'index.html'}")


@main.command()
@OUT_OPT
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port on 127.0.0.1.",
)
def serve(out_dir: Path, port: int) -> None:
    """Serve OUT/site on 127.0.0.1 (Ctrl-C stops)."""
    from generator.site.serve import serve_site

    serve_site(
        out_dir / "site",
        port,
        on_ready=lambda url: click.echo(f"serving {out_dir / 'site'} at {url} (Ctrl-C stops)"),
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
