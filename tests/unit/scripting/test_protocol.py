"""The worker's frames over a real pipe: round trips, the size bound both ways, hang-ups and the read deadline."""

from __future__ import annotations

import os
import struct
import time

import pytest

from twinbridge.scripting import protocol


@pytest.fixture
def pipe():
    reader, writer = os.pipe()
    yield reader, writer
    for fd in (reader, writer):
        try:
            os.close(fd)
        except OSError:
            pass


def test_a_message_round_trips(pipe):
    reader, writer = pipe
    message = {"op": "call", "args": [{"summary": "Zoë 🚀", "n": 1.5}, None], "deadline": 0.2}

    protocol.send(writer, protocol.encode(message))

    assert protocol.receive(reader, time.monotonic() + 5) == message


def test_a_message_over_the_limit_is_not_encoded():
    with pytest.raises(protocol.FrameTooLargeError):
        protocol.encode("x" * (protocol.FRAME_LIMIT + 1))


def test_a_frame_announcing_more_than_the_limit_is_refused_before_reading_it(pipe):
    reader, writer = pipe
    os.write(writer, struct.pack(">I", protocol.FRAME_LIMIT + 1))

    with pytest.raises(protocol.FrameTooLargeError):
        protocol.receive(reader, time.monotonic() + 5)


def test_a_frame_that_is_not_json_is_a_channel_error(pipe):
    reader, writer = pipe
    os.write(writer, struct.pack(">I", 3) + b"{x}")

    with pytest.raises(protocol.ChannelError, match="not JSON"):
        protocol.receive(reader)


def test_a_hang_up_mid_frame_is_a_channel_error(pipe):
    reader, writer = pipe
    os.write(writer, struct.pack(">I", 100) + b'{"a"')
    os.close(writer)

    with pytest.raises(protocol.ChannelError, match="hung up"):
        protocol.receive(reader, time.monotonic() + 5)


def test_a_frame_not_complete_by_the_deadline_times_out(pipe):
    reader, writer = pipe
    os.write(writer, struct.pack(">I", 100) + b'{"a"')

    with pytest.raises(protocol.ChannelTimeoutError):
        protocol.receive(reader, time.monotonic() + 0.01)
