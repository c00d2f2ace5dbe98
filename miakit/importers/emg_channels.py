"""EMG channel labels to miakit's muscles, by the table ``miakit/importers/emg-channels.yaml``.

The table is data: muscle groups with their names (several languages) and abbreviations, names that
are other muscles, side words, and words that only name the hardware. :func:`match_channel` reads one
label (``Voltage.RVL``, ``Biceps.EMG4``, ``R Vastus Medialis``, ``droit fémoral gauche``) and says which
muscle it is, or why it is none.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class ChannelMatch:
    """What a channel label means: a muscle (``muscle`` set), or why not (``reason``)."""

    label: str
    group: str | None = None  # quad, hamstring, bicep, tricep
    side: str | None = None  # right, left, or None where the label does not say
    muscle: str | None = None  # the miakit muscle name, once the side is known
    reason: str = ""


@lru_cache(maxsize=1)
def channel_table() -> dict:
    """The shipped table, parsed (:func:`miakit.safe_yaml.load_yaml`)."""
    from importlib.resources import files

    from miakit.safe_yaml import load_yaml

    return load_yaml((files("miakit.importers") / "emg-channels.yaml").read_bytes(), where="emg-channels.yaml")


def _plain(text: str) -> str:
    """No accents, camelCase split, lower case, only letters and single spaces."""
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", str(text))
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z]+", " ", text.lower()).split())


def _find(phrase: str, tokens: list[str]) -> int:
    """Where ``phrase`` (words) starts in ``tokens``, or -1."""
    words = phrase.split()
    for i in range(len(tokens) - len(words) + 1):
        if tokens[i : i + len(words)] == words:
            return i
    return -1


def match_channel(label: str, *, side: str | None = None) -> ChannelMatch:
    """The muscle an EMG channel ``label`` records; ``side`` ("right"/"left") for labels without one."""
    table = channel_table()
    hardware = {_plain(w) for w in table["hardware_words"]}
    parts = [_plain(p) for p in str(label).split(".")]
    parts = [p for p in parts if p and p not in hardware]
    tokens = " ".join(parts).split()
    if not tokens:
        return ChannelMatch(label, reason="names no muscle (only the hardware)")
    best: tuple[int, str | None, str] | None = None  # (words, group or None for ignore, phrase)
    for group, spec in table["groups"].items():
        for name in spec["names"]:
            if _find(_plain(name), tokens) >= 0 and (best is None or len(_plain(name).split()) > best[0]):
                best = (len(_plain(name).split()), group, _plain(name))
    for name in table.get("ignore", []):
        if _find(_plain(name), tokens) >= 0 and (best is None or len(_plain(name).split()) >= best[0]):
            best = (len(_plain(name).split()), None, _plain(name))
    group: str | None = None
    glued_side: str | None = None
    if best is not None:
        if best[1] is None:
            return ChannelMatch(label, reason=f"{best[2]!r} is not one of the 8 muscles")
        group = best[1]
        at = _find(best[2], tokens)
        rest = tokens[:at] + tokens[at + len(best[2].split()) :]
    else:
        rest = list(tokens)
        for i, token in enumerate(tokens):
            found = _abbreviation(token, table)
            if found:
                group, glued_side = found
                rest = tokens[:i] + tokens[i + 1 :]
                break
        if group is None:
            return ChannelMatch(label, reason="not a muscle the channel table knows")
    words = {w: s for s, ws in table["side_words"].items() for w in ws}
    sides = {words[t] for t in rest if t in words} | ({glued_side} if glued_side else set())
    if len(sides) > 1:
        return ChannelMatch(label, group=group, reason="names both sides")
    found_side = next(iter(sides), None) or side
    if found_side is None:
        return ChannelMatch(label, group=group, reason="does not say the side (pass --side right or --side left)")
    return ChannelMatch(label, group=group, side=found_side, muscle=table["groups"][group]["muscles"][found_side])


def _abbreviation(token: str, table: dict) -> tuple[str, str | None] | None:
    """``(group, side)`` of an abbreviation token, whole (``vl``) or after a side letter (``rvl``)."""
    token = token.upper()
    for group, spec in table["groups"].items():
        if token in spec["abbreviations"]:
            return group, None
    if len(token) > 2 and token[0] in "RL":
        for group, spec in table["groups"].items():
            if token[1:] in spec["abbreviations"]:
                return group, "right" if token[0] == "R" else "left"
    return None
