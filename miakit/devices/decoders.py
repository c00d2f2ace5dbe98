"""Payload decoders: bytes of one BLE notification -> samples.

A decoder is a plain function ``decode(payload: bytes) -> Decoded``. It raises
:class:`DecodeError` for a payload it cannot read; callers count those packets and keep them raw,
so a decoder bug never destroys data.

Where a decoder comes from (data never names code: a profile, including a session's own
``profile.yaml``, only *names* a decoder, it never makes miakit import what it names):

1. miakit's registry, :data:`DECODERS`;
2. installed plugins: Python entry points in the group ``miakit.decoders`` (the entry point's name
   is the name a profile uses), e.g. in a plugin's ``pyproject.toml``::

       [project.entry-points."miakit.decoders"]
       my_sensor_v2 = "my_package.decoders:my_sensor_v2"

3. an import path ``"package.module:function"`` only where the user gave it on the command line
   (``--decoder-plugin package.module:function``, which sets :data:`PLUGIN_ENV`), or in a profile
   the user loads by its path (``trusted=True``). A profile naming an import path that the user did
   not allow is refused as naming an unknown decoder; nothing is imported.
"""

from __future__ import annotations

import importlib
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint


class DecodeError(ValueError):
    """A payload this decoder cannot read."""


@dataclass(frozen=True)
class Decoded:
    values: np.ndarray
    """(samples, channels) float64 in device units, before the profile's scale."""
    seq: int | None = None
    """The device's own packet counter, where the packet carries one."""
    times: np.ndarray | None = None
    """(samples,) the source's own time stamp of each sample (seconds on its clock), where the
    payload carries them (Lab Streaming Layer); the session's clock data maps them to host time."""


Decoder = Callable[[bytes], Decoded]

M40_STRUCT = struct.Struct("<HH")


def m40_envelope_v1(payload: bytes) -> Decoded:
    """Best-guess M40 packet: little-endian ``uint16 counter, uint16 envelope`` (4 bytes).

    The counter increments by one per sample and wraps at 65536; the envelope is the rectified,
    smoothed amplitude in raw device units (0 to about 500 in the paper's data).
    """
    if len(payload) != M40_STRUCT.size:
        raise DecodeError(f"m40 packet must be {M40_STRUCT.size} bytes, got {len(payload)}")
    seq, value = M40_STRUCT.unpack(payload)
    return Decoded(values=np.array([[float(value)]]), seq=seq)


def encode_m40_envelope_v1(seq: int, value: float) -> bytes:
    """The inverse of :func:`m40_envelope_v1` (used by the emulator and synthetic sessions)."""
    return M40_STRUCT.pack(seq % 65536, int(min(max(round(value), 0), 65535)))


