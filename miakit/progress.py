"""Progress bars and messages, on standard error (standard output stays for results: the last line
a command prints is the path a script wants).

On a terminal, rich bars. Where standard error is not a terminal (a log file, CI, ``nohup``,
``tee``), a bar would print nothing until it ends, so :class:`LineProgress` writes one plain line
every :data:`EVERY_S` seconds instead (``MIAKIT_PROGRESS_EVERY_S``): what, how far, the rate,
the time left, and any fields the caller adds (a training's loss and best validation RMSE).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator, Sized
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")
EVERY_S = 30.0
"""Seconds between two progress lines where standard error is not a terminal."""


def console():
    from rich.console import Console

    return Console(stderr=True)


def progress_bar(*, transient: bool = False):
    """A rich Progress that writes to standard error, with elapsed and remaining time; where standard
    error is not a terminal, a :class:`LineProgress` (the same calls) that writes periodic lines."""
    if not console().is_terminal:
        return LineProgress()
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console(),
        transient=transient,
    )


def track(items: Iterable[T], description: str, *, enabled: bool = True, total: int | None = None) -> Iterator[T]:
    """Iterate with a progress bar (or silently where ``enabled`` is false)."""
    if not enabled:
        yield from items
        return
    if total is None:
        items = items if isinstance(items, Sized) else list(items)
        total = len(items)
    with progress_bar() as bar:
        task = bar.add_task(description, total=total)
        for item in items:
            yield item
            bar.advance(task)


@contextmanager
def step(description: str, *, enabled: bool = True):
    """A spinner line for one step of unknown length; prints its duration when done."""
    import time

    if not enabled:
        yield
        return
    c = console()
    t0 = time.perf_counter()
    with c.status(description):
        yield
    c.print(f"[green]done[/] {description} ({time.perf_counter() - t0:.1f} s)")


def _duration(seconds: float) -> str:
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


class LineProgress:
    """Progress for logs: the calls of a rich ``Progress`` that miakit uses (``add_task``, ``update``,
    ``advance``, a context manager), written as one line per task every ``every_s`` seconds, and once
    more at the end, on standard error::

        train: 120/500 steps (24%), 3.1 /s, 39 s elapsed, 2 min 03 s left, loss 0.213, best val RMSE 9.12

    ``update`` takes extra fields (``loss=...``); a callable field is called only when a line is
    written (a training's loss sits on its device until then)."""

    def __init__(self, every_s: float | None = None, stream=None, unit: str = ""):
        if every_s is None:
            every_s = float(os.environ.get("MIAKIT_PROGRESS_EVERY_S", EVERY_S))
        self.every_s, self.stream, self.unit = every_s, stream, unit
        self.tasks: dict[int, dict[str, Any]] = {}

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc) -> None:
        for task in self.tasks.values():
            if not task["closed"]:
                self._write(task, final=True)

    def add_task(self, description: str, total: float | None = None, completed: float = 0, **fields) -> int:
        now = time.monotonic()
        key = len(self.tasks)
        self.tasks[key] = {
            "description": description,
            "total": total,
            "completed": completed,
            "start": completed,
            "t0": now,
            "last": now,
            "fields": dict(fields),
            "closed": False,
        }
        self._write(self.tasks[key])
        return key

    def update(
        self,
        task: int,
        *,
        completed: float | None = None,
        advance: float | None = None,
        description: str | None = None,
        total: float | None = None,
        **fields,
    ) -> None:
        t = self.tasks[task]
        if completed is not None:
            t["completed"] = completed
        if advance:
            t["completed"] += advance
        if description is not None:
            t["description"] = description
        if total is not None:
            t["total"] = total
        t["fields"].update(fields)
        now = time.monotonic()
        done = t["total"] is not None and t["completed"] >= t["total"]
        if done or now - t["last"] >= self.every_s:
            self._write(t, final=done)

    def advance(self, task: int, advance: float = 1) -> None:
        self.update(task, advance=advance)

    def line(self, task: int) -> str:
        """The line that task's progress is written as now."""
        return self._format(self.tasks[task])

    def _format(self, t: dict[str, Any]) -> str:
        elapsed = time.monotonic() - t["t0"]
        done, total = t["completed"], t["total"]
        parts = [f"{done:g}/{total:g}" + (f" {self.unit}" if self.unit else "") if total else f"{done:g}"]
        if total:
            parts[0] += f" ({done / total:.0%})"
        rate = (done - t["start"]) / elapsed if elapsed > 0 else 0.0
        parts.append(f"{rate:.3g} /s")
        parts.append(f"{_duration(elapsed)} elapsed")
        if total and rate > 0 and done < total:
            parts.append(f"{_duration((total - done) / rate)} left")
        for name, value in t["fields"].items():
            value = value() if callable(value) else value
            if value is not None:
                parts.append(f"{name.replace('_', ' ')} {value:.4g}" if isinstance(value, float) else f"{name} {value}")
        return f"{t['description']}: " + ", ".join(parts)

    def _write(self, t: dict[str, Any], *, final: bool = False) -> None:
        print(self._format(t), file=self.stream or sys.stderr, flush=True)
        t["last"] = time.monotonic()
        t["closed"] = final
