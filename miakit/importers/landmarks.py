"""Marker labels read by anatomy: side + landmark + index, from the vocabulary in ``landmarks.yaml``.

A label such as ``Matt:RKNE``, ``R_THIGH_1``, ``L.Ant.Fem.``, ``BodyL:LateralEpicondyleL``, ``ASISr``,
``r knee`` or ``RKneeJC`` is read in four steps (:func:`parse_label`):

1. **Words**: a prefix before ``:`` (a subject or a segment: ``Matt``, ``BodyL``) is set apart; a model
   tag (``_CGM_2.4`` and its axis letter) is dropped; the rest is split at separators, CamelCase and
   digits (``LateralEpicondyleL`` -> lateral, epicondyle, L; ``MT5`` stays one word where the
   vocabulary knows it, else ``TH1`` is ``TH`` + index 1).
2. **Side**: a word ``R``/``L``/``Right``/``Left``/``Rt``/``Lt``, or an ``R``/``L`` fused before a known
   word (``RASI``) or a lower-case ``r``/``l`` after it (``ASISr``); the prefix's side where the name
   has none (``BodyL:Forehead``).
3. **Landmark**: the vocabulary's entry one of whose phrases the label's words hold, first as written,
   then with each word in its plain form (``lat`` -> lateral, ``fem`` -> femur); the longest phrase
   wins. A label with an index and a segment word (``R_THIGH_1``, ``R.SH1``, ``ArmL:Marker2``) is a
   technical marker of that segment's cluster.
4. A label that matches nothing is *unknown*: reported (:attr:`Landmarks.unknown`), never fatal.

The vocabulary is data (``miakit/importers/landmarks.yaml``, read with :mod:`miakit.safe_yaml`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from miakit.safe_yaml import load_yaml

SIDES = {"r": "R", "right": "R", "rt": "R", "rgt": "R", "l": "L", "left": "L", "lt": "L", "lft": "L"}
"""Words that are a side (lower case)."""
SEGMENT_WORDS = ("thigh", "shank", "arm", "forearm", "foot", "pelvis", "hand")
"""Segment words that make an indexed label a technical (cluster) marker of that segment."""
_MODEL_TAG = re.compile(r"^(.*?)[_ ]?CGM[_ ]?\d+(?:\.\d+)*([OALP]?)$", re.IGNORECASE)
_PARTS = re.compile(r"[A-Z]{2,}[a-z](?![a-z])|[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


@dataclass(frozen=True)
class Label:
    """One label read: ``side`` R, L or '' (midline or unsaid), ``landmark`` a vocabulary name or ''."""

    text: str
    side: str
    landmark: str
    index: int | None = None
    kind: str = ""  # landmark, technical or joint
    segment: str = ""


@dataclass
class Vocabulary:
    words: dict[str, str]  # spelling -> plain word
    entries: dict[str, dict]  # landmark -> {kind, segment, midline, joint, phrases: [tuple of words]}
    known: set[str] = field(default_factory=set)  # every word a phrase or the words table holds


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The shipped vocabulary (``landmarks.yaml``)."""
    from importlib.resources import files

    entry = files("miakit.importers") / "landmarks.yaml"
    doc = load_yaml(entry.read_text(encoding="utf-8"), where="shipped:landmarks.yaml")
    words = {str(s).lower(): str(plain) for plain, spellings in doc["words"].items() for s in spellings}
    words.update({str(plain): str(plain) for plain in doc["words"]})
    entries = {}
    known = set(words)
    for name, spec in doc["landmarks"].items():
        phrases = [tuple(str(p).lower().split()) for p in spec["phrases"]]
        known |= {w for p in phrases for w in p}
        entries[str(name)] = {**spec, "phrases": phrases}
    return Vocabulary(words=words, entries=entries, known=known)


