"""Group commit: concurrent submitters share commits, get their own results, fail alone.

Submitters are real threads. The commit function is a small recorder that can be held at a gate
(a `threading.Event`), so later submitters queue up while the first commit is in progress.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pytest

from trailkeeper.storage.groupcommit import GroupCommitter

WAIT_S = 10  # a bound on waiting for threads, never a speed assertion


class BatchFailed(RuntimeError):
    pass


@dataclass
class CommitLog:
    """A commit function that records every call and can hold the first one at a gate."""

    gate: threading.Event = field(default_factory=threading.Event)
    entered: threading.Event = field(default_factory=threading.Event)
    calls: list[list[str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, batches: Sequence[str]) -> list[str]:
        with self.lock:
            self.calls.append(list(batches))
            first = len(self.calls) == 1
        if first:
            self.entered.set()
            assert self.gate.wait(WAIT_S), "the gate was never opened"
        if any(batch.startswith("bad") for batch in batches):
            raise BatchFailed(f"cannot commit {batches}")
        return [f"committed {batch}" for batch in batches]


class Submission:
    """One `submit` call running in its own thread, with what it returned or raised."""

    def __init__(self, committer: GroupCommitter[str, str], batch: str) -> None:
        self.result: list[str] = []
        self.error: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, args=(committer, batch), name=batch)
        self.thread.start()

    def _run(self, committer: GroupCommitter[str, str], batch: str) -> None:
        try:
            self.result.append(committer.submit(batch))
        except BaseException as exc:
            self.error.append(exc)


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.001)


def queued(committer: GroupCommitter[str, str]) -> int:
    # The queue is the only sign that a submitter is waiting behind the running commit.
    return len(committer._queue)


def run_behind_a_held_commit(batches: list[str]) -> tuple[CommitLog, list[Submission]]:
    """Submit batches[0], hold its commit, queue the rest behind it, then let them all run."""
    log = CommitLog()
    committer: GroupCommitter[str, str] = GroupCommitter(log)
    first = Submission(committer, batches[0])
    assert log.entered.wait(WAIT_S)
    rest = [Submission(committer, batch) for batch in batches[1:]]
    wait_until(lambda: queued(committer) == len(rest))
    log.gate.set()
    submissions = [first, *rest]
    for submission in submissions:
        submission.thread.join(WAIT_S)
        assert not submission.thread.is_alive()
    return log, submissions


def test_a_lone_submitter_commits_its_batch_and_gets_its_result() -> None:
    log = CommitLog()
    log.gate.set()
    committer: GroupCommitter[str, str] = GroupCommitter(log)
    assert committer.submit("a") == "committed a"
    assert log.calls == [["a"]]


def test_sequential_submitters_commit_one_at_a_time() -> None:
    log = CommitLog()
    log.gate.set()
    committer: GroupCommitter[str, str] = GroupCommitter(log)
    assert [committer.submit(b) for b in "abc"] == ["committed a", "committed b", "committed c"]
    assert log.calls == [["a"], ["b"], ["c"]]


def test_submitters_arriving_together_share_one_commit() -> None:
    batches = [f"b{i}" for i in range(8)]
    log, _ = run_behind_a_held_commit(batches)
    assert len(log.calls) < len(batches)
    assert log.calls[0] == ["b0"]
    assert sorted(log.calls[1]) == sorted(batches[1:])
    assert len(log.calls) == 2


def test_concurrent_submitters_each_get_their_own_result() -> None:
    batches = [f"b{i}" for i in range(8)]
    _, submissions = run_behind_a_held_commit(batches)
    for batch, submission in zip(batches, submissions, strict=True):
        assert submission.error == []
        assert submission.result == [f"committed {batch}"]


def test_many_free_running_submitters_get_their_own_results() -> None:
    log = CommitLog()
    log.gate.set()
    committer: GroupCommitter[str, str] = GroupCommitter(log)
    submissions = [Submission(committer, f"b{i}") for i in range(40)]
    for submission in submissions:
        submission.thread.join(WAIT_S)
    assert [s.result for s in submissions] == [[f"committed b{i}"] for i in range(40)]
    committed = sorted(batch for call in log.calls for batch in call)
    assert committed == sorted(f"b{i}" for i in range(40))


def test_a_failing_batch_fails_only_its_own_submitter() -> None:
    batches = ["b0", "b1", "bad", "b3"]
    _, submissions = run_behind_a_held_commit(batches)
    by_batch = dict(zip(batches, submissions, strict=True))
    for batch in ("b0", "b1", "b3"):
        assert by_batch[batch].error == []
        assert by_batch[batch].result == [f"committed {batch}"]
    assert by_batch["bad"].result == []
    assert len(by_batch["bad"].error) == 1
    assert isinstance(by_batch["bad"].error[0], BatchFailed)


def test_a_failed_group_is_retried_batch_by_batch() -> None:
    log, _ = run_behind_a_held_commit(["b0", "b1", "bad", "b3"])
    grouped = log.calls[1]
    assert sorted(grouped) == ["b1", "b3", "bad"]
    assert sorted(log.calls[2:]) == [["b1"], ["b3"], ["bad"]]


def test_a_failing_lone_batch_raises_its_error_to_the_caller() -> None:
    log = CommitLog()
    log.gate.set()
    committer: GroupCommitter[str, str] = GroupCommitter(log)
    with pytest.raises(BatchFailed):
        committer.submit("bad")
    assert committer.submit("good") == "committed good"
