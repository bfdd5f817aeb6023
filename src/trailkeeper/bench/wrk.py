"""`wrk` as the throughput generator when it is installed: one C thread outpaces any Python client.

Only the throughput phase can use it (ingest and latency need per-request bodies and timings).
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess

from trailkeeper.bench.load import LatencyStats, ProtocolError, ThroughputResult, ThroughputSpec

_WRK_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def wrk_path() -> str | None:
    """`wrk` when it is installed."""
    return shutil.which("wrk")


def _wrk_ms(text: str, label: str) -> float:
    match = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s|m)\b", text, re.MULTILINE)
    return float(match.group(1)) * _WRK_UNITS[match.group(2)] if match else math.nan


def parse_wrk(text: str, seconds: float) -> ThroughputResult:
    """A throughput result from `wrk --latency` output."""
    done = re.search(r"(\d+) requests in", text)
    if done is None:
        raise ProtocolError(f"unexpected wrk output: {text[:200]!r}")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    failed = (int(bad.group(1)) if bad else 0) + (
        sum(int(g) for g in errors.groups()) if errors else 0
    )
    p50, p99 = _wrk_ms(text, "50%"), _wrk_ms(text, "99%")
    stats = LatencyStats(int(done.group(1)), p50, math.nan, p99, _wrk_ms(text, "Latency"))
    return ThroughputResult(int(done.group(1)), failed, seconds, stats, "wrk")


def run_wrk(spec: ThroughputSpec, wrk: str) -> ThroughputResult:
    """The throughput phase run by `wrk` (one thread: the server needs the other core)."""
    url = f"http://{spec.endpoint.host}:{spec.endpoint.port}{spec.path}"
    header = f"Authorization: Bearer {spec.endpoint.token}"
    base = [wrk, "-t1", f"-c{spec.connections}", "-H", header, "--latency", url]
    if spec.warmup_s > 0:
        warm = max(1, round(spec.warmup_s))
        subprocess.run([*base, f"-d{warm}s"], capture_output=True, check=True)  # noqa: S603
    duration = max(1, round(spec.duration_s))
    done = subprocess.run(  # noqa: S603
        [*base, f"-d{duration}s"], capture_output=True, check=True, text=True
    )
    return parse_wrk(done.stdout, float(duration))
