"""The layer rule of ARCHITECTURE.md, checked by import-linter (``lint-imports``) on the real import
graph, with the contracts in pyproject.toml ``[tool.importlinter]``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("importlinter", reason="import-linter (the dev extra) checks the layers")

REPO = Path(__file__).resolve().parents[2]


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` with ``root``'s pyproject.toml, over the miakit package in ``root``."""
    exe = Path(sys.executable).with_name("lint-imports")
    command = [str(exe)] if exe.is_file() else [shutil.which("lint-imports") or "lint-imports"]
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [*command, str(root / "pyproject.toml"), "--no-cache", "--no-logo"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_import_points_down_the_layers():
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-1000:]
    assert "0 broken" in result.stdout and " BROKEN" not in result.stdout


def test_an_import_up_the_layers_breaks_the_contract(tmp_path):
    """The check bites: a copy of the package whose device profiles import the recorder (a layer
    above them, as stages.decode -> record.profiles once did) fails, naming the import."""
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(REPO / "miakit", tmp_path / "miakit", ignore=shutil.ignore_patterns("__pycache__"))
    profiles = tmp_path / "miakit" / "devices" / "profiles.py"
    profiles.write_text(
        profiles.read_text() + "\n\ndef _recorder():\n    from miakit.record import recorder\n\n    return recorder\n"
    )
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout[-3000:]
    assert "miakit.devices is not allowed to import miakit.record" in result.stdout
    assert "miakit.devices.profiles -> miakit.record.recorder" in result.stdout
