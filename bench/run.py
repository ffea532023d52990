"""Run every benchmark workload present, one after the other, with a progress bar each.

Each workload is a module ``bench/<name>.py`` run as its own process (``python -m bench.<name>``,
so that one workload's servers and memory never colour the next); a module not written yet is
skipped. Workloads report their steps as ``::step done/total text`` lines (see
``bench.progress``), which become the bars; everything else they print is passed through.

    python -m bench.run [accept fanout ...]     (make bench)
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from bench.backends import BENCH_DSN_ENV
from bench.common import PYTHON, ROOT
from bench.progress import MODE_ENV, PREFIX

WORKLOADS = ("accept", "fanout", "inbox", "realtime", "email")
STEP = re.compile(rf"^{re.escape(PREFIX)}(\d+)/(\d+) ?(.*)$")


def present(names: list[str]) -> list[str]:
    """The named workloads whose module exists."""
    return [n for n in names if (ROOT / "bench" / f"{n}.py").exists()]


def _run(name: str, progress: Progress, task: TaskID) -> int:
    env = {**os.environ, MODE_ENV: "lines", "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(
        [PYTHON, "-m", f"bench.{name}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            step = STEP.match(line.rstrip("\n"))
            if step:
                done, total, text = int(step[1]), int(step[2]), step[3]
                progress.update(task, completed=done, total=total, description=text)
            else:
                progress.console.print(f"[dim]{name}:[/dim] {line.rstrip()}", highlight=False)
        return proc.wait()


def main() -> None:
    """Run the workloads named (default: all present) and say which failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="*", help=f"some of {', '.join(WORKLOADS)}")
    args = parser.parse_args()
    unknown = sorted(set(args.workloads) - set(WORKLOADS))
    if unknown:
        parser.error(f"unknown workloads: {', '.join(unknown)}")
    wanted = args.workloads or list(WORKLOADS)
    names = present(wanted)
    console = Console()
    skipped = sorted(set(wanted) - set(names))
    if skipped:
        console.print(f"Not written yet, skipped: {', '.join(skipped)}")
    backends = "SQLite and PostgreSQL" if os.environ.get(BENCH_DSN_ENV) else "SQLite"
    console.print(f"Backends: {backends} (set {BENCH_DSN_ENV} to add PostgreSQL)")
    failed = []
    with Progress(
        TextColumn("[bold]{task.fields[name]:<9}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console,
    ) as progress:
        tasks = {n: progress.add_task("waiting", total=None, name=n) for n in names}
        for name in names:
            progress.update(tasks[name], description="starting")
            if _run(name, progress, tasks[name]) != 0:
                failed.append(name)
                progress.update(tasks[name], description="[red]failed")
            else:
                progress.update(tasks[name], description="[green]done")
    console.print(f"Results in {ROOT / 'bench' / 'results'}")
    if failed:
        console.print(f"[red]Failed: {', '.join(failed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
