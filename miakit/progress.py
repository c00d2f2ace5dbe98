"""Progress bars and messages, on standard error (standard output stays for results: the last line
a command prints is the path a script wants)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")


def console():
    from rich.console import Console

    return Console(stderr=True)


def progress_bar(*, transient: bool = False):
    """A rich Progress that writes to standard error, with elapsed and remaining time."""
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
    items = list(items) if total is None and not hasattr(items, "__len__") else items
    with progress_bar() as bar:
        task = bar.add_task(description, total=total if total is not None else len(items))
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
