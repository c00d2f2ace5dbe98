"""miakit's own definitions: the ``pipelines/`` and ``recorders/`` folders it ships.

In the repository they are top-level folders (users edit them beside the code); a wheel carries the
same files as package data, ``miakit/pipelines`` and ``miakit/recorders`` (the ``package-dir``
mapping in ``pyproject.toml``). :func:`shipped_folder` finds them in either place; the search paths
of pipelines (:func:`miakit.pipeline.pipeline_search_path`) and device profiles
(:func:`miakit.devices.profiles.profile_search_path`) end with it, after the user's own folders.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def shipped_folder(kind: str) -> Path:
    """miakit's own ``kind`` folder (``"pipelines"`` or ``"recorders"``): the package data of an
    installed wheel, else the repository's top-level folder beside the package (a clone, an
    editable install, ``PYTHONPATH``)."""
    package = Path(str(files("miakit")))
    inside = package / kind
    return inside if inside.is_dir() else package.parent / kind
