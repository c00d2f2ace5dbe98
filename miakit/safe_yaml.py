"""The one YAML reader of miakit: every YAML file miakit reads (session.yaml, profile.yaml,
pipelines, recorders, sensor maps, catalog.yaml) goes through :func:`read_yaml` or :func:`load_yaml`.

What it guards against, before and while parsing, each refused with one line naming the file and
the limit that was hit:

- size: the file's size is checked before it is read (:data:`MAX_YAML_BYTES` unless the caller
  states its own cap, e.g. the session contract's);
- encoding: strictly UTF-8 (a UTF-16 or other byte order mark, or bytes that are not UTF-8, are
  named as such);
- alias bombs ("billion laughs"): aliases may be used, but the document they expand to may hold at
  most :data:`MAX_YAML_NODES` nodes, counted without expanding anything (a document that holds
  more nodes itself is named so, not as an alias bomb);
- nesting deeper than :data:`MAX_YAML_DEPTH`;
- a symlink, where the caller says not to follow one (files inside a session folder).

Only YAML's safe types are built (``yaml.SafeLoader``'s constructor): data never names code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from miakit.errors import InputError
from miakit.files import read_capped as _read_file_capped

MAX_YAML_BYTES = 1 << 20
"""Default cap on a YAML file's size, 1 MiB (a pipeline or a profile is a few kB)."""
MAX_YAML_NODES = 100_000
"""Cap on the nodes a document holds once its aliases are expanded."""
MAX_YAML_DEPTH = 100
"""Cap on how deeply collections nest."""

__all__ = ["MAX_YAML_BYTES", "MAX_YAML_DEPTH", "MAX_YAML_NODES", "load_yaml", "read_capped", "read_yaml"]

_BOMS = (
    (b"\xef\xbb\xbf", "UTF-8 with a byte order mark"),
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


def read_yaml(
    path: str | Path,
    *,
    error: type[InputError] = InputError,
    max_bytes: int = MAX_YAML_BYTES,
    follow_symlinks: bool = True,
) -> Any:
    """Read and parse the YAML file ``path``; every problem is an ``error`` (one line)."""
    content = read_capped(path, error=error, max_bytes=max_bytes, follow_symlinks=follow_symlinks)
    return load_yaml(content, where=path, error=error, max_bytes=max_bytes)


def read_capped(
    path: str | Path,
    *,
    error: type[InputError] = InputError,
    max_bytes: int = MAX_YAML_BYTES,
    follow_symlinks: bool = True,
) -> bytes:
    """The bytes of a regular file, its size checked against ``max_bytes`` before it is read
    (:func:`miakit.files.read_capped`, with the YAML cap as default)."""
    return _read_file_capped(path, error=error, max_bytes=max_bytes, follow_symlinks=follow_symlinks)


def load_yaml(
    content: bytes | str,
    *,
    where: str | Path = "<yaml>",
    error: type[InputError] = InputError,
    max_bytes: int = MAX_YAML_BYTES,
) -> Any:
    """Parse YAML held in memory with the same limits as :func:`read_yaml`."""
    if isinstance(content, bytes):
        if len(content) > max_bytes:
            raise error(where, f"too large to read: size limit {_size(max_bytes)} hit", found=_size(len(content)))
        text = _decode(content, where, error)
    else:
        text = content
        if len(text) > max_bytes:
            raise error(where, f"too large to read: size limit {_size(max_bytes)} hit", found=_size(len(text)))
    if "\x00" in text:
        raise error(where, "not valid YAML: it holds a NUL byte", expected="a UTF-8 text file")
    loader = None
    try:
        loader = yaml.SafeLoader(text)  # its reader refuses control characters here already
        node = loader.get_single_node()
        if node is None:
            return None
        _check_size(node, where, error)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or exc.__class__.__name__
        raise error(where, f"not valid YAML{at} ({_first_line(str(problem))})") from None
    except RecursionError:
        raise error(where, f"not valid YAML: nested too deeply (depth limit {MAX_YAML_DEPTH} hit)") from None
    finally:
        if loader is not None:
            loader.dispose()


def _decode(content: bytes, where: str | Path, error: type[InputError]) -> str:
    for bom, name in _BOMS:
        if content.startswith(bom):
            raise error(where, "wrong text encoding", expected="UTF-8 without a byte order mark", found=name)
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(
            where, f"not UTF-8 text (byte {content[exc.start : exc.start + 1]!r} at offset {exc.start})"
        ) from None


def _check_size(root: yaml.Node, where: str | Path, error: type[InputError]) -> None:
    """Count the nodes of the expanded document (each node once, aliases multiplying), and the
    nesting depth, without recursion and without expanding anything. A document that holds too
    many nodes itself (a very long catalog) is told apart from one whose aliases multiply them."""
    held = _count_held(root)
    if held > MAX_YAML_NODES:
        raise error(where, f"too many entries: it holds {held} YAML nodes (limit {MAX_YAML_NODES})")
    limit = MAX_YAML_NODES
    expanded: dict[int, int] = {}
    depth: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    on_path: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            children = _children(node)
            expanded[key] = 1 + sum(expanded[id(c)] for c in children)
            depth[key] = 1 + max((depth[id(c)] for c in children), default=0)
            if expanded[key] > limit:
                raise error(
                    where,
                    f"too many nodes once aliases are expanded: limit {limit} hit (its {held} nodes expand to more: "
                    "an alias bomb?)",
                )
            if depth[key] > MAX_YAML_DEPTH:
                raise error(where, f"not valid YAML: nested too deeply (depth limit {MAX_YAML_DEPTH} hit)")
            continue
        if key in expanded:
            continue
        if key in on_path:
            raise error(where, "not valid YAML: a recursive alias (a node that contains itself)")
        on_path.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in expanded)
        if len(on_path) > MAX_YAML_DEPTH + 1:
            raise error(where, f"not valid YAML: nested too deeply (depth limit {MAX_YAML_DEPTH} hit)")


def _count_held(root: yaml.Node) -> int:
    """The nodes the document holds, each once however often aliases name it."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            stack.extend(_children(node))
    return len(seen)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _size(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else f"{n / 1024:.1f} kB" if n >= 1024 else f"{n} bytes"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:120] if text.strip() else "syntax error"
