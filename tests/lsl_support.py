"""Lab Streaming Layer in tests: loopback only, and a small XDF writer.

:func:`loopback_env` points liblsl at an ``lsl_api.cfg`` (miakit's :func:`loopback_config`) that keeps
every stream on this machine, in a session id of this test process's own, so tests never see, nor
are seen by, any other LSL stream (other engineers' tests, a lab's devices). liblsl reads its config
once per process, at its first call: call this before anything touches pylsl; subprocesses inherit
it through ``LSLAPICFG``.

:func:`write_xdf` writes an XDF 1.0 file (https://github.com/sccn/xdf/wiki/Specifications): the
magic ``XDF:``, then chunks ``[NumLengthBytes][Length][Tag][Content]``, Length counting the tag and
content; tags 1 FileHeader, 2 StreamHeader, 3 Samples, 4 ClockOffset, 5 Boundary, 6 StreamFooter;
every chunk but FileHeader and Boundary begins with its uint32 StreamId. Samples: a varlen sample
count, then per sample a time-stamp byte (8, then the float64 stamp, or 0 for a deduced one) and
the values (little-endian numbers, or per channel a varlen length and the UTF-8 bytes of a string).
ClockOffset: CollectionTime and OffsetValue, float64.
"""

from __future__ import annotations

import os
import struct
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

_CONFIG: Path | None = None


def loopback_env() -> dict[str, str]:
    """Set (once) and return the environment that keeps LSL on this machine, in a session of its own."""
    global _CONFIG
    from miakit.record.lsl import loopback_config

    if _CONFIG is None:
        folder = Path(tempfile.mkdtemp(prefix="miakit-lsl-"))
        _CONFIG = folder / "lsl_api.cfg"
        _CONFIG.write_text(loopback_config(f"miakit-tests-{os.getpid()}-{uuid.uuid4().hex[:8]}", log_level=-3))
        os.environ["LSLAPICFG"] = str(_CONFIG)
    return dict(os.environ, LSLAPICFG=str(_CONFIG))


# -- XDF ---------------------------------------------------------------------------------------------
FORMATS = {"float32": "<f4", "double64": "<f8", "int16": "<i2", "int32": "<i4", "int64": "<i8", "int8": "<i1"}
BOUNDARY_UUID = bytes([0x43, 0xA5, 0x46, 0xDC, 0xCB, 0xF5, 0x41, 0x0F, 0xB3, 0x0E, 0xD5, 0x46, 0x73, 0x83, 0xCB, 0xE4])


@dataclass
class XdfStream:
    name: str
    type: str
    stamps: np.ndarray
    """time stamps on the stream's source clock (what an inlet gives without processing)"""
    values: object
    """(samples, channels) numbers, or a list of lists of strings"""
    srate: float = 0.0
    fmt: str = "float32"
    labels: list[str] = field(default_factory=list)
    unit: str = "microvolts"
    offsets: list[tuple[float, float]] = field(default_factory=list)
    """(collection time on the recorder's clock, offset): source + offset = recorder clock"""
    source_id: str = ""

    @property
    def channel_count(self) -> int:
        return len(self.values[0]) if len(self.values) else max(1, len(self.labels))


def _varlen(n: int) -> bytes:
    if n < 256:
        return b"\x01" + struct.pack("<B", n)
    if n < 2**32:
        return b"\x04" + struct.pack("<I", n)
    return b"\x08" + struct.pack("<Q", n)


def _chunk(tag: int, content: bytes, stream_id: int | None = None) -> bytes:
    body = struct.pack("<H", tag) + (b"" if stream_id is None else struct.pack("<I", stream_id)) + content
    return _varlen(len(body)) + body


def _header_xml(s: XdfStream, created_at: float) -> bytes:
    channels = "".join(
        f"<channel><label>{escape(label)}</label><unit>{escape(s.unit)}</unit><type>{escape(s.type)}</type></channel>"
        for label in s.labels
    )
    xml = (
        '<?xml version="1.0"?><info>'
        f"<name>{escape(s.name)}</name><type>{escape(s.type)}</type><channel_count>{s.channel_count}</channel_count>"
        f"<nominal_srate>{s.srate:g}</nominal_srate><channel_format>{s.fmt}</channel_format>"
        f"<source_id>{escape(s.source_id or s.name)}</source_id><version>1.1</version>"
        f"<created_at>{created_at:.6f}</created_at>"
        f"<uid>{uuid.uuid4()}</uid><session_id>default</session_id><hostname>miakit-test</hostname>"
        f"<desc>{'<channels>' + channels + '</channels>' if channels else ''}</desc></info>"
    )
    return xml.encode()


def _samples(s: XdfStream, lo: int, hi: int) -> bytes:
    out = [_varlen(hi - lo)]
    for k in range(lo, hi):
        out.append(b"\x08" + struct.pack("<d", float(s.stamps[k])))
        if s.fmt == "string":
            for value in s.values[k]:
                raw = str(value).encode()
                out.append(_varlen(len(raw)) + raw)
        else:
            out.append(np.asarray(s.values[k], dtype=FORMATS[s.fmt]).tobytes())
    return b"".join(out)


def write_xdf(
    path: Path,
    streams: list[XdfStream],
    *,
    chunk_s: float = 0.5,
    footers: bool = True,
    datetime_text: str = "2026-12-02T01:00:00+00:00",
) -> Path:
    """An XDF file holding ``streams``: headers, samples in ``chunk_s`` pieces in time order (with a
    Boundary chunk before each round), the clock offsets where they fall, and the footers."""
    chunks = [
        b"XDF:",
        _chunk(
            1, f'<?xml version="1.0"?><info><version>1.0</version><datetime>{datetime_text}</datetime></info>'.encode()
        ),
    ]
    for sid, s in enumerate(streams, start=1):
        chunks.append(_chunk(2, _header_xml(s, float(s.stamps[0]) if len(s.stamps) else 0.0), sid))
    starts = [float(s.stamps[0]) for s in streams if len(s.stamps)]
    ends = [float(s.stamps[-1]) for s in streams if len(s.stamps)]
    t, t_end = min(starts), max(ends)
    pos = [0] * len(streams)
    done_offsets = [0] * len(streams)
    while t <= t_end + chunk_s:
        chunks.append(_chunk(5, BOUNDARY_UUID))
        for sid, s in enumerate(streams, start=1):
            i = sid - 1
            hi = int(np.searchsorted(s.stamps, t + chunk_s, side="left"))
            if hi > pos[i]:
                chunks.append(_chunk(3, _samples(s, pos[i], hi), sid))
                pos[i] = hi
            while done_offsets[i] < len(s.offsets) and s.offsets[done_offsets[i]][0] < t + chunk_s:
                chunks.append(_chunk(4, struct.pack("<dd", *s.offsets[done_offsets[i]]), sid))
                done_offsets[i] += 1
        t += chunk_s
    if footers:
        for sid, s in enumerate(streams, start=1):
            offsets = "".join(f"<offset><time>{a:.6f}</time><value>{b:.9f}</value></offset>" for a, b in s.offsets)
            xml = (
                f'<?xml version="1.0"?><info><first_timestamp>{float(s.stamps[0]):.6f}</first_timestamp>'
                f"<last_timestamp>{float(s.stamps[-1]):.6f}</last_timestamp><sample_count>{len(s.stamps)}</sample_count>"
                f"<clock_offsets>{offsets}</clock_offsets></info>"
            )
            chunks.append(_chunk(6, xml.encode(), sid))
    path = Path(path)
    path.write_bytes(b"".join(chunks))
    return path
