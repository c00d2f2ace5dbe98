"""Running the real ``miakit`` command in a subprocess, and checking that it refused in one line
and left the user's files as they were (issue 33's cases)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path


def run(*args, cwd=None, env=None, timeout=180):
    """``python -m miakit ARGS`` with one torch thread (the tests share a small machine)."""
    environ = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "miakit", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environ,
        timeout=timeout,
    )


def assert_refused(result, *words):
    """Exit 2, one error line on stderr naming what went wrong (progress bars aside), no traceback."""
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def tree_hash(root: Path) -> dict[str, str]:
    """Every file under ``root`` (relative name -> sha256); a file gives {'': sha}."""
    root = Path(root)
    if root.is_file():
        return {"": hashlib.sha256(root.read_bytes()).hexdigest()}
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
