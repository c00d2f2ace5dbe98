"""One exception hierarchy. Every error a user can act on says, in one line, which file, which
field, what was expected and what was found. The command line prints these without a traceback."""

from __future__ import annotations

from pathlib import Path


class MiakitError(Exception):
    """Base of every error miakit raises on purpose."""


class InputError(MiakitError):
    """Bad input: a file, a field, what was expected, what was found."""

    def __init__(
        self,
        where: str | Path,
        problem: str | None = None,
        *,
        field: str | None = None,
        expected: object = None,
        found: object = None,
    ):
        self.where = str(where)
        self.field = field
        self.expected = expected
        self.found = found
        parts = [self.where]
        if field:
            parts.append(field)
        head = ": ".join(parts)
        if problem is None:
            problem = f"expected {expected}, found {_short(found)}"
        elif expected is not None:
            problem = f"{problem} (expected {expected}, found {_short(found)})"
        elif found is not None:
            problem = f"{problem} (found {_short(found)})"
        super().__init__(f"{head}: {problem}")


class SessionError(InputError):
    """A raw session folder breaks contract 1."""


class DatasetError(InputError):
    """A dataset breaks contract 2."""


class ProfileError(InputError):
    """A device profile has a mistake."""


class PipelineError(InputError):
    """A pipeline definition has a mistake."""


class CatalogError(InputError):
    """A catalog file or entry has a mistake."""


class DeviceError(MiakitError):
    """A sensor could not be found, connected or read."""


def _short(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
