"""Group commit: concurrent appends share one transaction and one fsync.

Each caller queues its batch, then takes the commit lock; whoever holds it commits every batch
queued so far, so N concurrent requests cost one commit instead of N.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Generic, TypeVar

Batch = TypeVar("Batch")
Result = TypeVar("Result")


class _Ticket(Generic[Batch, Result]):
    __slots__ = ("batch", "done", "error", "result")

    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        self.done = False
        self.result: Result | None = None
        self.error: BaseException | None = None


class GroupCommitter(Generic[Batch, Result]):
    """Runs `commit(batches) -> results` for groups of concurrently submitted batches."""

    def __init__(self, commit: Callable[[Sequence[Batch]], list[Result]]) -> None:
        self._commit = commit
        self._commit_lock = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queue: list[_Ticket[Batch, Result]] = []

    def submit(self, batch: Batch) -> Result:
        """Commit `batch` (with whatever else is waiting) and return its result."""
        ticket: _Ticket[Batch, Result] = _Ticket(batch)
        with self._queue_lock:
            self._queue.append(ticket)
        with self._commit_lock:
            if not ticket.done:
                self._commit_queued()
        if ticket.error is not None:
            raise ticket.error
        return ticket.result  # type: ignore[return-value]

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold off group commits (for another writer sharing the same connection)."""
        with self._commit_lock:
            yield

    def _commit_queued(self) -> None:
        with self._queue_lock:
            group, self._queue = self._queue, []
        try:
            results = self._commit([t.batch for t in group])
        except BaseException:
            # One bad batch must not fail its neighbours: retry each alone.
            results = None
        if results is not None:
            for ticket, result in zip(group, results, strict=True):
                ticket.result, ticket.done = result, True
            return
        for ticket in group:
            try:
                ticket.result = self._commit([ticket.batch])[0]
            except BaseException as exc:
                ticket.error = exc
            ticket.done = True
