"""`trailkeeper settings`: every setting, its environment variable, default, current value, help."""

from __future__ import annotations

import click

from trailkeeper.cli.context import settings_from_env
from trailkeeper.config import describe_settings


@click.command()
def settings() -> None:
    """Print every setting with its environment variable, default, current value and help."""
    current = settings_from_env()
    for name, env, default, help_text in describe_settings():
        click.echo(
            f"{env}\n    default: {default}\n    current: {getattr(current, name)!r}\n"
            f"    {help_text}"
        )
