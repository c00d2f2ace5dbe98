"""Marker sets: declarative mappings from motion-capture markers to BODY_25 joint centres.

A mapping is data (YAML, read with :func:`miakit.safe_yaml.load_yaml`): it names markers and formulas from the fixed
vocabulary below, never code. The shipped mappings live in ``miakit/importers/markersets/``
(:func:`shipped_mappings`); a user's own file is loaded the same way (:func:`load_mapping`).

A mapping file::

    name: plug-in-gait
    description: ...
    parameters:            # subject parameters (mm) read from the file where present, else the default
      RKneeWidth: 100
    facing: {front: [RASI, LASI], back: [[SACR], [RPSI, LPSI]]}   # pelvis markers (alternatives)
    joints:                # in order; a formula may use the joints listed before it
      RHip:                # a list of alternatives: the first whose inputs the file has; frames it
        - harrington: {rasi: RASI, lasi: LASI, back: [SACR], side: right}   # leaves empty are
        - harrington: {rasi: RASI, lasi: LASI, back: [RPSI, LPSI], side: right}  # taken from the next
      RKnee:
        - midpoint: [RKNE, RKNM]
        - chord: {lateral: RKNE, proximal: RHip, plane: RTHI, distance: {parameter: RKneeWidth, scale: 0.5, add: 7}}

The vocabulary (all positions in millimetres, in the lab's frame):

- ``marker: A``: the marker itself.
- ``midpoint: [A, B, ...]``: the mean of the points.
- ``weighted: {A: wa, B: wb, ...}``: the affine combination ``sum(w * point)``; the weights must sum to 1.
- ``offset: {from: A, along: [P, Q], distance: D}``: ``A + D * unit(Q - P)`` (``P`` and ``Q`` may
  each be a list of points: their mean).
- ``normal: {from: A, plane: [P, Q], distance: D}``: ``A + D * unit((P - A) x (Q - A))``, along the
  normal of the plane through ``A``, ``P`` and ``Q`` (right-handed; swap ``P`` and ``Q`` for the other
  side; ``A`` may be a list of points: their mean). The wrist: from the wrist bar's midpoint, the
  normal of the plane of the bar and the elbow marker, half the wrist's width plus a marker's radius
  (Plug-in Gait's wrist joint centre). The elbow: from the lateral epicondyle marker along the
  flexion axis, the normal of the
  shoulder-elbow-wrist plane (undefined with the arm straight: those frames fall to the next
  alternative).
- ``chord: {lateral: L, proximal: P, plane: W, distance: D, side: away|toward}``: the point ``J`` at
  distance ``D`` from the lateral marker ``L`` with the angle ``P-J-L`` a right angle, in the plane of
  ``P``, ``W`` and ``L``, on the side of the line ``P-L`` away from (or toward) ``W``. This is Plug-in
  Gait's chord function (knee: hip centre, thigh wand, knee marker; ankle: knee centre, tibia wand,
  ankle marker).
- ``harrington: {rasi: A, lasi: B, back: [C, ...], side: right|left}``: the hip joint centre by the
  regression of Harrington et al. (2007, J Biomech 40:595), from the two ASIS and the mean of the
  ``back`` markers (sacrum, or both PSIS): in the pelvis frame (origin mid-ASIS; z from left to right
  ASIS; x anterior, perpendicular to z in the plane of the ASIS and the back point; y up) the centre
  is at x = -0.24 PD - 9.9, y = -0.30 PW - 10.9, z = +-(0.33 PW + 7.3) mm, with PW the inter-ASIS
  width and PD the depth from mid-ASIS to the back point.

A distance ``D`` is a number (mm) or ``{parameter: NAME, scale: s, add: a}``: ``s * value + a`` with the
value read from the file's subject parameters (a missing or zero value takes the mapping's stated
default in ``parameters``). A name in a formula is a joint already computed when it is a BODY_25 name,
else a marker, matched after :func:`normalize_label`.

Other spellings of one marker set (Motion Analysis Cortex's ``R.ASIS`` for Vicon's ``RASI``) need no
second copy of the formulas. Three optional keys:

- ``extends: NAME``: start from the shipped mapping ``NAME`` (its parameters, facing and joints);
  the file's own ``joints`` replace that mapping's entries for those joints, its ``parameters`` add to
  them.
- ``aliases: {RASI: [R.ASIS, RASIS], ...}``: where a file lacks a marker, the first of its other
  labels that the file has stands in for it.
- ``label_prefixes: [Q_]``: prefixes the set's labels carry (Qualisys' ``Q_WaistRFront``), dropped
  where what remains is a marker the mapping names.

And one for gaps: ``clusters: [[RASI, LASI, SACR, RPSI, LPSI], ...]``, markers fixed to one rigid
segment. A marker's gap (up to :data:`miakit.importers.lab.RIGID_MAX_GAP_S`) is filled from the
others of its cluster seen in the same frames (at least two), moved as they moved since the last
frame, and until the next, where all were seen (:func:`miakit.importers.lab.fill_from_clusters`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from miakit.errors import InputError
from miakit.layout import BODY_25
from miakit.safe_yaml import load_yaml, read_capped

FORMULAS = ("marker", "midpoint", "weighted", "offset", "normal", "chord", "harrington")
"""The formula vocabulary a mapping may use."""
STRAIGHT_SINE = 0.1
"""``normal``: points closer to a line than this sine of their angle (about 6 degrees) span no plane."""


@dataclass(frozen=True)
class Mapping:
    """A loaded marker-set mapping."""

    name: str
    description: str
    parameters: dict
    facing: dict
    joints: dict  # BODY_25 name -> list of {formula: args}
    source: str  # where it came from: "shipped:NAME" or a path
    sha256: str
    aliases: dict = field(default_factory=dict)  # normalized marker -> normalized labels that stand in for it, in order
    label_prefixes: tuple = ()  # normalized prefixes the set's labels carry
    extends: str | None = None  # the shipped mapping it starts from
    clusters: tuple = ()  # tuples of normalized markers fixed to one rigid segment

    def markers(self) -> set[str]:
        """Every (normalized) marker name the mapping mentions."""
        names: set[str] = set()
        for alternatives in self.joints.values():
            for alt in alternatives:
                names |= {n for n in _names(alt) if n not in BODY_25}
        return {normalize_label(n) for n in names}

    def relabel(self, markers: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], dict[str, str]]:
        """A file's (normalized) markers as this mapping names them: prefixes dropped and aliases
        standing in (:data:`Mapping.aliases`), and ``{marker: the file's label}`` for each that did."""
        names = self.markers()
        out = dict(markers)
        used: dict[str, str] = {}
        for label in markers:
            for prefix in self.label_prefixes:
                bare = label[len(prefix) :]
                if label.startswith(prefix) and bare in names and bare not in out:
                    out[bare] = markers[label]
                    used[bare] = label
        for name, others in self.aliases.items():
            if name not in out:
                found = next((o for o in others if o in markers), None)
                if found is not None:
                    out[name] = markers[found]
                    used[name] = found
        return out, used


@dataclass
class JointCentres:
    """Joint centres computed from a trial's markers: (frames, 25, 3) mm, NaN where unknown."""

    xyz: np.ndarray
    used: dict = field(default_factory=dict)  # joint -> the formula that gave its first frames, as text
    aliases: dict = field(default_factory=dict)  # marker -> the file's label that stood in for it
    filled: dict = field(default_factory=dict)  # marker -> samples filled from its rigid cluster
    rules: dict = field(
        default_factory=dict
    )  # joint -> {rule, formula, markers, error_mm, frames} (what --inspect prints)
    missing: dict = field(default_factory=dict)  # joint -> why no rule could give it
    unknown: list = field(default_factory=list)  # labels that name no landmark (the anatomy path)
    source: str = ""  # "anatomy" or the mapping's name


FORMULA_ERROR_MM = {
    "marker": 20.0,
    "midpoint": 8.0,
    "weighted": 30.0,
    "offset": 20.0,
    "normal": 15.0,
    "chord": 15.0,
    "harrington": 15.0,
}
"""A mapping formula's estimated error (mm): as :data:`miakit.importers.joint_centres.RULE_ERROR_MM`
states for the same kinds of rule."""


def normalize_label(label: str) -> str:
    """A marker label as mappings match it: no subject prefix (``Subject:LASI``), no spaces, ``_``,
    ``-`` or ``.`` (``R.ASIS`` is ``RASIS``), upper case."""
    text = str(label).strip()
    if ":" in text:
        text = text.rsplit(":", 1)[1]
    return re.sub(r"[\s_\-.]+", "", text).upper()


def shipped_mappings() -> list[Mapping]:
    """The mappings miakit ships (``miakit/importers/markersets/*.yaml``), in name order."""
    from importlib.resources import files

    folder = files("miakit.importers") / "markersets"
    out = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith((".yaml", ".yml")):
            out.append(_parse(entry.read_text(encoding="utf-8"), f"shipped:{entry.name}"))
    return out


def _shipped_text(name: str, where: str) -> tuple[str, str]:
    """The text and source of the shipped mapping called ``name`` (for ``extends``)."""
    from importlib.resources import files

    folder = files("miakit.importers") / "markersets"
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith((".yaml", ".yml")):
            text = entry.read_text(encoding="utf-8")
            doc = load_yaml(text, where=f"shipped:{entry.name}")
            if isinstance(doc, dict) and doc.get("name", entry.name.rsplit(".", 1)[0]) == name:
                return text, f"shipped:{entry.name}"
    raise InputError(
        where,
        "extends a mapping miakit does not ship",
        field="extends",
        expected="the name of a file in miakit/importers/markersets",
        found=name,
    )


def load_mapping(path: str | Path) -> Mapping:
    """A user's own mapping file (same format as the shipped ones)."""

    path = Path(path)
    return _parse(read_capped(path), str(path))


def _parse(text: str | bytes, where: str, _seen: tuple = ()) -> Mapping:
    import hashlib

    doc = load_yaml(text, where=where)
    base = None
    if isinstance(doc, dict) and doc.get("extends") is not None:
        name = str(doc["extends"])
        if name in _seen:
            raise InputError(
                where, "mappings extend each other in a circle", field="extends", found=" -> ".join((*_seen, name))
            )
        base = _parse(*_shipped_text(name, where), _seen=(*_seen, name))
    if not isinstance(doc, dict) or not isinstance(doc.get("joints", {} if base else None), dict):
        raise InputError(
            where,
            "not a marker-set mapping",
            field="joints",
            expected="a mapping of BODY_25 joint -> formulas",
            found=type(doc).__name__,
        )
    joints: dict[str, list] = {}
    own = doc.get("joints") or {}
    if base is not None:  # the base's joints, in its order, each replaced where the file gives it
        joints = {j: own.get(j, alts) for j, alts in base.joints.items()}
        own = {j: a for j, a in own.items() if j not in base.joints}
        doc = {**doc, "joints": {**joints, **own}}
        joints = {}
    for joint, alternatives in doc["joints"].items():
        if joint not in BODY_25:
            raise InputError(where, "unknown joint", field=f"joints.{joint}", expected="a BODY_25 name", found=joint)
        alternatives = alternatives if isinstance(alternatives, list) else [alternatives]
        for alt in alternatives:
            if not isinstance(alt, dict) or len(alt) != 1 or next(iter(alt)) not in FORMULAS:
                raise InputError(
                    where,
                    "unknown formula",
                    field=f"joints.{joint}",
                    expected=f"one of {', '.join(FORMULAS)}",
                    found=alt,
                )
            for name in _names(alt):
                if name in BODY_25 and name not in joints:
                    raise InputError(
                        where,
                        "a joint used before it is defined",
                        field=f"joints.{joint}",
                        expected="joints listed earlier",
                        found=name,
                    )
        joints[joint] = alternatives
    aliases = {
        normalize_label(k): [normalize_label(x) for x in (v if isinstance(v, list) else [v])]
        for k, v in (doc.get("aliases") or {}).items()
    }
    if not isinstance(doc.get("clusters") or [], list) or not all(
        isinstance(c, list) for c in doc.get("clusters") or []
    ):
        raise InputError(
            where,
            "not a marker-set mapping",
            field="clusters",
            expected="a list of lists of markers",
            found=doc.get("clusters"),
        )
    if not isinstance(doc.get("aliases") or {}, dict) or not isinstance(doc.get("label_prefixes") or [], list):
        raise InputError(
            where,
            "not a marker-set mapping",
            field="aliases",
            expected="aliases: {MARKER: [labels]}, label_prefixes: [prefixes]",
            found=doc.get("aliases"),
        )
    digest = hashlib.sha256(text if isinstance(text, bytes) else text.encode())
    if base is not None:
        digest.update(base.sha256.encode())
    return Mapping(
        name=str(doc.get("name", Path(where).stem)),
        description=str(doc.get("description", "")),
        parameters={**(base.parameters if base else {}), **dict(doc.get("parameters") or {})},
        facing=dict(doc.get("facing") or (base.facing if base else {})),
        joints=joints,
        source=where,
        sha256=digest.hexdigest(),
        aliases={**(base.aliases if base else {}), **aliases},
        label_prefixes=tuple(normalize_label(x) for x in (doc.get("label_prefixes") or []))
        + (base.label_prefixes if base else ()),
        extends=base.name if base else None,
        clusters=(base.clusters if base else ())
        + tuple(tuple(normalize_label(x) for x in c) for c in (doc.get("clusters") or [])),
    )


def _names(alt: dict) -> list[str]:
    """The point names a formula reads."""
    ((kind, args),) = alt.items()
    if kind == "marker":
        return [args]
    if kind == "midpoint":
        return list(args)
    if kind == "weighted":
        return list(args)
    if kind == "offset":
        return [args["from"], *_flat(args["along"][0]), *_flat(args["along"][1])]
    if kind == "normal":
        return [*_flat(args["from"]), *args["plane"]]
    if kind == "chord":
        return [args["lateral"], args["proximal"], args["plane"]]
    if kind == "harrington":
        return [args["rasi"], args["lasi"], *args["back"]]
    raise AssertionError(kind)


def _flat(item) -> list[str]:
    return list(item) if isinstance(item, list) else [item]


# -- computing ------------------------------------------------------------------------------------


def resolvable(mapping: Mapping, markers: dict[str, np.ndarray]) -> list[str]:
    """The joints of ``mapping`` that some alternative can compute from these (normalized) markers."""
    have = set(markers)
    done: list[str] = []
    for joint, alternatives in mapping.joints.items():
        for alt in alternatives:
            if all((n in done) if n in BODY_25 else (normalize_label(n) in have) for n in _names(alt)):
                done.append(joint)
                break
    return done


def compute_joints(
    mapping: Mapping, markers: dict[str, np.ndarray], parameters: dict[str, float], n_frames: int
) -> JointCentres:
    """BODY_25 joint centres (frames, 25, 3) from normalized ``markers`` (label -> (frames, 3) mm).

    A frame of a joint is NaN where none of its alternatives has all its inputs there.
    """
    xyz = np.full((n_frames, len(BODY_25), 3), np.nan)
    joints: dict[str, np.ndarray] = {}
    used: dict[str, str] = {}
    rules: dict[str, dict] = {}
    for joint, alternatives in mapping.joints.items():
        out = np.full((n_frames, 3), np.nan)
        for alt in alternatives:
            try:
                value = _evaluate(alt, lambda n: _point(n, joints, markers), mapping, parameters)
            except KeyError:
                continue  # an input the file does not have
            empty = np.isnan(out).any(axis=1)
            if joint not in used and np.isfinite(value).all(axis=1).any():
                used[joint] = _describe(alt)
                ((kind, _),) = alt.items()
                rules[joint] = {
                    "rule": kind,
                    "formula": _describe(alt),
                    "markers": [n for n in _names(alt) if n not in BODY_25],
                    "error_mm": FORMULA_ERROR_MM[kind],
                    "frames": 0,
                }
            out[empty] = value[empty]
        if np.isfinite(out).any():
            joints[joint] = out
            xyz[:, BODY_25.index(joint)] = out
            if joint in rules:
                rules[joint]["frames"] = int(np.isfinite(out).all(axis=1).sum())
    missing = {j: "no formula of the mapping has its markers" for j in BODY_25 if j not in used}
    return JointCentres(xyz=xyz, used=used, rules=rules, missing=missing, source=mapping.name)


def _point(name: str, joints: dict, markers: dict) -> np.ndarray:
    if name in BODY_25:
        return joints[name]
    return markers[normalize_label(name)]


def _mean(names, get) -> np.ndarray:
    return np.mean([get(n) for n in _flat(names)], axis=0)


def _unit(v: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return v / np.linalg.norm(v, axis=-1, keepdims=True)


def distance_mm(spec, mapping: Mapping, parameters: dict[str, float]) -> float:
    """A distance of a formula, in mm (see the module's docstring)."""
    if isinstance(spec, (int, float)):
        return float(spec)
    name = spec["parameter"]
    value = parameters.get(name)
    if value is None or not np.isfinite(value) or value == 0:
        if name not in mapping.parameters:
            raise InputError(
                mapping.source,
                "a parameter without a stated default",
                field=f"parameters.{name}",
                expected="a default in mm",
            )
        value = float(mapping.parameters[name])
    return float(spec.get("scale", 1.0)) * value + float(spec.get("add", 0.0))


def _evaluate(alt: dict, get, mapping: Mapping, parameters: dict) -> np.ndarray:
    ((kind, args),) = alt.items()
    if kind == "marker":
        return get(args).copy()
    if kind == "midpoint":
        return _mean(args, get)
    if kind == "weighted":
        weights = {k: float(v) for k, v in args.items()}
        if abs(sum(weights.values()) - 1.0) > 1e-6:
            raise InputError(mapping.source, "weights must sum to 1", field="weighted", found=weights)
        return sum(w * get(n) for n, w in weights.items())
    if kind == "offset":
        d = distance_mm(args["distance"], mapping, parameters)
        return get(args["from"]) + d * _unit(_mean(args["along"][1], get) - _mean(args["along"][0], get))
    if kind == "normal":
        a = _mean(args["from"], get)
        n = np.cross(get(args["plane"][0]) - a, get(args["plane"][1]) - a)
        size = np.linalg.norm(n, axis=-1, keepdims=True)
        scale = np.linalg.norm(get(args["plane"][0]) - a, axis=-1, keepdims=True) * np.linalg.norm(
            get(args["plane"][1]) - a, axis=-1, keepdims=True
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            n = np.where(size > STRAIGHT_SINE * scale, n / size, np.nan)  # a straight limb has no plane
        return a + distance_mm(args["distance"], mapping, parameters) * n
    if kind == "chord":
        return chord(
            get(args["lateral"]),
            get(args["proximal"]),
            get(args["plane"]),
            distance_mm(args["distance"], mapping, parameters),
            away=args.get("side", "away") == "away",
        )
    if kind == "harrington":
        return harrington(get(args["rasi"]), get(args["lasi"]), _mean(args["back"], get), side=args["side"])
    raise AssertionError(kind)


def _describe(alt: dict) -> str:
    ((kind, args),) = alt.items()
    return f"{kind}({', '.join(_names(alt))})"


def chord(
    lateral: np.ndarray, proximal: np.ndarray, plane: np.ndarray, distance: float, *, away: bool = True
) -> np.ndarray:
    """Plug-in Gait's chord function (see the module's docstring); arrays (frames, 3)."""
    v = proximal - lateral
    a = np.linalg.norm(v, axis=-1, keepdims=True)
    e1 = _unit(v)
    w = plane - lateral
    perp = w - np.sum(w * e1, axis=-1, keepdims=True) * e1  # toward the plane marker, perpendicular to L-P
    u = _unit(perp) * (-1.0 if away else 1.0)
    with np.errstate(invalid="ignore"):
        cos = np.clip(distance / a, -1.0, 1.0)
    sin = np.sqrt(1.0 - cos**2)
    return lateral + distance * (cos * e1 + sin * u)


def harrington(rasi: np.ndarray, lasi: np.ndarray, back: np.ndarray, *, side: str) -> np.ndarray:
    """Harrington et al. (2007) hip joint centre (see the module's docstring); arrays (frames, 3) mm."""
    origin = (rasi + lasi) / 2
    z = _unit(rasi - lasi)
    fwd = origin - back
    x = _unit(fwd - np.sum(fwd * z, axis=-1, keepdims=True) * z)
    y = np.cross(z, x)
    pw = np.linalg.norm(rasi - lasi, axis=-1, keepdims=True)
    pd = np.linalg.norm(fwd, axis=-1, keepdims=True)
    sign = 1.0 if side == "right" else -1.0
    return origin + (-0.24 * pd - 9.9) * x + (-0.30 * pw - 10.9) * y + sign * (0.33 * pw + 7.3) * z


def missing_markers(mapping: Mapping, markers: dict[str, np.ndarray], limit: int = 8) -> list[str]:
    """The markers a mapping would need for the joints it cannot compute from ``markers``: for each
    such joint, those of its first alternative that are not there (at most ``limit`` names)."""
    done = set(resolvable(mapping, markers))
    out: list[str] = []
    for joint, alternatives in mapping.joints.items():
        if joint in done:
            continue
        for name in _names(alternatives[0]):
            key = normalize_label(name)
            if name not in BODY_25 and key not in markers and key not in out:
                out.append(key)
    return out[:limit]
