"""Stats: sent and failed deliveries per channel per day, as charts and as a table."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.requests import Request
from starlette.responses import Response

from herald.db import utcnow
from herald.delivery.stats import daily_outcomes
from herald.http.deps import SessionDep
from herald.web.console.access import Visit, console
from herald.web.console.charts import channel_chart
from herald.web.console.rendering import page
from herald.web.console.routing import ConsoleRoute

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
Reader = Annotated[Visit, Depends(console("deliveries.read"))]
Days = Annotated[int, Query(ge=1, le=366)]


@router.get("/console/stats")
async def stats(request: Request, session: SessionDep, visit: Reader, days: Days = 14) -> Response:
    """The last ``days`` UTC days, today included."""
    last = utcnow().date()
    first = last - timedelta(days=days - 1)
    counts = await daily_outcomes(
        session, account_id=visit.principal.account_id, first=first, last=last
    )
    span = [first + timedelta(days=i) for i in range(days)]
    channels = sorted({c.channel for c in counts})
    return page(
        request,
        "stats.html",
        title="Stats",
        charts=[channel_chart(channel, span, counts) for channel in channels],
        counts=counts,
        days=days,
        first=first,
        last=last,
        choices=(7, 14, 30, 90),
    )
