"""The README's tour, pasted as written against a fresh ``herald serve``: it cannot drift.

The shell blocks of "A five-minute tour" run in order in one bash (``set -e``), in an empty
folder where ``herald serve`` runs with the defaults ``make run`` uses (``./herald.db``, mail to
the log). Only the address is changed, to a free port, and ``.venv/bin/herald`` to this
environment's; the first block (``make run``) is the server itself.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
HERALD = str(Path(sys.executable).with_name("herald"))


def tour_blocks() -> list[str]:
    """The ``sh`` blocks of the tour section, in order."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## A five-minute tour", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_ready(port: int, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert server.poll() is None, "herald serve exited"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("herald serve did not become ready")


@pytest.mark.e2e
@pytest.mark.timeout(300)
def test_the_tour_pastes_as_written_and_ends_with_a_delivered_email(tmp_path: Path) -> None:
    blocks = tour_blocks()
    assert blocks[0].strip() == "make run"
    port = _free_port()
    script = "\n".join(blocks[1:])
    script = script.replace("localhost:8000", f"127.0.0.1:{port}")
    script = script.replace(".venv/bin/herald", HERALD)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    env.update(HERALD_SMTP_URL="log://", PATH=f"{Path(HERALD).parent}:{env['PATH']}")
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        server = subprocess.Popen(
            [HERALD, "serve", "--port", str(port)],
            cwd=tmp_path, env=env, stdout=sink, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        try:
            _wait_ready(port, server)
            ran = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", script],
                cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240,
            )  # fmt: skip
        finally:
            server.terminate()
            server.wait(timeout=30)
    served = log.read_text()
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert '"error"' not in ran.stdout, ran.stdout
    assert '"access_token"' in ran.stdout and '"unread"' in ran.stdout
    assert "1 of 1 rows accepted" in ran.stdout
    deliveries = _last_listing(ran.stdout)
    emails = [d for d in deliveries["data"] if d["recipient"].get("user") == "ADV"]
    assert [d["status"] for d in emails] == ["delivered"]
    logged = [json.loads(line) for line in served.splitlines() if '"mail.logged"' in line]
    assert any(
        m["to"] == ["ada@example.com"] and "Your viewing is confirmed" in m["text"] for m in logged
    ), served
    assert "is listening on" in served and "Migrated" in served
    assert "Traceback" not in served


def _last_listing(output: str) -> dict[str, Any]:
    """The deliveries listing: the last ``{"data": ...}`` of the output (curl ends no line)."""
    start = output.rindex('{"data"')
    listing: dict[str, Any] = json.JSONDecoder().raw_decode(output[start:])[0]
    return listing
