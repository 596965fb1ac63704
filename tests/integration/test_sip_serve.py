"""The SIP listener starts and stops with the server when sip.enabled, and shows on /healthz."""

from __future__ import annotations

import socket

import pytest
from starlette.testclient import TestClient

from voxline.config import Settings, SIPSettings
from voxline.server.app import create_app

pytestmark = pytest.mark.models  # the app loads the models in the background


def options(port: int) -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5)
        mine = sock.getsockname()[1]
        sock.sendto(
            f"OPTIONS sip:agent@127.0.0.1 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{mine};branch=z9hG4bKserve\r\n"
            "From: <sip:probe@127.0.0.1>;tag=p\r\nTo: <sip:agent@127.0.0.1>\r\n"
            "Call-ID: serve-probe\r\nCSeq: 1 OPTIONS\r\n\r\n".encode(),
            ("127.0.0.1", port),
        )
        return sock.recv(4000).decode()


def test_the_sip_listener_runs_with_the_app_and_is_listed_on_healthz():
    app = create_app(Settings(sip=SIPSettings(enabled=True, port=0)))
    with TestClient(app) as client:
        reply = options(app.state.sip.port)
        assert reply.startswith("SIP/2.0 200 OK\r\n") and "Call-ID: serve-probe" in reply
        (sip,) = [t for t in client.get("/healthz").json()["transports"] if t["name"] == "sip"]
        assert sip["active_calls"] == 0 and sip["messages"] == {"OPTIONS": 1}
    assert app.state.sip.endpoint.transport.is_closing()  # stopped with the app


def test_no_sip_listener_unless_enabled():
    assert create_app(Settings()).state.sip is None
