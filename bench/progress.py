"""Progress of one benchmark: a rich bar when run alone, step lines when ``bench.run`` drives it.

``bench.run`` runs each workload as a child process and draws every bar itself, so a child
under it (``HERALD_BENCH_PROGRESS=lines``) prints ``::step done/total text`` lines instead.
"""

from __future__ import annotations

import os
from types import TracebackType

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

MODE_ENV = "HERALD_BENCH_PROGRESS"
PREFIX = "::step "


class Steps:
    """Count the steps of a benchmark run, showing what runs now."""

    def __init__(self, name: str, total: int) -> None:
        self.name = name
        self.total = total
        self.done = 0
        self._lines = os.environ.get(MODE_ENV) == "lines"
        self._progress: Progress | None = None
        self._task = 0

    def __enter__(self) -> Steps:
        if not self._lines:
            self._progress = Progress(
                TextColumn("[bold]{task.fields[name]}"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total}"),
                TimeElapsedColumn(),
                TextColumn("{task.description}"),
            )
            self._progress.start()
            self._task = self._progress.add_task("", total=self.total, name=self.name)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def start(self, text: str) -> None:
        """Say what runs now, without counting it done."""
        self._show(text)

    def advance(self, text: str = "") -> None:
        """One more step is done."""
        self.done += 1
        self._show(text)

    def _show(self, text: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=self.done, description=text)
        else:
            print(f"{PREFIX}{self.done}/{self.total} {text}", flush=True)
