"""The live terminal view of a recording: each sensor's state, signal level, packet rate and drops.

On a terminal it is a rich ``Live`` table refreshed a few times a second; elsewhere (CI logs, pipes)
it prints one summary line every ``every_s`` seconds, so logs are not flooded. It writes to standard
error: standard output's last line stays the session folder.
"""

from __future__ import annotations

import asyncio
import math
import sys
from typing import Callable

from miakit.record.ble import SensorStats

__all__ = ["sensor_table", "summary_line", "run_monitor"]


def _level_bar(value: float, full_scale: float, width: int = 12) -> str:
    if not math.isfinite(value):
        return " " * width
    filled = int(round(min(max(value / full_scale, 0.0), 1.0) * width))
    return "#" * filled + "." * (width - filled)


def sensor_table(stats: list[SensorStats], now: float, *, full_scale: float = 500.0, title: str = ""):
    """A rich Table with one row per sensor."""
    from rich.table import Table

    table = Table(title=title or None, expand=False)
    for column in ("sensor", "muscle", "state", "level", "value", "pkt/s", "packets", "drops", "bad", "disc."):
        table.add_column(column, justify="right" if column not in ("sensor", "muscle", "state", "level") else "left")
    colors = {"streaming": "green", "stalled": "yellow", "reconnecting": "red", "connecting": "cyan"}
    for s in stats:
        state = f"[{colors.get(s.state, 'white')}]{s.state}[/]"
        value = f"{s.last_value:.1f}" if math.isfinite(s.last_value) else "-"
        table.add_row(
            s.sensor, s.muscle, state, _level_bar(s.last_value, full_scale), value,
            f"{s.rate_hz(now):.1f}", str(s.packets), str(s.drops), str(s.bad_packets), str(s.disconnects),
        )  # fmt: skip
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
) -> None:
    """Show the view until ``stop`` is set. ``live=None`` picks Live only when stdout is a terminal."""
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

    with Live(sensor_table(stats(), now(), full_scale=full_scale, title=title), console=console, refresh_per_second=4) as view:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), 0.25)
            except TimeoutError:
                pass
            view.update(sensor_table(stats(), now(), full_scale=full_scale, title=title))