def ascii_float(payload: bytes) -> Decoded:
    """MyoWare 2.0 Wireless Shield: the envelope as an ASCII decimal string such as ``b"123.00"``."""
    try:
        text = payload.decode("ascii").strip().rstrip("\x00")
        value = float(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise DecodeError(f"not an ASCII number: {payload[:16]!r}") from exc
    if not np.isfinite(value):
        raise DecodeError(f"not a finite number: {text!r}")
    return Decoded(values=np.array([[value]]))


def _array_decoder(dtype: str) -> Decoder:
    item = np.dtype(dtype).itemsize

    def decode(payload: bytes) -> Decoded:
        if not payload or len(payload) % item:
            raise DecodeError(f"{dtype} payload length {len(payload)} is not a multiple of {item}")
        values = np.frombuffer(payload, dtype=dtype).astype(np.float64)
        if not np.all(np.isfinite(values)):
            raise DecodeError("payload holds a non-finite value")
        return Decoded(values=values[:, None])

    decode.__name__ = f"{np.dtype(dtype).name}_{'le' if dtype.startswith('<') else 'be'}"
    decode.__doc__ = f"Consecutive samples of one channel, each a {dtype} number."
    return decode


LSL_SAMPLE = np.dtype([("t", "<f8"), ("v", "<f4")])
"""One sample of one channel of a Lab Streaming Layer stream as the recorder stores it."""


def lsl_float32_v1(payload: bytes) -> Decoded:
    """One channel of a pulled Lab Streaming Layer chunk: per sample a little-endian ``float64``
    time stamp (seconds on the stream's source clock, as LSL stamped it) then a ``float32`` value
    (12 bytes a sample). The time stamps come back as :attr:`Decoded.times`."""
    if not payload or len(payload) % LSL_SAMPLE.itemsize:
        raise DecodeError(f"lsl_float32_v1 payload length {len(payload)} is not a multiple of {LSL_SAMPLE.itemsize}")
    rec = np.frombuffer(payload, dtype=LSL_SAMPLE)
    times, values = rec["t"].astype(np.float64), rec["v"].astype(np.float64)
    if not (np.all(np.isfinite(times)) and np.all(np.isfinite(values))):
        raise DecodeError("payload holds a non-finite value or time stamp")
    return Decoded(values=values[:, None], times=times)


def encode_lsl_float32_v1(times: np.ndarray, values: np.ndarray) -> bytes:
    """The inverse of :func:`lsl_float32_v1`: time stamps and values of one channel -> payload."""
    rec = np.empty(len(times), dtype=LSL_SAMPLE)
    rec["t"], rec["v"] = times, values
    return rec.tobytes()


DECODERS: dict[str, Decoder] = {
    "m40_envelope_v1": m40_envelope_v1,
    "ascii_float": ascii_float,
    "uint16_le": _array_decoder("<u2"),
    "int16_le": _array_decoder("<i2"),
    "float32_le": _array_decoder("<f4"),
    "lsl_float32_v1": lsl_float32_v1,
}


Encoder = Callable[[int, float], bytes]
"""(tick number, value in device units) -> the payload of one notification."""

ENCODERS: dict[str, Encoder] = {
    "m40_envelope_v1": encode_m40_envelope_v1,
    "ascii_float": lambda k, v: f"{v:.2f}".encode("ascii"),
    "int16_le": lambda k, v: struct.pack("<h", int(np.clip(round(v), -32768, 32767))),
    "uint16_le": lambda k, v: struct.pack("<H", int(np.clip(round(v), 0, 65535))),
    "float32_le": lambda k, v: struct.pack("<f", float(v)),
}
"""The inverse of the decoders emulated sensors speak (:mod:`miakit.record.emulator`), one sample per
notification."""


ENTRY_POINT_GROUP = "miakit.decoders"
PLUGIN_ENV = "MIAKIT_DECODER_PLUGINS"
"""Import paths the user allowed on the command line, separated by commas (worker processes
inherit it)."""


class UnknownDecoder(KeyError):
    """A decoder name that is neither registered, nor an installed plugin, nor allowed by the user."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown decoder"


def allowed_import_paths() -> set[str]:
    """The import paths the user allowed (``--decoder-plugin``, :data:`PLUGIN_ENV`)."""
    return {p.strip() for p in os.environ.get(PLUGIN_ENV, "").split(",") if p.strip()}


def allow_import_paths(paths: list[str] | tuple[str, ...]) -> None:
    """Allow these ``package.module:function`` decoders for this process and the workers it starts."""
    for path in paths:
        module, sep, attr = path.partition(":")
        if not (module and sep and attr):
            raise ValueError(f"expected package.module:function, found {path!r}")
    merged = sorted(allowed_import_paths() | set(paths))
    os.environ[PLUGIN_ENV] = ",".join(merged)


def _plugins() -> dict[str, EntryPoint]:
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def known_decoders() -> list[str]:
    """Names a profile may use without the user's say-so: the registry and installed plugins."""
    return sorted(set(DECODERS) | set(_plugins()))


def get_decoder(name: str, *, trusted: bool = False) -> Decoder:
    """A decoder by registry name, by installed plugin (entry point group ``miakit.decoders``), or
    by ``"package.module:function"`` where the user allowed it (``trusted`` or ``--decoder-plugin``).

    Raises :class:`UnknownDecoder` (a KeyError) for anything else, without importing anything."""
    if name in DECODERS:
        return DECODERS[name]
    plugin = _plugins().get(name)
    if plugin is not None:
        return _callable(name, plugin.load())
    if ":" in name and (trusted or name in allowed_import_paths()):
        module_name, _, attr = name.partition(":")
        module = importlib.import_module(module_name)
        return _callable(name, getattr(module, attr))
    if ":" in name:
        raise UnknownDecoder(
            f"unknown decoder {name!r}: an import path runs only where the user allows it on the command line "
            f"(--decoder-plugin); known decoders: {known_decoders()}"
        )
    raise UnknownDecoder(f"unknown decoder {name!r}; known decoders: {known_decoders()}")


def _callable(name: str, func: object) -> Decoder:
    if not callable(func):
        raise TypeError(f"{name} is not callable")
    return func
