"""What a send costs against its account's daily cap: counted atomically as the transaction's
last write (``herald.throttling.daily``), and refused before any work once this process has
seen the day's count leave no room for it (the count only grows within a day).

Every way of sending (``/v1/notifications``, broadcasts, the SMS gateway) calls these two, so
the cap is checked and counted in one place. A transaction charges an account once: a refusal's
count is then the committed one (a batch of accepts in one transaction charges each account
once, with the sum of its messages).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from herald.accounts.auth import Principal
from herald.throttling import daily
from herald.throttling.service import Throttle, account_limits


async def daily_cap(session: AsyncSession, throttle: Throttle, principal: Principal) -> int | None:
    """The cap the sending account's messages count against today; None for test keys."""
    if principal.test:
        return None  # test keys count against no cap (API.md "Accounts")
    limits = await account_limits(session, account_id=principal.account_id)
    return throttle.default_daily if limits.daily is None else limits.daily


async def refuse_over_cap(
    session: AsyncSession, throttle: Throttle, principal: Principal, messages: int
) -> None:
    """429 before any work when this process already knows ``messages`` cannot fit in today's
    cap (a request was refused with the day's count); ``charge`` decides for good."""
    cap = await daily_cap(session, throttle, principal)
    if cap is None or messages <= 0:
        return
    now = datetime.now(UTC)
    used = throttle.daily_used(principal.account_id, daily.day_of(now))
    if used + messages > cap:
        raise daily.DailyCapReached(cap, used=used, now=now)


async def charge(
    session: AsyncSession, throttle: Throttle, principal: Principal, messages: int
) -> None:
    """Count messages against the sending account's daily cap, atomically (429 when they do
    not fit). Call it as the transaction's last write: it holds the count's row lock."""
    cap = await daily_cap(session, throttle, principal)
    if cap is None or messages <= 0:
        return
    try:
        await daily.spend(session, account_id=principal.account_id, messages=messages, cap=cap)
    except daily.DailyCapReached as refused:
        throttle.note_daily_used(
            principal.account_id, daily.day_of(datetime.now(UTC)), refused.used
        )
        raise
