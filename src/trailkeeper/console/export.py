"""Exports of a filter: the matching events, newest first, as JSON lines (the exact stored bytes,
as `/audit/v1/logs` serves them) or CSV (one column per field people filter on). No I/O: the
caller hands in the search, page by page.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from trailkeeper.catalog import Catalog
from trailkeeper.console.search import SearchPage
from trailkeeper.console.views import decode, summarize, text_of
from trailkeeper.events import StoredRow
from trailkeeper.query import Position

BATCH = 1000
MAX_EXPORT_EVENTS = 1_000_000
CSV_COLUMNS = (
    "id",
    "date_create",
    "time_utc",
    "action",
    "actor_id",
    "actor_name",
    "actor_email",
    "entity_type",
    "entity_id",
    "entity_name",
    "location_type",
    "location_id",
    "location_name",
    "ip_address",
    "user_agent",
    "session_id",
    "details",
)
# OWASP "CSV injection": a cell starting with one of these runs as a formula in a spreadsheet.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Search = Callable[[Position | None, int], SearchPage]


def export_rows(
    search: Search, *, batch: int = BATCH, max_events: int = MAX_EXPORT_EVENTS
) -> Iterator[StoredRow]:
    """Every row the search matches, newest first, one page in memory at a time; a bounded
    search that stops at its window is continued from where it stopped."""
    below: Position | None = None
    sent = 0
    while sent < max_events:
        page = search(below, batch)
        yield from page.rows[: max_events - sent]
        sent += min(len(page.rows), max_events - sent)
        if len(page.rows) >= batch:
            below = Position(page.rows[-1].date_create, page.rows[-1].seq)
        elif page.searched_to is not None:
            below = page.searched_to
        else:
            return


def jsonl_line(row: StoredRow, catalog: Catalog) -> bytes:
    """The stored bytes of the event, one line (canonical JSON holds no raw newline)."""
    return row.body + b"\n"


def safe_cell(value: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula."""
    return "'" + value if value.startswith(FORMULA_START) else value


def _csv(cells: list[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([safe_cell(c) for c in cells])
    return out.getvalue().encode("utf-8")


def csv_header() -> bytes:
    """The header line."""
    return _csv(list(CSV_COLUMNS))


def csv_line(row: StoredRow, catalog: Catalog) -> bytes:
    """One event as a CSV record (RFC 4180, CRLF)."""
    e = summarize(row, catalog)
    details = decode(row.body).get("details")
    limit = 1 << 20  # whole values: an export is not a table cell
    return _csv(
        [
            e.id,
            str(row.date_create),
            e.when,
            e.action,
            e.actor.id,
            e.actor.label,
            e.actor.email,
            e.entity.type,
            e.entity.id,
            e.entity.label,
            e.location_type,
            e.location_id,
            e.location_name,
            e.ip,
            e.ua,
            e.session_id,
            "" if details is None else text_of(details, limit),
        ]
    )


@dataclass(frozen=True)
class ExportFormat:
    """How one export format is written and recorded."""

    name: str
    media_type: str
    extension: str
    action: str  # the audit event recorded when an export in this format starts
    header: bytes
    line: Callable[[StoredRow, Catalog], bytes]


FORMATS = {
    "jsonl": ExportFormat(
        "jsonl", "application/x-ndjson", "jsonl", "audit_logs_export_json_started", b"", jsonl_line
    ),
    "csv": ExportFormat(
        "csv", "text/csv; charset=utf-8", "csv", "audit_logs_export_csv_started", csv_header(),
        csv_line,
    ),
}  # fmt: skip


def export_bytes(fmt: ExportFormat, rows: Iterator[StoredRow], catalog: Catalog) -> Iterator[bytes]:
    """The file, in chunks of up to BATCH events."""
    chunk = [fmt.header]
    for count, row in enumerate(rows, start=1):
        chunk.append(fmt.line(row, catalog))
        if count % BATCH == 0:
            yield b"".join(chunk)
            chunk = []
    yield b"".join(chunk)