def _split(text: str, known: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """Words of a label part, as written (case kept), digits apart (a part the vocabulary knows whole,
    such as ``P1MT``, ``RP1MT`` or ``RFAradius``, stays one word)."""
    out: list[str] = []
    for chunk in re.split(r"[\s_\-.,;/|()\[\]#]+", text):
        low = chunk.lower()
        if low in known or (low[:1] in "rl" and low[1:] in known and len(low) > 3):  # P1MT, RFAradius
            out.append(chunk)
        else:
            out += _PARTS.findall(chunk)
    return out


def _read_words(parts: list[str], vocab: Vocabulary) -> tuple[list[str], str, int | None]:
    """(words lower case without side and index, side, index) of a list of written words."""
    words: list[str] = []
    side, index = "", None
    i = 0
    while i < len(parts):
        w = parts[i]
        low = w.lower()
        nxt = parts[i + 1] if i + 1 < len(parts) else ""
        if nxt.isdigit() and not low.isdigit():  # MT5, C7, WAND1: one word where the vocabulary knows it
            joined = low + nxt
            if joined in vocab.known:
                words.append(joined)
                i += 2
                continue
            if low[0] in "rl" and joined[1:] in vocab.known and len(joined) > 2 and w[0].isupper() == w.isupper():
                side = side or low[0].upper()
                words.append(joined[1:])
                i += 2
                continue
        if low in SIDES:
            side = side or SIDES[low]
        elif low.isdigit():
            index = int(low)
        elif low in vocab.known:
            words.append(low)
        elif low[:1] in "rl" and low[1:] in vocab.known and len(low) > 3 and w[0].isupper():
            side = side or low[0].upper()  # RP1MT, RFAradius
            words.append(low[1:])
        elif len(low) > 2 and low[0] in "rl" and low[1:] in vocab.known and (w.isupper() or w.islower()):
            side = side or low[0].upper()  # RASI, rknee
            words.append(low[1:])
        elif (
            len(low) > 2
            and low[-1] in "rl"
            and low[:-1] in vocab.known
            and w[:-1].isupper()
            and (w[-1].islower() or low[0] not in "rl")  # LFEL: Plug-in Gait's femur axis point, not L + FE + L
        ):
            side = side or low[-1].upper()  # ASISr, ASISL
            words.append(low[:-1])
        else:
            words.append(low)  # unknown: kept, so that a phrase cannot match across it by accident
        i += 1
    return words, side, index


def _best(words: list[str], vocab: Vocabulary) -> tuple[str, int]:
    """The landmark whose longest phrase the words hold (as written, then plain), and its length."""
    best, size = "", 0
    for plain in (False, True):
        have = {vocab.words.get(w, w) for w in words} if plain else set(words)
        for name, spec in vocab.entries.items():
            for phrase in spec["phrases"]:
                wanted = {vocab.words.get(w, w) for w in phrase} if plain and len(phrase) > 1 else set(phrase)
                if len(phrase) > size and wanted <= have:
                    best, size = name, len(phrase)
    return best, size


def parse_label(label: str) -> Label:
    """A label read as side + landmark + index (see the module's docstring); landmark '' if unknown."""
    vocab = vocabulary()
    text = str(label).strip()
    prefix, _, name = text.rpartition(":")
    m = _MODEL_TAG.match(name)
    if m:  # LFEMUR_CGM_2.4O: the femur's origin; axis points (A, L, P) are not joints
        if m.group(2).upper() in ("A", "L", "P"):
            return Label(text, "", "")
        name = m.group(1) + ("Origin" if m.group(2) else "")
    words, side, index = _read_words(_split(name, vocab.known), vocab)
    pwords, pside, _ = _read_words(_split(prefix, vocab.known), vocab) if prefix else ([], "", None)
    plain = {vocab.words.get(w, w) for w in words}
    landmark, _ = _best(words, vocab)
    segment_words = [s for s in SEGMENT_WORDS if s in plain]
    if index is not None and segment_words and vocab.entries.get(landmark, {}).get("kind") != "joint":
        landmark = f"{segment_words[0]}_cluster" if f"{segment_words[0]}_cluster" in vocab.entries else landmark
    if not landmark and "cluster" in plain:  # ArmL:Marker1: the prefix names the segment
        pplain = [vocab.words.get(w, w) for w in pwords]
        seg = next((s for s in SEGMENT_WORDS if s in pplain), "")
        landmark = f"{seg}_cluster" if f"{seg}_cluster" in vocab.entries else ""
    if not landmark:
        return Label(text, side or pside, "", index)
    spec = vocab.entries[landmark]
    side = side or pside
    if spec.get("midline"):
        side = side if side and landmark == "sacrum" else ""
    return Label(
        text, side, landmark, index, kind=str(spec.get("kind", "landmark")), segment=str(spec.get("segment", ""))
    )


@dataclass
class Landmarks:
    """A trial's markers by anatomy: ``points[(side, landmark)]`` -> list of (label, (frames, 3) mm)."""

    points: dict[tuple[str, str], list[tuple[str, np.ndarray]]]
    labels: dict[str, Label]  # every label read
    unknown: list[str]  # labels that name no landmark
    repeated: dict[str, str] = field(default_factory=dict)  # a repeated label's copy -> what it was taken as

    def get(self, side: str, landmark: str) -> np.ndarray | None:
        """The point of a landmark (the label with the most samples where several name it), or None."""
        found = self.points.get((side, landmark))
        if not found:
            return None
        return max(found, key=lambda item: int(np.isfinite(item[1][:, 0]).sum()))[1]

    def label_of(self, side: str, landmark: str) -> str:
        found = self.points.get((side, landmark))
        if not found:
            return ""
        return max(found, key=lambda item: int(np.isfinite(item[1][:, 0]).sum()))[0]

    def technical(self, side: str, segment: str) -> list[tuple[str, np.ndarray]]:
        """Every marker (technical or landmark) moving with ``segment`` on ``side``."""
        out = []
        for (s, name), items in self.points.items():
            spec = vocabulary().entries.get(name, {})
            if spec.get("segment") == segment and (s == side or (segment in ("pelvis", "thorax", "head"))):
                out += items
        return out


def read_landmarks(markers: dict[str, np.ndarray]) -> Landmarks:
    """Every label of ``markers`` (label -> (frames, 3) mm, NaN gaps) read by :func:`parse_label`."""
    points: dict[tuple[str, str], list[tuple[str, np.ndarray]]] = {}
    labels: dict[str, Label] = {}
    unknown: list[str] = []
    for label, xyz in markers.items():
        lab = parse_label(label.split("#", 1)[0])
        labels[label] = lab
        if not lab.landmark:
            unknown.append(label)
            continue
        points.setdefault((lab.side, lab.landmark), []).append((label, xyz))
    return Landmarks(points=points, labels=labels, unknown=unknown)
