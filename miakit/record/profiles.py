"""Device profiles: how to find a sensor, talk to it and decode what it sends.

A profile is a YAML file under ``recorders/`` (``m40.yaml``, ``myoware.yaml``, ``generic.yaml``);
``load_profile("m40")`` finds it by name, or takes a path. A profile with a mistake is refused with
one line naming the file and the field.
"""

from __future__ import annotations

import hashlib
import os
from functools import cached_property
from pathlib import Path
from typing import Literal
from uuid import UUID

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from miakit.errors import ProfileError
from miakit.record.decoders import Decoded, DecodeError, get_decoder

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


class Profile(BaseModel):
    """One kind of EMG sensor: a BLE device, or (``transport: lsl``) a Lab Streaming Layer stream."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    description: str = ""
    verified: bool = Field(description="false for a best guess that a real device has not confirmed")
    transport: Literal["ble", "lsl"] = Field("ble", description="ble: a Bluetooth LE sensor; lsl: a Lab Streaming Layer stream")
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
    channels: int = Field(ge=1)
    rate_hz: float | None = Field(gt=0, description="nominal sample rate; null where it has none")
    scale: float = 1.0
    units: str
    packet: str = Field("", description="the packet format, in words")

    path: str = Field("", exclude=True)
    sha256: str = Field("", exclude=True)

    @field_validator("service_uuid", "characteristic_uuid")
    @classmethod
    def _uuid(cls, v: str | None) -> str | None:
        return None if v is None else _check_uuid(v)

    @model_validator(mode="after")
    def _transport(self) -> "Profile":
        if self.transport == "ble":
            for name in ("service_uuid", "characteristic_uuid"):
                if getattr(self, name) is None:
                    raise ValueError(f"{name} is required for a BLE profile")
            if self.kind == "auto":
                raise ValueError("kind auto is for LSL profiles only; a BLE profile says envelope or raw")
        return self

    @field_validator("decoder")
    @classmethod
    def _decoder(cls, v: str) -> str:
        try:
            get_decoder(v)
        except (KeyError, ImportError, AttributeError, TypeError) as exc:
            raise ValueError(f"unknown decoder {v!r} ({exc.__class__.__name__})") from None
        return v

    @cached_property
    def _decode(self):
        return get_decoder(self.decoder)

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
    paths += [Path.cwd() / "recorders", Path(__file__).resolve().parents[2] / "recorders"]
    return paths


def find_profile_file(name_or_path: str | Path) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        if not candidate.is_file():
            raise ProfileError(candidate, "no such profile file")
        return candidate
    for folder in profile_search_path():
        for suffix in (".yaml", ".yml"):
            path = folder / f"{name_or_path}{suffix}"
            if path.is_file():
                return path
    known = sorted({p.stem for f in profile_search_path() if f.is_dir() for p in f.glob("*.y*ml")})
    raise ProfileError(
        str(name_or_path), "unknown device profile", expected=f"one of {known} or a path", found=str(name_or_path)
    )


def load_profile(name_or_path: str | Path) -> Profile:
    """Load and check a profile by name (searched in :func:`profile_search_path`) or path."""
    path = find_profile_file(name_or_path)
    return parse_profile(path.read_bytes(), where=path)


def parse_profile(content: bytes, where: str | Path = "<profile>") -> Profile:
    try:
        data = yaml.safe_load(content)
    except yaml.YAMLError as exc:
        raise ProfileError(where, f"not valid YAML ({exc.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise ProfileError(where, expected="a mapping of profile fields", found=type(data).__name__)
    try:
        profile = Profile(**data)
    except ValidationError as exc:
        raise profile_error(where, exc) from None
    sha = hashlib.sha256(content).hexdigest()
    return profile.model_copy(update={"path": str(where), "sha256": sha})


def profile_error(where, exc: ValidationError) -> ProfileError:
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"]) or "(top level)"
    msg = err["msg"].removeprefix("Value error, ")
    return ProfileError(where, msg + (f" (found {err['input']!r})" if err["type"] != "missing" else ""), field=field)
