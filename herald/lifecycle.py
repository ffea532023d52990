"""Opening and closing what a process runs on (database, signing key, bus, rate limiter).

Apart from ``herald.app``, so that a process without HTTP (``herald worker``, ``herald send``)
does not import every router and schema of the API to start: a third of its start-up.
"""

from __future__ import annotations

from herald.accounts.secrets import load_signing_key
from herald.bus import create_bus
from herald.channels.registry import installed_channels
from herald.config import Settings
from herald.db import Database
from herald.delivery.providers import channels_without_provider
from herald.logs import get_logger
from herald.runtime import Runtime
from herald.startup import once_up
from herald.throttling.service import Throttle

log = get_logger(__name__)
UNSERVED_HINTS = {
    "email": "set HERALD_SMTP_URL (log:// writes mails to the log) or PUT /v1/providers/email/smtp",
    "sms": "PUT /v1/providers/sms/http (or sms/smpp) for an account",
}


async def start_runtime(settings: Settings) -> Runtime:
    """Open the database, load the signing key and connect the bus (not yet started).

    Features subscribe to the bus before ``bus.start()``, so the caller starts it.
    """
    db = Database(settings)

    async def read_secret() -> str:
        async with db.sessions() as session, session.begin():
            return await load_signing_key(session, settings)

    secret = await once_up("database", read_secret)
    return Runtime(
        settings=settings,
        db=db,
        secret=secret,
        bus=create_bus(settings),
        throttle=Throttle(settings),
    )


async def warn_unserved_channels(runtime: Runtime) -> None:
    """Name, in a warning each, the channels no provider serves (their deliveries would fail)."""
    async with runtime.db.sessions() as session, session.begin():
        missing = await channels_without_provider(
            session, settings=runtime.settings, channels=installed_channels()
        )
    for channel in missing:
        log.warning(
            "channel_without_provider",
            channel=channel,
            hint=UNSERVED_HINTS.get(channel, f"PUT /v1/providers/{channel}/<provider>"),
        )


async def stop_runtime(runtime: Runtime) -> None:
    """Close the bus, the rate limiter's connections and the database pool."""
    try:
        await runtime.bus.close()
        await runtime.throttle.close()
    finally:
        await runtime.db.dispose()
