"""Gait event labels to miakit's event kinds, by the table ``miakit/importers/gait-events.yaml``.

Labs name the two events of a gait cycle many ways (``Foot Strike`` with the context ``Right``,
``Right Heel Strike``, ``RHS``, ``Initial Contact``, ``LTO``); :func:`event_kind` reads one label and
its context and says which kind (``foot_strike``, ``foot_off``, else the label in snake_case) and
which side (``right``, ``left`` or ``""``).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from miakit.safe_yaml import load_yaml


@lru_cache(maxsize=1)
def event_table() -> dict:
    """The shipped table, parsed (:func:`miakit.safe_yaml.load_yaml`)."""
    from importlib.resources import files

    return load_yaml((files("miakit.importers") / "gait-events.yaml").read_bytes(), where="gait-events.yaml")


def _words(text: str) -> list[str]:
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", str(text))
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]+", " ", text.lower()).split()


def _find(phrase: list[str], words: list[str]) -> int:
    for i in range(len(words) - len(phrase) + 1):
        if words[i : i + len(phrase)] == phrase:
            return i
    return -1


def event_kind(label: str, context: str = "") -> tuple[str, str]:
    """``(kind, side)`` of a gait event called ``label`` with the context ``context``."""
    table = event_table()
    sides = {w: side for side, ws in table["side_words"].items() for w in ws}
    words = _words(label)
    kind, rest, side = None, words, None
    best = 0
    for name, spec in table["kinds"].items():
        for phrase in spec["phrases"]:
            p = _words(phrase)
            at = _find(p, words)
            if at >= 0 and len(p) > best:
                kind, rest, best = name, words[:at] + words[at + len(p) :], len(p)
    if kind is None:  # a short form, alone or after a one-letter side prefix (RHS)
        for i, word in enumerate(words):
            token = word.upper()
            for name, spec in table["kinds"].items():
                short = {str(s).upper() for s in spec["short"]}
                if token in short or (len(token) > 2 and token[0] in "RL" and token[1:] in short):
                    kind, rest = name, words[:i] + words[i + 1 :]
                    side = None if token in short else "right" if token[0] == "R" else "left"
                    break
            if kind is not None:
                break
    if kind is None:
        return "_".join(words), _side(words, sides) or _side(_words(context), sides) or ""
    side = side or _side(rest, sides) or _side(_words(context), sides) or ""
    return kind, side


def _side(words: list[str], sides: dict) -> str | None:
    found = {sides[w] for w in words if w in sides}
    return next(iter(found)) if len(found) == 1 else None
