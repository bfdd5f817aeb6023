"""`trailkeeper ingest FILE`: load NDJSON events through the same validation and append path.

No token: the organization of each event comes from its `context.location`. Safe while a server
runs on the same database.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import IO

import click
import orjson

from trailkeeper.catalog import load_catalog
from trailkeeper.cli.context import migrated_store, settings_from_env
from trailkeeper.directory.locations import LocationIndex
from trailkeeper.ingest import Ingestor

CHUNK_LINES = 5000


def _chunks(stream: IO[bytes]) -> Iterator[list[tuple[int, bytes]]]:
    chunk: list[tuple[int, bytes]] = []
    for number, line in enumerate(stream, 1):
        if line.strip():
            chunk.append((number, line))
        if len(chunk) >= CHUNK_LINES:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _decode(
    chunk: list[tuple[int, bytes]],
) -> tuple[list[tuple[int, object]], list[tuple[int, str]]]:
    items: list[tuple[int, object]] = []
    problems: list[tuple[int, str]] = []
    for number, line in chunk:
        try:
            items.append((number, orjson.loads(line)))
        except orjson.JSONDecodeError as exc:
            problems.append((number, f"not valid JSON ({exc.msg})"))
    return items, problems


@click.command()
@click.argument("file", type=click.File("rb"))
def ingest(file: IO[bytes]) -> None:
    """Load newline-delimited JSON events from FILE (`-` for stdin) into the configured database."""
    settings = settings_from_env()
    store = migrated_store(settings)
    ingestor = Ingestor(
        store,
        load_catalog(settings.catalog_extensions),
        LocationIndex(store),
        max_event_bytes=settings.max_event_bytes,
    )
    stored = duplicates = rejected = 0
    for chunk in _chunks(file):
        items, problems = _decode(chunk)
        report = ingestor.ingest([item for _, item in items])
        problems += [(items[r.index][0], r.reason) for r in report.rejected]
        for number, reason in sorted(problems):
            click.echo(f"line {number}: {reason}", err=True)
        stored, duplicates = stored + report.stored, duplicates + len(report.duplicates)
        rejected += len(problems)
    click.echo(f"stored {stored}, already present {duplicates}, rejected {rejected}")
    if rejected:
        sys.exit(1)
