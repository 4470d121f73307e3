"""The replication reader's socket: a fixed receive buffer on TCP (stream.limit_receive_buffer)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

from kuaike.capture.postgres.stream import limit_receive_buffer
from kuaike.config import CaptureSettings

RECEIVE_BUFFER = CaptureSettings().receive_buffer_kb * 1024


@contextmanager
def _tcp_pair() -> Iterator[socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as server:
        client = socket.create_connection(server.getsockname())
        peer, _ = server.accept()
        try:
            yield client
        finally:
            peer.close()
            client.close()


def test_tcp_replication_socket_gets_the_fixed_receive_buffer_and_stays_open() -> None:
    with _tcp_pair() as client:
        limit_receive_buffer(client, RECEIVE_BUFFER)
        # Linux doubles the size asked for (bookkeeping overhead); other kernels keep it.
        size = client.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        assert RECEIVE_BUFFER <= size <= 2 * RECEIVE_BUFFER
        client.getpeername()  # the duplicate descriptor was closed, not the connection


def test_unix_socket_receive_buffer_is_left_alone() -> None:
    left, right = socket.socketpair(socket.AF_UNIX)
    with left, right:
        before = left.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        limit_receive_buffer(left, RECEIVE_BUFFER)
        assert left.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) == before
