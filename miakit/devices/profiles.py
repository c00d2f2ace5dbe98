"""Device profiles: how to find a sensor, talk to it and decode what it sends.

A profile is a YAML file under ``recorders/`` (``m40.yaml``, ``myoware.yaml``, ``generic.yaml``);
``load_profile("m40")`` finds it by name, or takes a path. A profile with a mistake is refused with
one line naming the file and the field.

Numbers are finite and within stated ranges (:data:`RANGES`). A profile names its decoder; only a
profile the user loads by its path (``load_profile("path/to/my.yaml")``, ``trusted``) may name an
import path ``package.module:function`` (see :mod:`miakit.devices.decoders`); one found by name or
inside a session folder may name only registered decoders and installed plugins.
"""

from __future__ import annotations

import hashlib
import os
from functools import cached_property
from pathlib import Path
from typing import Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from miakit.contracts.session import MAX_META_BYTES
from miakit.devices.decoders import Decoded, DecodeError, UnknownDecoder, get_decoder
from miakit.errors import ProfileError
from miakit.resources import shipped_folder
from miakit.safe_yaml import load_yaml, read_capped

__all__ = ["Profile", "load_profile", "profile_search_path", "DecodeError"]


class Command(BaseModel):
    """Bytes written to a characteristic (to start or stop streaming)."""

    model_config = ConfigDict(extra="forbid")
    characteristic_uuid: str
    hex: str = Field(description="the bytes to write, as hex")

    @field_validator("characteristic_uuid")
    @classmethod
    def _uuid(cls, v: str) -> str:
        return _check_uuid(v)

    @field_validator("hex")
    @classmethod
    def _hex(cls, v: str) -> str:
        bytes.fromhex(v)
        return v


class Match(BaseModel):
    """How a scan recognizes this kind of sensor."""

    model_config = ConfigDict(extra="forbid")
    name_prefix: str | None = None
    service_uuids: list[str] = []

    @field_validator("service_uuids")
    @classmethod
    def _uuids(cls, v: list[str]) -> list[str]:
        return [_check_uuid(u) for u in v]


RANGES = {"rate_hz": (0.1, 100_000.0), "channels": (1, 256), "abs_scale": (1e-9, 1e9)}
"""Plausible ranges (inclusive) of a profile's numbers: sample rate (Hz), channels per packet, and
the size of ``scale`` (units per device count, either sign)."""


class Profile(BaseModel):
    """One kind of EMG sensor: a BLE device, or (``transport: lsl``) a Lab Streaming Layer stream."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    name: str
    description: str = ""
    verified: bool = Field(description="false for a best guess that a real device has not confirmed")
    transport: Literal["ble", "lsl"] = Field(
        "ble", description="ble: a Bluetooth LE sensor; lsl: a Lab Streaming Layer stream"
    )
    kind: Literal["envelope", "raw", "auto"] = Field(
        description="envelope: rectified, smoothed amplitude; raw: the sEMG signal itself; auto (lsl "
        "only): decided by the stream's rate when recording (raw from LSL_RAW_MIN_HZ up)"
    )
    match: Match = Match()
    service_uuid: str | None = Field(None, description="BLE only")
    characteristic_uuid: str | None = Field(None, description="BLE only")
    start_command: Command | None = None
    stop_command: Command | None = None
    decoder: str
    channels: int = Field(ge=RANGES["channels"][0], le=RANGES["channels"][1])
    rate_hz: float | None = Field(
        ge=RANGES["rate_hz"][0], le=RANGES["rate_hz"][1], description="nominal sample rate; null where it has none"
    )
    scale: float = 1.0
    units: str
    packet: str = Field("", description="the packet format, in words")

    path: str = Field("", exclude=True)
    sha256: str = Field("", exclude=True)
    _trusted: bool = PrivateAttr(False)

    @field_validator("scale")
    @classmethod
    def _scale(cls, v: float) -> float:
        lo, hi = RANGES["abs_scale"]
        if not lo <= abs(v) <= hi:
            raise ValueError(f"scale must be between {lo:g} and {hi:g} in size")
        return v

    @field_validator("service_uuid", "characteristic_uuid")
    @classmethod
    def _uuid(cls, v: str | None) -> str | None:
        return None if v is None else _check_uuid(v)

    @model_validator(mode="after")
    def _transport(self) -> Profile:
        if self.transport == "ble":
            for name in ("service_uuid", "characteristic_uuid"):
                if getattr(self, name) is None:
                    raise ValueError(f"{name} is required for a BLE profile")
            if self.kind == "auto":
                raise ValueError("kind auto is for LSL profiles only; a BLE profile says envelope or raw")
        return self

    @field_validator("decoder")
    @classmethod
    def _decoder(cls, v: str, info: ValidationInfo) -> str:
        trusted = bool(info.context and info.context.get("trusted"))
        try:
            get_decoder(v, trusted=trusted)
        except UnknownDecoder as exc:
            raise ValueError(str(exc)) from None
        except (KeyError, ImportError, AttributeError, TypeError) as exc:
            raise ValueError(f"unknown decoder {v!r} ({exc.__class__.__name__})") from None
        return v

    @cached_property
    def _decode(self):
        return get_decoder(self.decoder, trusted=self._trusted)

    def decode(self, payload: bytes) -> Decoded:
        """Decode one notification into scaled samples; raises DecodeError for a bad packet."""
        decoded = self._decode(bytes(payload))
        values = decoded.values
        if values.ndim != 2 or values.shape[1] != self.channels:
            raise DecodeError(f"decoder gave shape {values.shape}, profile has {self.channels} channels")
        return Decoded(values=values * self.scale, seq=decoded.seq, times=decoded.times)


def _check_uuid(value: str) -> str:
    text = str(value).strip().lower()
    if len(text) == 4 and all(c in "0123456789abcdef" for c in text):
        text = f"0000{text}-0000-1000-8000-00805f9b34fb"
    try:
        return str(UUID(text))
    except ValueError:
        raise ValueError(f"not a UUID: {value!r}") from None


def profile_search_path() -> list[Path]:
    """Folders searched for a profile name: $MIAKIT_RECORDERS, ./recorders, miakit's own recorders/."""

    paths = [Path(p) for p in os.environ.get("MIAKIT_RECORDERS", "").split(os.pathsep) if p]
    paths += [Path.cwd() / "recorders", shipped_folder("recorders")]
    return paths


