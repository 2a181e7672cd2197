"""The reply channel: frames in any pieces, hard limits, nothing but JSON and float64."""

import os

import numpy as np
import pytest

from engine.runners.channel import (
    ARRAY_FRAME,
    HEADER,
    JSON_FRAME,
    MAX_JSON_BYTES,
    ChannelError,
    FrameReader,
    decode_array,
    decode_json,
    write_array,
    write_json,
)


def frames_through_a_pipe(write) -> list:
    read_end, write_end = os.pipe()
    write(write_end)
    os.close(write_end)
    reader = FrameReader(max_total_bytes=1 << 20)
    while data := os.read(read_end, 7):  # odd pieces: frames split anywhere
        reader.feed(data)
    os.close(read_end)
    reader.finish()
    return reader.frames


def test_a_message_and_an_array_arrive_whole_from_odd_sized_pieces():
    values = np.linspace(-1, 1, 11)

    def write(fd):
        write_json(fd, {"reply": {"ok": True}})
        write_array(fd, values)

    message, array = frames_through_a_pipe(write)
    assert decode_json(*message) == {"reply": {"ok": True}}
    assert np.array_equal(decode_array(*array, 11, "values"), values)


def test_more_bytes_than_allowed_in_total_are_refused():
    reader = FrameReader(max_total_bytes=100)
    with pytest.raises(ChannelError, match="larger than the 100 bytes"):
        reader.feed(b"\0" * 101)


def test_a_message_frame_claiming_more_than_the_message_limit_is_refused_at_once():
    reader = FrameReader(max_total_bytes=1 << 30)
    with pytest.raises(ChannelError, match="longer than"):
        reader.feed(HEADER.pack(JSON_FRAME, MAX_JSON_BYTES + 1))


def test_an_unknown_frame_kind_is_refused():
    with pytest.raises(ChannelError, match="not in GradScope's format"):
        FrameReader(1 << 20).feed(HEADER.pack(b"p", 3) + b"abc")


def test_a_reply_cut_in_the_middle_of_a_frame_is_an_error():
    reader = FrameReader(1 << 20)
    reader.feed(HEADER.pack(JSON_FRAME, 10) + b"{}")
    with pytest.raises(ChannelError, match="middle"):
        reader.finish()


def test_an_array_of_another_size_than_the_parent_expects_is_refused():
    body = np.zeros(5).tobytes()
    with pytest.raises(ChannelError, match="5 values, expected 6"):
        decode_array(ARRAY_FRAME, body, 6, "theta")


@pytest.mark.parametrize(
    "body", [b"\xff\xfe", b"[1, 2]", b"NaN", b"[" * 100_000 + b"]" * 100_000, b'{"a": Infinity}']
)
def test_a_message_that_is_not_a_plain_json_object_is_a_channel_error(body):
    with pytest.raises(ChannelError):
        decode_json(JSON_FRAME, body)
