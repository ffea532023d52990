"""What every benchmark shares: statistics, pinning, servers, and writing results down.

Results go to ``bench/results/<name>.json`` and ``bench/results/<name>.md`` with the machine,
the date, the command and the git commit, so a figure can always be traced to its run.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0 to 100) by nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def median(values: Sequence[float]) -> float:
    """The median, 0 for no values."""
    return statistics.median(values) if values else 0.0


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def git_commit() -> str:
    """The commit the benchmark ran on (with ``+dirty`` when the tree has changes)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "herald"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return commit + ("+dirty" if dirty else "")


@dataclass
class Report:
    """One benchmark's results: rows of a table plus the verdicts on its targets."""

    name: str
    title: str
    columns: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    targets: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def target(self, what: str, measured: float, goal: str, met: bool) -> None:
        """Record a target, what was measured against it and whether it was met."""
        self.targets.append({"target": what, "measured": measured, "goal": goal, "met": met})

    def write(self) -> Path:
        """Write ``<name>.json`` and ``<name>.md`` under bench/results/."""
        RESULTS.mkdir(parents=True, exist_ok=True)
        meta = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
            "commit": git_commit(),
            "machine": machine(),
        }
        data = {
            "name": self.name,
            "title": self.title,
            **meta,
            "rows": self.rows,
            "targets": self.targets,
            "notes": self.notes,
        }
        (RESULTS / f"{self.name}.json").write_text(json.dumps(data, indent=2) + "\n")
        path = RESULTS / f"{self.name}.md"
        path.write_text(self._markdown(meta))
        return path

    def _markdown(self, meta: dict[str, Any]) -> str:
        m = meta["machine"]
        lines = [
            f"# {self.title}",
            "",
            f"- date: {meta['date']}",
            f"- command: `python -m bench.{self.name}` ({meta['command']})",
            f"- commit: {meta['commit']}",
            f"- machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, "
            f"Python {m['python']}",
            "",
            "| " + " | ".join(self.columns) + " |",
            "|" + "---|" * len(self.columns),
        ]
        for row in self.rows:
            lines.append("| " + " | ".join(_cell(row.get(c, "")) for c in self.columns) + " |")
        if self.targets:
            lines += ["", "| target | goal | measured | verdict |", "|---|---|---|---|"]
            for t in self.targets:
                verdict = "met" if t["met"] else "**missed**"
                lines.append(
                    f"| {t['target']} | {t['goal']} | {_cell(t['measured'])} | {verdict} |"
                )
        lines += ["", *[f"- {n}" for n in self.notes]]
        return "\n".join(lines).rstrip() + "\n"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    return str(value)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far (``/proc/<pid>/stat``)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pin(cores: set[int]) -> None:
    """Pin this process to some cores (no-op where affinity is unsupported)."""
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, cores)


def server_cores() -> tuple[set[int], set[int]]:
    """Cores for the server and for the load generator: apart when there are two or more."""
    count = os.cpu_count() or 1
    if count < 2:
        return {0}, {0}
    return {0}, set(range(1, count))


@contextlib.contextmanager
def running(
    argv: list[str],
    *,
    port: int,
    env: dict[str, str] | None = None,
    cores: set[int] | None = None,
    ready_path: str = "/healthz",
    timeout: float = 60.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server process until the block ends, waiting until it answers ``ready_path``."""
    full_env = {**os.environ, **(env or {})}
    preexec = (lambda: os.sched_setaffinity(0, cores)) if cores else None
    # stderr goes to a file, not a pipe: nobody reads a pipe while the server runs, and a server
    # that logs more than the pipe holds (64 KiB) would block on its next write.
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            argv,
            env=full_env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            preexec_fn=preexec,
        )
        try:
            wait_until_up(f"http://127.0.0.1:{port}{ready_path}", proc, timeout, errors)
            yield proc
        except BaseException:
            errors.seek(0)
            sys.stderr.write(errors.read()[-3000:].decode(errors="replace"))
            raise
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def wait_until_up(
    url: str, proc: subprocess.Popen[bytes], timeout: float, errors: IO[bytes]
) -> None:
    """Poll ``url`` until it answers 200, or fail with the process's stderr."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            errors.seek(0)
            err = errors.read().decode(errors="replace")
            raise RuntimeError(f"server exited early:\n{err[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not come up in {timeout}s")
