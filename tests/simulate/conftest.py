"""Streams shared by the simulator tests (built once per session: generation is the slow part)."""

from __future__ import annotations

import functools

import pytest

from trailkeeper.simulate.stream import SimConfig, Stream, build_stream

SMALL = SimConfig(users=200, days=14)


@functools.lru_cache(maxsize=4)
def stream_for(config: SimConfig, seed: int) -> Stream:
    """A stream, cached across tests (streams are never mutated by the tests)."""
    return build_stream(config, seed)


@pytest.fixture(scope="session")
def small_stream() -> Stream:
    """200 users over 14 days (9 scored), seed 3: every scenario and tier once."""
    return stream_for(SMALL, 3)
