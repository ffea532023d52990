"""What a send costs against its account's daily cap: refused early when it cannot fit, then
counted atomically as the transaction's last write (``herald.throttling.daily``).

Every way of sending (``/v1/notifications``, broadcasts, the SMS gateway) calls these two, so
the cap is checked and counted in one place.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from herald.accounts.auth import Principal
from herald.throttling import daily
from herald.throttling.service import Throttle, account_limits


async def _daily_cap(session: AsyncSession, throttle: Throttle, principal: Principal) -> int | None:
    """The cap the sending account's messages count against today; None for test keys."""
    if principal.test:
        return None  # test keys count against no cap (API.md "Accounts")
    limits = await account_limits(session, account_id=principal.account_id)
    return throttle.default_daily if limits.daily is None else limits.daily


async def refuse_over_cap(
    session: AsyncSession, throttle: Throttle, principal: Principal, messages: int
) -> None:
    """429 before any work when ``messages`` cannot fit in today's cap (``charge`` decides)."""
    cap = await _daily_cap(session, throttle, principal)
    if cap is not None:
        await daily.refuse_if_spent(
            session, account_id=principal.account_id, messages=messages, cap=cap
        )


async def charge(
    session: AsyncSession, throttle: Throttle, principal: Principal, messages: int
) -> None:
    """Count messages against the sending account's daily cap, atomically (429 when they do
    not fit). Call it as the transaction's last write: it holds the count's row lock."""
    cap = await _daily_cap(session, throttle, principal)
    if cap is not None:
        await daily.spend(session, account_id=principal.account_id, messages=messages, cap=cap)
