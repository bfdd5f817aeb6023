"""Running the bus's long-lived loops side by side, and stopping them between batches."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

Loop = Callable[[asyncio.Event], Awaitable[Any]]


async def pause(stop: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, or less when `stop` is set meanwhile."""
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def run_loops(loops: list[Loop], stop: asyncio.Event) -> None:
    """Run each `loop(stop)` until `stop` is set; when one fails, the others are stopped
    the same way (finishing their batch) before the failure is raised."""
    tasks = [asyncio.create_task(_stopping_on_failure(loop, stop)) for loop in loops]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


async def _stopping_on_failure(loop: Loop, stop: asyncio.Event) -> Any:
    try:
        return await loop(stop)
    except BaseException:
        stop.set()
        raise