def is_path(name_or_path: str | Path) -> bool:
    """A name is a name, a path is a path: a path ends in .yaml/.yml or holds a path separator."""
    text = str(name_or_path)
    return isinstance(name_or_path, Path) or text.endswith((".yaml", ".yml")) or "/" in text or os.sep in text


def find_profile_file(name_or_path: str | Path) -> Path:
    if is_path(name_or_path):
        candidate = Path(name_or_path)
        if not candidate.is_file():
            raise ProfileError(candidate, "no such profile file")
        return candidate
    found = [folder / f"{name_or_path}{suffix}" for folder in profile_search_path() for suffix in (".yaml", ".yml")]
    found = [p for p in found if p.is_file()]
    if found:
        builtin = profile_search_path()[-1].resolve()
        if found[0].parent.resolve() != builtin and any(p.parent.resolve() == builtin for p in found[1:]):
            import sys

            print(f"note: device profile {name_or_path!r} is {found[0]}, which shadows miakit's own", file=sys.stderr)
        return found[0]
    known = sorted({p.stem for f in profile_search_path() if f.is_dir() for p in f.glob("*.y*ml")})
    raise ProfileError(
        str(name_or_path), "unknown device profile", expected=f"one of {known} or a path", found=str(name_or_path)
    )


def load_profile(name_or_path: str | Path) -> Profile:
    """Load and check a profile by name (searched in :func:`profile_search_path`) or path."""
    path = find_profile_file(name_or_path)
    content = read_profile_bytes(path)
    return parse_profile(content, where=path, trusted=is_path(name_or_path))


def read_profile_bytes(path: Path, *, follow_symlinks: bool = True) -> bytes:
    """A profile file's bytes, refused (one line) where it is too large or not a regular file."""

    return read_capped(path, error=ProfileError, max_bytes=MAX_META_BYTES, follow_symlinks=follow_symlinks)


def parse_profile(content: bytes, where: str | Path = "<profile>", *, trusted: bool = False) -> Profile:
    """Check a profile's bytes. ``trusted``: the user pointed at this profile themselves, so its
    decoder may be an import path; otherwise only registered decoders and installed plugins."""

    data = load_yaml(content, where=where, error=ProfileError, max_bytes=MAX_META_BYTES)
    if not isinstance(data, dict):
        raise ProfileError(where, expected="a mapping of profile fields", found=type(data).__name__)
    try:
        profile = Profile.model_validate(data, context={"trusted": trusted})
    except ValidationError as exc:
        raise profile_error(where, exc) from None
    sha = hashlib.sha256(content).hexdigest()
    profile = profile.model_copy(update={"path": str(where), "sha256": sha})
    profile._trusted = trusted
    return profile


def profile_error(where, exc: ValidationError) -> ProfileError:
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"]) or "(top level)"
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "missing":
        return ProfileError(where, msg, field=field)
    return ProfileError(where, msg, field=field, found=err["input"])
