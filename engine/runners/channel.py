"""The one way results leave a user-code sandbox: length-prefixed frames over a pipe.

A frame is one kind byte, a 4-byte big-endian length, then that many bytes. JSON
frames carry small messages (progress, the reply's header); array frames carry raw
little-endian float64 bytes. Nothing is unpickled, and the reader enforces a hard
byte limit per frame and in total, so a hostile child can send garbage or nothing,
but never make the parent allocate more than it allowed or run anything.
"""

from __future__ import annotations

import json
import os
import struct

import numpy as np

HEADER = struct.Struct(">cI")
JSON_FRAME, ARRAY_FRAME = b"j", b"a"
MAX_JSON_BYTES = 1024 * 1024  # 64 KB of output, JSON-escaped, fits


class ChannelError(ValueError):
    """The child broke the protocol: the message says how, in plain words."""


def write_json(fd: int, message: dict) -> None:
    _write_frame(fd, JSON_FRAME, json.dumps(message, allow_nan=False).encode())


def write_array(fd: int, values) -> None:
    data = np.ascontiguousarray(values, dtype="<f8").tobytes()
    _write_frame(fd, ARRAY_FRAME, data)


def _write_frame(fd: int, kind: bytes, body: bytes) -> None:
    view = memoryview(HEADER.pack(kind, len(body)) + body)
    while view:
        view = view[os.write(fd, view) :]


class FrameReader:
    """Parses frames from bytes fed in any pieces; refuses anything over its limits."""

    def __init__(self, max_total_bytes: int):
        self.max_total_bytes = max_total_bytes
        self.received = 0
        self.buffer = bytearray()
        self.frames: list[tuple[bytes, bytes]] = []

    def feed(self, data: bytes) -> None:
        self.received += len(data)
        if self.received > self.max_total_bytes:
            raise ChannelError(
                f"the reply was larger than the {self.max_total_bytes:,} bytes a check of "
                "this size needs"
            )
        self.buffer += data
        while len(self.buffer) >= HEADER.size:
            kind, length = HEADER.unpack_from(self.buffer)
            if kind not in (JSON_FRAME, ARRAY_FRAME):
                raise ChannelError("the reply was not in GradScope's format")
            if kind == JSON_FRAME and length > MAX_JSON_BYTES:
                raise ChannelError(f"a reply message was longer than {MAX_JSON_BYTES:,} bytes")
            if len(self.buffer) < HEADER.size + length:
                return
            body = bytes(self.buffer[HEADER.size : HEADER.size + length])
            del self.buffer[: HEADER.size + length]
            self.frames.append((kind, body))

    def finish(self) -> None:
        if self.buffer:
            raise ChannelError("the reply ended in the middle of a message")


def decode_json(kind: bytes, body: bytes) -> dict:
    if kind != JSON_FRAME:
        raise ChannelError("expected a message, got an array")
    try:
        message = json.loads(body.decode("utf-8"), parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ChannelError("a reply message was not valid JSON") from None
    if not isinstance(message, dict):
        raise ChannelError("a reply message was not a JSON object")
    return message


def decode_array(kind: bytes, body: bytes, size: int, name: str) -> np.ndarray:
    """`size` float64 values, or ChannelError: the parent decides sizes, not the child."""
    if kind != ARRAY_FRAME:
        raise ChannelError(f"expected the {name} values, got a message")
    if len(body) != 8 * size:
        raise ChannelError(f"{name} has {len(body) // 8:,} values, expected {size:,}")
    return np.frombuffer(body, dtype="<f8").astype(np.float64)


def _no_constants(name: str):
    raise ValueError(name)
