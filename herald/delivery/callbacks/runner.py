"""One attempt at one claimed status callback: sign (or, in Notify's format, carry the
endpoint's bearer token), POST (SSRF-checked), record.

A 2xx is delivered; 410 Gone and a URL that now resolves somewhere unsafe are permanent;
anything else (timeouts, refused connections, other statuses) is retried on the policy,
never sooner than the receiver's ``Retry-After``.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from herald.channels.outcome import Outcome
from herald.config import Settings
from herald.delivery.answer import Answer
from herald.delivery.callbacks.service import NOTIFY
from herald.delivery.gate import Gate
from herald.delivery.models import CallbackEndpoint, CallbackJob
from herald.delivery.policy import DEFAULT_POLICY, RetryPolicy
from herald.delivery.queue import Claimed, finish, lock
from herald.delivery.sealing import unseal
from herald.delivery.status import TERMINAL, DeliveryStatus
from herald.http.ssrf import PostResponse, UnresolvableUrl, UnsafeUrl, post
from herald.webhooks.signing import sign

_GONE = 410
_KEPT_BODY = 500


class CallbackRunner:
    """Runs attempts at status callbacks for one worker."""

    model = CallbackJob

    def __init__(
        self,
        *,
        gate: Gate,
        settings: Settings,
        sealing_key: str,
        worker: str,
        policy: RetryPolicy = DEFAULT_POLICY,
        time_limit: float = 10.0,
    ) -> None:
        self._gate = gate
        self._settings = settings
        self._sealing_key = sealing_key
        self._worker = worker
        self._policy = policy
        self._time_limit = time_limit

    async def claimed(self, session: AsyncSession, jobs: list[Claimed]) -> None:
        """Nothing to prepare: a callback's body was fixed when it was queued."""

    async def aclose(self) -> None:
        """Nothing to release: each attempt opens and closes its own transactions."""

    async def run(self, job: Claimed) -> None:
        """POST the callback ``job`` claimed and record the answer."""
        async with self._gate.transaction() as session:
            row = await session.get(CallbackJob, job.id)
            if row is None or DeliveryStatus(row.status) in TERMINAL:
                return
            endpoint = await session.get(CallbackEndpoint, row.account_id)
        if endpoint is None:
            answer = Answer(Outcome.CANCELLED, provider_response={"error": "endpoint removed"})
        elif job.attempt > self._policy.max_attempts:
            error = {"error": "gave up after interrupted attempts"}
            answer = Answer(Outcome.TECHNICAL, provider_response=error, final=True)
        else:
            answer = await self._post(row, endpoint)
        await self._record(job, answer)

    async def _post(self, row: CallbackJob, endpoint: CallbackEndpoint) -> Answer:
        body = orjson.dumps(row.payload)
        secret = unseal(self._sealing_key, endpoint.secret)
        headers = {"content-type": "application/json", "user-agent": "Herald"}
        if endpoint.format == NOTIFY:
            headers["authorization"] = f"Bearer {secret}"
        else:
            # The job id is the message id: the same on every retry, so receivers de-duplicate.
            headers.update(sign(secret, f"msg_{row.id.hex}", int(time.time()), body))
        try:
            response = await post(
                endpoint.url,
                content=body,
                headers=headers,
                allow_private=self._settings.allow_private_urls,
                time_limit=self._time_limit,
            )
        except UnresolvableUrl as exc:
            return _technical(f"the URL did not resolve: {exc.message}")
        except UnsafeUrl as exc:
            return Answer(Outcome.PERMANENT, provider_response={"error": exc.message})
        except (TimeoutError, httpx.HTTPError, OSError) as exc:
            return _technical(f"{type(exc).__name__}: {exc}")
        return _answer_of(response)

    async def _record(self, job: Claimed, answer: Answer) -> None:
        async with self._gate.transaction() as session:
            row = await lock(session, CallbackJob, job.id)
            if row is None:
                return
            finish(
                row,
                job=job,
                worker=self._worker,
                outcome=answer.outcome,
                retry_after=answer.retry_after,
                final=answer.final,
                policy=self._policy,
            )
            row.last_response = {"outcome": answer.outcome.value, **answer.provider_response}


def _technical(error: str, **response: Any) -> Answer:
    return Answer(Outcome.TECHNICAL, provider_response={"error": error, **response})


def _answer_of(response: PostResponse) -> Answer:
    """The outcome of the receiver's HTTP answer."""
    body = response.body[:_KEPT_BODY].decode(errors="replace")
    kept = {"status": response.status_code, "body": body}
    if response.is_success:
        return Answer(Outcome.DELIVERED, provider_response=kept)
    if response.status_code == _GONE:
        return Answer(Outcome.PERMANENT, provider_response=kept)
    answer = _technical(f"the receiver answered {response.status_code}", **kept)
    return Answer(
        answer.outcome,
        provider_response=answer.provider_response,
        retry_after=_retry_after(response.headers.get("retry-after")),
    )


def _retry_after(value: str | None) -> float | None:
    """A ``Retry-After`` in seconds (the HTTP-date form is ignored: the policy still waits)."""
    if value is None or not value.strip().isdigit():
        return None
    return float(value.strip())
