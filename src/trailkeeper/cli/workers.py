"""`trailkeeper ingest-worker` and `trailkeeper relay`: the JetStream side of the service.

Both create the streams if needed and stop gracefully on SIGTERM or SIGINT: the batch in hand is
committed and acknowledged (or published and recorded) before the process exits.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable

import click
import nats
import nats.errors
from nats.js import JetStreamContext

from trailkeeper.bus.lifecycle import Loop, run_loops
from trailkeeper.bus.relay import CommittedRelay
from trailkeeper.bus.streams import BusNames, ensure_streams
from trailkeeper.bus.worker import DEFAULT_BATCH_EVENTS, IngestWorker
from trailkeeper.catalog import load_catalog
from trailkeeper.cli.context import migrated_store, settings_from_env
from trailkeeper.config import Settings
from trailkeeper.directory.locations import LocationIndex
from trailkeeper.ingest import Ingestor
from trailkeeper.storage.base import Store

CONNECT_TIMEOUT_S = 2
FIRST_CONNECT_DEADLINE_S = 10.0
log = logging.getLogger(__name__)
LoopFactory = Callable[[JetStreamContext], list[Loop]]

nats_url_option = click.option(
    "--nats-url", default=None, help="NATS server with JetStream (default: TRAILKEEPER_NATS_URL)."
)
subject_prefix_option = click.option(
    "--subject-prefix",
    default=BusNames.subject_prefix,
    show_default=True,
    help="First token of every subject (one deployment per prefix on a shared NATS).",
)
stream_prefix_option = click.option(
    "--stream-prefix",
    default=BusNames.stream_prefix,
    show_default=True,
    help="Prefix of the stream names (<PREFIX>_INGEST, _DEADLETTER, _COMMITTED).",
)


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )


async def _log_nats_error(exc: Exception) -> None:
    log.warning("NATS: %s", exc)  # the client retries; one line, not a traceback


async def _serve(nats_url: str, names: BusNames, loops: LoopFactory) -> None:
    """Connect, make sure the streams exist, and run the loops until a signal stops them."""
    stop = asyncio.Event()
    running = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        running.add_signal_handler(sig, stop.set)
    try:
        # Once connected, reconnect forever; the first connection gets a deadline, since the
        # client retries that one forever too when reconnects are unbounded.
        nc = await asyncio.wait_for(
            nats.connect(
                nats_url,
                name="trailkeeper",
                connect_timeout=CONNECT_TIMEOUT_S,
                max_reconnect_attempts=-1,
                error_cb=_log_nats_error,
            ),
            FIRST_CONNECT_DEADLINE_S,
        )
    except (nats.errors.Error, OSError, TimeoutError) as exc:
        raise click.ClickException(f"cannot reach NATS at {nats_url}: {exc!r}") from exc
    try:
        js = nc.jetstream()
        try:
            await ensure_streams(js, names)
        except nats.errors.Error as exc:
            raise click.ClickException(f"JetStream unavailable at {nats_url}: {exc}") from exc
        await run_loops(loops(js), stop)
    finally:
        await nc.drain()  # sends the last acks before closing


def _run(settings: Settings, names: BusNames, loops: LoopFactory) -> None:
    asyncio.run(_serve(settings.nats_url, names, loops))


@click.command("ingest-worker")
@nats_url_option
@click.option(
    "--batch",
    type=click.IntRange(1, 100_000),
    default=DEFAULT_BATCH_EVENTS,
    show_default=True,
    help="Events per commit: messages are fetched and acknowledged about this many at a time.",
)
@click.option("--relay", is_flag=True, help="Also run the committed-events relay here.")
@subject_prefix_option
@stream_prefix_option
def ingest_worker(
    nats_url: str | None, batch: int, relay: bool, subject_prefix: str, stream_prefix: str
) -> None:
    """Consume events from JetStream: validate, store, then acknowledge. Run any number."""
    settings = settings_from_env(nats_url=nats_url)
    _configure_logging(settings)
    names = BusNames(subject_prefix=subject_prefix, stream_prefix=stream_prefix)
    store = migrated_store(settings)
    ingestor = Ingestor(
        store,
        load_catalog(settings.catalog_extensions),
        LocationIndex(store),
        max_event_bytes=settings.max_event_bytes,
    )

    def loops(js: JetStreamContext) -> list[Loop]:
        worker = IngestWorker(
            js,
            store,
            ingestor,
            names,
            batch_events=batch,
            max_events_per_message=settings.max_batch_events,
        )
        return [worker.run, *_relay_loops(js, store, names, relay)]

    try:
        _run(settings, names, loops)
    finally:
        store.close()


def _relay_loops(js: JetStreamContext, store: Store, names: BusNames, wanted: bool) -> list[Loop]:
    return [CommittedRelay(js, store, names).run] if wanted else []


@click.command("relay")
@nats_url_option
@subject_prefix_option
@stream_prefix_option
def relay(nats_url: str | None, subject_prefix: str, stream_prefix: str) -> None:
    """Publish committed events to <prefix>.committed.<org>, each once, in sequence order."""
    settings = settings_from_env(nats_url=nats_url)
    _configure_logging(settings)
    names = BusNames(subject_prefix=subject_prefix, stream_prefix=stream_prefix)
    store = migrated_store(settings)
    try:
        _run(settings, names, lambda js: _relay_loops(js, store, names, True))
    finally:
        store.close()
