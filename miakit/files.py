"""The one check before miakit reads a file a user handed it: it exists, it is a regular file (not a
folder, FIFO, socket or device, which have no size and can be read forever), and its size is under
the reader's cap. Every reader of an untrusted file (YAML, C3D, TRC/STO, XDF, videos, checkpoints,
release clips) calls :func:`check_file` before opening it, or :func:`read_capped` to read it whole.

Each breach is one line naming the file: ``missing file``, ``not a regular file (a folder)``,
``too large to read: size limit 2.0 GiB hit (found 5.4 GiB)``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from miakit.errors import InputError

__all__ = ["MAX_BINARY_BYTES", "MAX_TEXT_BYTES", "check_file", "format_size", "read_capped", "read_text_capped"]

MAX_TEXT_BYTES = 1 << 30
"""Default cap on a text table miakit reads whole (a .trc, .sto or .csv), 1 GiB."""
MAX_BINARY_BYTES = 16 << 30
"""Default cap on a binary recording read by a library (C3D, XDF, video), 16 GiB."""

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def check_file(
    path: str | Path,
    *,
    max_bytes: int,
    error: type[InputError] = InputError,
    follow_symlinks: bool = True,
) -> int:
    """The size of ``path`` after checking that it is a regular file of at most ``max_bytes``
    (nothing is opened: a FIFO would block, a device never ends)."""
    path = Path(path)
    try:
        if not follow_symlinks and path.is_symlink():
            raise error(path, "is a symlink (files a session reads must lie inside its folder, not be links)")
        st = os.stat(path)
    except FileNotFoundError:
        raise error(path, "missing file") from None
    except NotADirectoryError:
        raise error(path, "missing file (a part of its path is a file, not a folder)") from None
    except OSError as exc:
        raise error(path, f"unreadable ({exc.strerror or exc.__class__.__name__})") from None
    if not stat.S_ISREG(st.st_mode):
        kind = next((name for test, name in _KINDS if test(st.st_mode)), "not a file")
        raise error(path, f"not a regular file ({kind})")
    if st.st_size > max_bytes:
        raise error(path, f"too large to read: size limit {format_size(max_bytes)} hit", found=format_size(st.st_size))
    return st.st_size


def read_capped(
    path: str | Path,
    *,
    error: type[InputError] = InputError,
    max_bytes: int,
    follow_symlinks: bool = True,
) -> bytes:
    """The bytes of a regular file, its size checked against ``max_bytes`` before it is read."""
    check_file(path, max_bytes=max_bytes, error=error, follow_symlinks=follow_symlinks)
    try:
        with Path(path).open("rb") as fh:
            content = fh.read(max_bytes + 1)
    except OSError as exc:
        raise error(path, f"unreadable ({exc.strerror or exc.__class__.__name__})") from None
    if len(content) > max_bytes:  # it grew since stat
        raise error(path, f"too large to read: size limit {format_size(max_bytes)} hit")
    return content


def read_text_capped(path: str | Path, *, error: type[InputError] = InputError, max_bytes: int = MAX_TEXT_BYTES) -> str:
    """A text file read whole (UTF-8, undecodable bytes replaced) after :func:`check_file`; a file
    holding NUL bytes is not text and is refused."""
    content = read_capped(path, error=error, max_bytes=max_bytes)
    if b"\x00" in content[: 1 << 16]:
        raise error(path, "not a text file (it holds NUL bytes)")
    return content.decode("utf-8", errors="replace")


def format_size(n: int) -> str:
    """``n`` bytes for a person: 812 bytes, 4.0 kB, 1.5 MiB, 2.0 GiB."""
    if n >= 1 << 30:
        return f"{n / (1 << 30):.1f} GiB"
    return f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else f"{n / 1024:.1f} kB" if n >= 1024 else f"{n} bytes"
