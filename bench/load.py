"""HTTP load with wrk (Debian's package): requests/s and latency percentiles from its report."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass(frozen=True)
class LoadResult:
    """What one wrk run measured."""

    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    errors: int = 0
    """Socket errors: failed connects, reads, writes and timeouts (wrk's 2 s by default)."""


def require_wrk() -> str:
    """The wrk binary, or a clear message on how to get it."""
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is needed: apt-get install wrk (make bench installs it)")
    return path


def _script(method: str, body: str, headers: dict[str, str]) -> str:
    lines = [f"wrk.method = {json.dumps(method)}", f"wrk.body = {json.dumps(body)}"]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    return "\n".join(lines) + "\n"


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"unreadable wrk latency {text!r}")
    return float(match.group(1)) * UNITS[match.group(2)]


def parse(report: str) -> LoadResult:
    """Read requests/s, p50, p99, the request count and non-2xx count from ``wrk --latency``."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", report).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", report, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", report, re.M).group(1))  # type: ignore[union-attr]
    count = int(re.search(r"(\d+) requests in", report).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", report)
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", report
    )
    errors = sum(int(n) for n in socket.groups()) if socket else 0
    return LoadResult(rps, p50, p99, count, int(bad.group(1)) if bad else 0, errors)


def wrk(
    url: str,
    *,
    body: str,
    headers: dict[str, str],
    connections: int,
    seconds: int,
    method: str = "POST",
    cores: set[int] | None = None,
    timeout: int = 30,
) -> LoadResult:
    """Drive ``url`` with ``connections`` concurrent clients for ``seconds``.

    A request slower than ``timeout`` seconds counts as a socket error; wrk's own default (2 s)
    would silently drop the slow tail from the latency figures under heavy queueing.
    """
    binary = require_wrk()
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "request.lua"
        script.write_text(_script(method, body, headers))
        argv = [
            binary,
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            f"--timeout={timeout}s",
            "--latency",
            "-s",
            str(script),
            url,
        ]
        if cores:
            argv = ["taskset", "-c", ",".join(map(str, sorted(cores))), *argv]
        out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=seconds + 60)
    return parse(out.stdout)
