"""Monthly partitions of the event table: names and bounds, as pure functions of a timestamp."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True, order=True)
class MonthPartition:
    """The partition holding every `date_create` in [start, end) (UTC calendar month)."""

    start: int
    end: int
    name: str


def month_partition(timestamp: int) -> MonthPartition:
    """The month partition that holds a Unix timestamp."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    first = datetime(moment.year, moment.month, 1, tzinfo=UTC)
    following = datetime(moment.year + moment.month // 12, moment.month % 12 + 1, 1, tzinfo=UTC)
    return MonthPartition(
        int(first.timestamp()),
        int(following.timestamp()),
        f"events_p{moment.year:04d}{moment.month:02d}",
    )


def months_ahead(now: int, count: int) -> list[MonthPartition]:
    """The partition of `now` and the `count` months after it."""
    parts = [month_partition(now)]
    for _ in range(count):
        parts.append(month_partition(parts[-1].end))
    return parts


def partition_bounds(bound: str) -> tuple[int, int]:
    """[start, end) from PostgreSQL's `FOR VALUES FROM ('a') TO ('b')` text."""
    lower, upper = bound.split("FROM", 1)[1].split("TO", 1)
    return int(lower.strip(" ()'")), int(upper.strip(" ()'"))
