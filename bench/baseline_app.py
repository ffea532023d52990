"""The ceiling of Herald's own stack for the accept benchmark: FastAPI on uvicorn parsing the
same body with the same pydantic model (``Envelope``) and answering 202, without a database.

Run as ``python -m bench.baseline_app --port N``; it serves the way ``herald api`` does
(one process, uvloop and httptools, no access log).
"""

from __future__ import annotations

import argparse

import orjson
import uvicorn
from fastapi import FastAPI, Response, status

from herald.db import new_id
from herald.events.schemas import Envelope

app = FastAPI()


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    """Up."""
    return {"status": "ok"}


@app.post("/v1/notifications", status_code=status.HTTP_202_ACCEPTED)
async def send(envelope: Envelope) -> Response:
    """Parse and answer what Herald answers, storing nothing."""
    recipients = len(envelope.targets.users)
    body = {"id": str(new_id()), "queued": True, "recipients": recipients}
    return Response(orjson.dumps(body), status_code=202, media_type="application/json")


def main() -> None:
    """Serve on loopback at ``--port``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
