"""Payload decoders: bytes of one BLE notification -> samples.

A decoder is a plain function ``decode(payload: bytes) -> Decoded``. It raises
:class:`DecodeError` for a payload it cannot read; callers count those packets and keep them raw,
so a decoder bug never destroys data. Decoders are found by name in :data:`DECODERS`, or by a
dotted path ``"package.module:function"`` for a user's own.
"""

from __future__ import annotations

import importlib
import struct
from dataclasses import dataclass
from typing import Callable

import numpy as np


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


def get_decoder(name: str) -> Decoder:
    """A decoder by registry name, or a user's own by ``"package.module:function"``."""
    if name in DECODERS:
        return DECODERS[name]
    if ":" in name:
        module_name, _, attr = name.partition(":")
        module = importlib.import_module(module_name)
        func = getattr(module, attr)
        if not callable(func):
            raise TypeError(f"{name} is not callable")
        return func
    raise KeyError(name)
