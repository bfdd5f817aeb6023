"""The command line: `trailkeeper serve|demo|migrate|org|workspace|token|ingest|settings|bench`.

Every command has `--help`; errors go to stderr with a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from trailkeeper.cli.directory import org, token, workspace
from trailkeeper.cli.ingest import ingest
from trailkeeper.cli.ops import copy, retention
from trailkeeper.cli.serve import demo, migrate, serve
from trailkeeper.cli.settings import settings
from trailkeeper.errors import ConfigError, TrailkeeperError


class _Main(click.Group):
    """Turns domain errors into one clear line on stderr."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except TrailkeeperError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="trailkeeper")
def cli() -> None:
    """Trailkeeper: a self-hosted, Slack-compatible audit log service."""


for command in (serve, demo, migrate, org, workspace, token, ingest, settings, copy, retention):
    cli.add_command(command)


def main() -> None:
    """Console entry point."""
    cli(prog_name="trailkeeper")
