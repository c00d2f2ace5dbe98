"""EMG channel labels to miakit's muscles, by the table ``miakit/importers/emg-channels.yaml``.

The table is data: muscle groups with their names (several languages) and abbreviations, names that
are other muscles, side words, and words that only name the hardware. :func:`match_channel` reads one
label (``Voltage.RVL``, ``Biceps.EMG4``, ``R Vastus Medialis``, ``droit fémoral gauche``) and says which
muscle it is, or why it is none. Channels named only by the hardware (``EMG1``) take the user's map
(``--channel EMG1=RightQuad``, :func:`parse_channel_map`, :func:`resolve_channel_map`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from miakit.errors import InputError
from miakit.layout import MUSCLES
from miakit.safe_yaml import load_yaml


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
    tokens = [t for t in " ".join(parts).split() if t not in hardware]
    if not tokens:
        return ChannelMatch(label, reason="names no muscle (only the hardware)")
    best: tuple[int, str | None, str] | None = None  # (words, group or None for ignore, phrase)
    for name_group, spec in table["groups"].items():
        for name in spec["names"]:
            if _find(_plain(name), tokens) >= 0 and (best is None or len(_plain(name).split()) > best[0]):
                best = (len(_plain(name).split()), name_group, _plain(name))
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
            other = {_plain(n) for n in table.get("ignore", []) if " " not in _plain(n)}
            for token in tokens:  # another muscle's abbreviation, glued to a side letter (RTA, LSOL)
                if len(token) > 2 and token[0] in "rl" and token[1:] in other:
                    return ChannelMatch(label, reason=f"{token[1:]!r} is not one of the 8 muscles")
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


def parse_channel_map(values: list[str]) -> dict[str, str | None]:
    """The user's ``--channel`` values: ``LABEL=MUSCLE`` pairs, or YAML files (``.yaml``/``.yml``)
    of ``LABEL: MUSCLE``. MUSCLE is one of the 8 muscles (``RightQuad``), a name the channel table
    reads with its side (``right vastus lateralis``), or ``-`` to leave the channel out."""
    from pathlib import Path

    pairs: list[tuple[str, str, str]] = []  # (label, muscle text, where)
    for value in values:
        text = str(value).strip()
        if "=" not in text and text.lower().endswith((".yaml", ".yml")):
            from miakit.safe_yaml import read_yaml

            doc = read_yaml(Path(text))
            if not isinstance(doc, dict) or not doc:
                raise InputError(text, "not a channel map", expected="LABEL: MUSCLE pairs", found=type(doc).__name__)
            pairs += [(str(k), str(v), text) for k, v in doc.items()]
        elif "=" in text:
            label, _, muscle = text.partition("=")
            pairs.append((label.strip(), muscle.strip(), "--channel"))
        else:
            raise InputError(
                "--channel",
                "not a channel map",
                expected="LABEL=MUSCLE (e.g. EMG1=RightQuad) or a YAML file",
                found=text,
            )
    out: dict[str, str | None] = {}
    by_name = {m.lower(): m for m in MUSCLES}
    for label, muscle, where in pairs:
        if not label:
            raise InputError(where, "a channel map entry without a label", found=f"={muscle}")
        if muscle.lower() in ("-", "none", "ignore", ""):
            out[label] = None
        elif muscle.lower() in by_name:
            out[label] = by_name[muscle.lower()]
        else:
            m = match_channel(muscle)
            if m.muscle is None:
                raise InputError(
                    where,
                    "unknown muscle",
                    field=label,
                    expected=f"one of {', '.join(MUSCLES)}, a muscle name with its side, or -",
                    found=muscle,
                )
            out[label] = m.muscle
    return out


def resolve_channel_map(user: dict[str, str | None], labels: list[str], where) -> dict[str, str | None]:
    """The user's map with each key matched to one of a file's channel ``labels``: the label itself,
    else the label in any case, else the part after its last ``.`` (``EMG1`` for ``Voltage.EMG1``)."""

    out: dict[str, str | None] = {}
    for key, muscle in user.items():
        k = key.strip().lower()
        hits = (
            [x for x in labels if x == key]
            or [x for x in labels if x.strip().lower() == k]
            or [x for x in labels if x.rsplit(".", 1)[-1].strip().lower() == k]
        )
        if len(hits) != 1:
            shown = ", ".join(labels[:12]) + (f" and {len(labels) - 12} more" if len(labels) > 12 else "")
            problem = "no such EMG channel" if not hits else "names several channels"
            raise InputError(
                where,
                problem,
                field=f"--channel {key}",
                expected=f"one of {shown}",
                found=key if not hits else ", ".join(hits),
            )
        out[hits[0]] = muscle
    return out
