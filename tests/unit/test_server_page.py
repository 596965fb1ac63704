"""The page at `/`: the static call page with the server's status rendered into it."""

from __future__ import annotations

from importlib import resources

from voxline.server.page import STATUS_SLOT, VERSION_SLOT, render_index


def info(**overrides) -> dict:
    base = {
        "version": "0.1.0",
        "ready": True,
        "error": None,
        "providers": {"stt": "local/whisper-tiny.en", "llm": "local/x", "tts": "local/y", "vad": "silero"},
        "listening": {"http": "http://127.0.0.1:8080"},
        "transports": [{"name": "webrtc", "page": "/", "signalling": "/webrtc/ws",
                        "active_calls": 3, "max_calls": 20}],
    }
    return base | overrides


def test_the_page_has_the_call_controls_and_the_status_panel():
    page = render_index(info())
    for element in ('id="call"', 'id="mute"', 'id="hangup"', 'id="transcript"', 'id="turns"',
                    'id="v2v-ms"', 'id="setup-ms"', 'src="/static/app.js"'):
        assert element in page
    assert STATUS_SLOT not in page and VERSION_SLOT not in page
    assert "models loaded and warm: ready for calls" in page
    assert "http://127.0.0.1:8080" in page and "local/whisper-tiny.en" in page
    assert "3 of 20 lines busy" in page


def test_loading_and_failed_models_are_said_and_escaped():
    assert "loading and warming models" in render_index(info(ready=False))
    page = render_index(info(ready=False, error="ModelMissingError: <missing> model"))
    assert "models failed to load: ModelMissingError: &lt;missing&gt; model" in page
    assert "<missing>" not in page
    assert "no call transport is enabled" in render_index(info(transports=[]))


def test_the_page_assets_ship_as_package_data():
    static = resources.files("voxline.server").joinpath("static")
    names = {entry.name for entry in static.iterdir()}
    assert {"index.html", "app.js", "style.css", "voice-gap.js"} <= names


def test_other_transports_are_listed_by_name_and_fields():
    page = render_index(info(transports=[{"name": "twilio", "webhook": "/twilio/voice"}]))
    assert "<li>twilio: webhook /twilio/voice</li>" in page
