"""The loopback guard the suite runs under: non-loopback connects fail, loopback ones work."""

import socket
import threading

import pytest

from tests.upstream import EgressBlocked, install_loopback_guard


@pytest.fixture(autouse=True)
def guard():
    install_loopback_guard()


def test_non_loopback_connect_is_refused():
    with pytest.raises(EgressBlocked):
        socket.create_connection(("192.0.2.1", 80), timeout=0.5)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(EgressBlocked):
            s.connect(("8.8.8.8", 53))
        with pytest.raises(EgressBlocked):
            s.connect_ex(("1.1.1.1", 443))
    finally:
        s.close()


def test_ipv6_non_loopback_is_refused():
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    try:
        with pytest.raises(EgressBlocked):
            s.connect(("2001:db8::1", 80, 0, 0))
    finally:
        s.close()


def test_loopback_connect_works():
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    accepted = []
    thread = threading.Thread(target=lambda: accepted.append(server.accept()[0]))
    thread.start()
    client = socket.create_connection(("127.0.0.1", port), timeout=2)
    thread.join(2)
    client.close()
    for conn in accepted:
        conn.close()
    server.close()
    assert accepted


def test_guard_is_idempotent():
    install_loopback_guard()
    install_loopback_guard()
    with pytest.raises(EgressBlocked):
        socket.create_connection(("203.0.113.5", 443), timeout=0.5)
