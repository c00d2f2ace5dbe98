"""Hashing a build's inputs: a session folder's content, so a build knows what changed.

A session's hash goes into the name of its part (:mod:`miakit.parts`) and into the dataset's
provenance (``attrs.provenance.inputs``); the pipeline's own hash is made where it is loaded
(:func:`miakit.pipeline.load_pipeline`).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from miakit.store import filesystem, is_url


def session_sha256(folder: str | Path) -> str:
    """A hash over every file of a session folder (relative names and bytes), in sorted order."""

    digest = hashlib.sha256()
    if is_url(folder):
        fs, root = filesystem(str(folder))
        for path in sorted(fs.find(root)):
            digest.update(path[len(root) :].lstrip("/").encode() + b"\0")
            digest.update(fs.cat_file(path))
        return digest.hexdigest()
    # os.walk and plain strings: sessions hold thousands of small files (OpenPose JSON), and Path
    # objects made hashing 2.3 times slower. Sorting by parts keeps the order of sorting paths.
    # Symlinks are never followed (not even to hash them: a build refuses a session holding one, and a
    # link loop must not hang the plan); a link is hashed as its target's text, so changing it counts.
    # Names are hashed as the bytes the file system holds (os.fsencode: names that are not UTF-8 too).
    files, links = [], {}
    for dirpath, dirnames, names in os.walk(folder):
        rel = os.path.relpath(dirpath, folder)
        prefix = () if rel == "." else tuple(rel.split(os.sep))
        for name in names + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                links[prefix + (name,)] = os.readlink(path)
                files.append(prefix + (name,))
            elif os.path.isfile(path):
                files.append(prefix + (name,))
    for parts in sorted(files):
        digest.update(os.fsencode("/".join(parts)) + b"\0")
        if parts in links:
            digest.update(b"symlink:" + os.fsencode(links[parts]))
            continue
        try:
            with open(os.path.join(folder, *parts), "rb") as fh:
                while block := fh.read(1 << 20):
                    digest.update(block)
        except OSError as exc:  # an unreadable file: its build gives the reason; hash what is known
            digest.update(f"unreadable:{exc.errno}".encode())
    return digest.hexdigest()
