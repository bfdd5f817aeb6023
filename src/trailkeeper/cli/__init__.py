"""The command line: `trailkeeper serve|demo|migrate|org|workspace|token|user|app|ingest|…`.

Every command has `--help`; errors go to stderr with a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from trailkeeper.cli.accounts import app, user
from trailkeeper.cli.bench import bench
from trailkeeper.cli.detect import anomaly
from trailkeeper.cli.directory import org, token, workspace
from trailkeeper.cli.ingest import ingest
from trailkeeper.cli.integrity import checkpoint, export, keys, monitor, verify
from trailkeeper.cli.logging_cmd import logging_group
from trailkeeper.cli.ops import copy, retention
from trailkeeper.cli.serve import demo, migrate, serve
from trailkeeper.cli.settings import settings
from trailkeeper.cli.simulate import evaluate_command, simulate
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


HELP = {"help_option_names": ["-h", "--help"]}


def _with_short_help(command: click.Command) -> click.Command:
    """`-h` on every command, even one invoked on its own (click caches its help option)."""
    command.context_settings = {**HELP, **command.context_settings}
    for sub in getattr(command, "commands", {}).values():
        _with_short_help(sub)
    return command


@click.group(cls=_Main, context_settings=HELP)
@click.version_option(package_name="trailkeeper")
def cli() -> None:
    """Trailkeeper: a self-hosted, Slack-compatible audit log service."""


for command in (
    serve,
    demo,
    migrate,
    org,
    workspace,
    token,
    user,
    app,
    ingest,
    settings,
    copy,
    retention,
    logging_group,
    bench,
    keys,
    checkpoint,
    verify,
    export,
    monitor,
    anomaly,
    simulate,
    evaluate_command,
):
    cli.add_command(_with_short_help(command))


def main() -> None:
    """Console entry point."""
    cli(prog_name="trailkeeper")
