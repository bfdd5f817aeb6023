"""Cutting a stream into replay windows and turning signals into what the store keeps."""

from __future__ import annotations

import pytest

from trailkeeper.detect.signals import SignalRejected
from trailkeeper.simulate.evaluate import check_signal
from trailkeeper.simulate.replay import signal_body, windows
from trailkeeper.simulate.stream import Stream


def test_windows_cover_every_item_once_in_order(small_stream: Stream) -> None:
    seen_events, seen_signals, last = 0, 0, small_stream.start
    for events, signals in windows(small_stream, 900):
        assert events or signals
        stamps = [e["date_create"] for e in events] + [s["date"] for s in signals]
        assert min(stamps) >= last
        assert max(stamps) - min(stamps) < 900
        last = max(stamps) - 899
        seen_events += len(events)
        seen_signals += len(signals)
    assert seen_events == len(small_stream.events)
    assert seen_signals == len(small_stream.signals)


def test_stored_signals_lose_their_label_id_and_pass_validation(small_stream: Stream) -> None:
    signal = small_stream.signals[0]
    body = signal_body(signal, check_signal)
    assert '"id"' not in body
    assert f'"actor_id":"{signal["actor_id"]}"' in body


def test_a_malformed_signal_is_refused() -> None:
    with pytest.raises(SignalRejected):
        check_signal({"date": 1_767_600_000, "actor_id": "not a user", "api_method": "x"})
