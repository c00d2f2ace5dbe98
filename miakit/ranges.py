"""The one check of a number given on the command line or in a setting: finite, in its range.

``in_range("--max-lag-s", value, 0, 10)`` returns ``value`` or raises the usual one line,
``--max-lag-s: expected a finite number from 0 to 10, found nan``. Typer's ``min=``/``max=`` let
NaN through (every comparison with NaN is false) and say nothing of infinity; every number option
of a command that writes goes through here, and :class:`miakit.learn.config.TrainConfig` checks
its settings with the same function.
"""

from __future__ import annotations

import math

from miakit.errors import InputError


def in_range(
    name: str,
    value: float,
    low: float | None = None,
    high: float | None = None,
    *,
    above: bool = False,
    where: str | None = None,
    why: str = "",
) -> float:
    """``value`` if it is a finite number from ``low`` to ``high`` (either may be None: unbounded;
    ``above``: strictly greater than ``low``); else InputError at ``where`` (default: ``name``
    itself, an option) with ``field=name`` when ``where`` is given."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if above else value >= low
    if ok and high is not None:
        ok = value <= high
    if ok:
        return value
    if low is not None and high is not None:
        span = f"above {_fmt(low)} and at most {_fmt(high)}" if above else f"from {_fmt(low)} to {_fmt(high)}"
    elif low is not None:
        span = f"above {_fmt(low)}" if above else f"at least {_fmt(low)}"
    elif high is not None:
        span = f"at most {_fmt(high)}"
    else:
        span = ""
    expected = f"a finite number {span}".rstrip() + (f" ({why})" if why else "")
    if where is None:
        raise InputError(name, expected=expected, found=value)
    raise InputError(where, field=name, expected=expected, found=value)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e12 else f"{x:g}"
