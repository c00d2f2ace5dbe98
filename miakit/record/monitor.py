"""The live terminal view of a recording: each sensor's state, signal level, packet rate and drops.

On a terminal it is a rich ``Live`` table refreshed a few times a second; elsewhere (CI logs, pipes)
it prints one summary line every ``every_s`` seconds, so logs are not flooded. It writes to standard
error: standard output's last line stays the session folder.

Where standard input is a terminal, single key presses mark the recording (:data:`MARKER_KEYS`,
read by :class:`KeyReader`); the view shows the keys under the table.
"""

from __future__ import annotations

import asyncio
import math
import os
import sys
from collections.abc import Callable
from typing import Any

from miakit.record.ble import SensorStats

__all__ = ["MARKER_KEYS", "KeyReader", "interactive", "keys_line", "sensor_table", "summary_line", "run_monitor"]

MARKER_KEYS = {
    "m": "mark start/stop of {exercise}",
    "c": "mark the sync clap now",
    "q": "stop recording",
}
"""Keys read while recording (a terminal on standard input) -> what they do."""


def interactive(stream=None) -> bool:
    """Whether ``stream`` (standard input) is a terminal this process may read: a terminal, and not
    a job in the background of it (reading or changing its mode there would stop the process)."""
    stream = stream if stream is not None else sys.stdin
    try:
        fd = stream.fileno()
    except (AttributeError, ValueError, OSError):
        return False
    if not os.isatty(fd):
        return False
    try:
        return os.tcgetpgrp(fd) == os.getpgrp()
    except OSError:  # not our controlling terminal (a pty handed to us): nobody else reads it
        return True


def keys_line(exercise: str | None) -> str:
    """The marker keys, for the live view: ``keys: [m] mark start/stop of squat  [c] ...``
    (no ``m`` where ``exercise`` is None: a protocol marks its exercises itself)."""
    keys = {k: what for k, what in MARKER_KEYS.items() if exercise is not None or k != "m"}
    return (
        "keys: "
        + "  ".join(f"[{k}] {what.format(exercise=exercise)}" for k, what in keys.items())
        + "  (Ctrl-C stops too)"
    )


class KeyReader:
    """Single key presses from standard input while recording: the terminal in cbreak mode (keys
    arrive unbuffered, Ctrl-C still works), restored on :meth:`close`. ``on_key`` gets each key,
    lower-cased."""

    def __init__(self, on_key: Callable[[str], None], stream=None):
        self.on_key = on_key
        self.stream = stream if stream is not None else sys.stdin
        self._fd: int | None = None
        self._saved: list[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop, *, force: bool = False) -> bool:
        """Start reading on ``loop``; False (nothing done) where standard input is no terminal
        (``force``: read it anyway, without touching the terminal mode)."""
        try:
            fd = self.stream.fileno()
        except (AttributeError, ValueError, OSError):
            return False
        tty_in = interactive(self.stream)
        if not (tty_in or force):
            return False
        if tty_in:
            import termios
            import tty

            self._saved = termios.tcgetattr(fd)
            tty.setcbreak(fd)
        loop.add_reader(fd, self._read)
        self._fd, self._loop = fd, loop
        return True

    def _read(self) -> None:
        assert self._fd is not None and self._loop is not None, "start() registers the reader"
        try:
            data = os.read(self._fd, 64)
        except OSError:
            data = b""
        if not data:  # end of input: stop listening, keep recording
            self._loop.remove_reader(self._fd)
            return
        for key in data.decode("utf-8", "ignore").lower():
            self.on_key(key)

    def close(self) -> None:
        if self._fd is None:
            return
        assert self._loop is not None  # set with _fd
        self._loop.remove_reader(self._fd)
        if self._saved is not None:
            import termios

            termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)
        self._fd = None


def _level_bar(value: float, full_scale: float, width: int = 12) -> str:
    if not math.isfinite(value):
        return " " * width
    filled = int(round(min(max(value / full_scale, 0.0), 1.0) * width))
    return "#" * filled + "." * (width - filled)


def sensor_table(
    stats: list[SensorStats], now: float, *, full_scale: float = 500.0, title: str = "", caption: str = ""
):
    """A rich Table with one row per sensor (``caption`` under it: the marker keys)."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title or None, caption=Text(caption) if caption else None, caption_justify="left", expand=False)
    for column in ("sensor", "muscle", "state", "level", "value", "pkt/s", "packets", "drops", "bad", "disc."):
        table.add_column(column, justify="right" if column not in ("sensor", "muscle", "state", "level") else "left")
    colors = {"streaming": "green", "stalled": "yellow", "reconnecting": "red", "connecting": "cyan"}
    for s in stats:
        state = f"[{colors.get(s.state, 'white')}]{s.state}[/]"
        value = f"{s.last_value:.1f}" if math.isfinite(s.last_value) else "-"
        table.add_row(
            s.sensor,
            s.muscle,
            state,
            _level_bar(s.last_value, full_scale),
            value,
            f"{s.rate_hz(now):.1f}",
            str(s.packets),
            str(s.drops),
            str(s.bad_packets),
            str(s.disconnects),
        )
    return table


def summary_line(stats: list[SensorStats], now: float) -> str:
    """One plain line for logs: time, streaming count, total packets, rate, drops, disconnects."""
    streaming = sum(s.state == "streaming" for s in stats)
    rate = sum(s.rate_hz(now) for s in stats)
    return (
        f"[{now:7.1f} s] {streaming}/{len(stats)} streaming, {sum(s.packets for s in stats)} packets, "
        f"{rate:.0f} pkt/s, {sum(s.drops for s in stats)} dropped, {sum(s.bad_packets for s in stats)} bad, "
        f"{sum(s.disconnects for s in stats)} disconnects"
    )


async def run_monitor(
    stats: Callable[[], list[SensorStats]],
    now: Callable[[], float],
    stop: asyncio.Event,
    *,
    live: bool | None = None,
    every_s: float = 5.0,
    full_scale: float = 500.0,
    title: str = "",
    caption: Callable[[], str] | None = None,
) -> None:
    """Show the view until ``stop`` is set. ``live=None`` picks Live only when stdout is a terminal.
    ``caption`` gives the line under the table (the marker keys and the last marker)."""
    from rich.console import Console

    console = Console(stderr=True)
    if live is None:
        live = sys.stdout.isatty() and console.is_terminal
    if not live:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), every_s)
            except TimeoutError:
                console.print(summary_line(stats(), now()), highlight=False, markup=False)
        return
    from rich.live import Live

    def table():
        return sensor_table(stats(), now(), full_scale=full_scale, title=title, caption=caption() if caption else "")

    with Live(table(), console=console, refresh_per_second=4) as view:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), 0.25)
            except TimeoutError:
                pass
            view.update(table())
