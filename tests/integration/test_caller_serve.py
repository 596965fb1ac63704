"""`place_call` against a real `voxline serve` in the cloud-sim profile (Deepgram, OpenAI and
ElevenLabs clients against local servers speaking their protocols, in a process of their own),
once per transport: every turn is answered, with voice-to-voice in a plausible range."""

from __future__ import annotations

import pytest
import pytest_asyncio

from voxline.bench.caller import Script, ScriptTurn, place_call
from voxline.config import Settings
from voxline.demo import CALLER_LINES
from voxline.testing.serve_process import free_port, served
from voxline.testing.sim_process import cloud_sim_process

pytestmark = [pytest.mark.models, pytest.mark.asyncio(loop_scope="module")]

TOKEN = "caller-harness-token"
PLAUSIBLE_V2V_MS = (150, 8000)  # endpointing + three loopback providers, on a shared machine


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory):
    texts = [line.text for line in CALLER_LINES]
    async with cloud_sim_process(Settings(), transcripts=texts * 10) as sim:
        s = sim.settings
        sip_port = free_port()
        env = {
            "VOXLINE_STT": s.stt, "VOXLINE_LLM": s.llm, "VOXLINE_TTS": s.tts,
            "VOXLINE_DEEPGRAM_API_KEY": s.deepgram_api_key.get_secret_value(),
            "VOXLINE_DEEPGRAM_URL": s.deepgram_url,
            "VOXLINE_OPENAI_API_KEY": s.openai_api_key.get_secret_value(),
            "VOXLINE_OPENAI_BASE_URL": s.openai_base_url,
            "VOXLINE_ELEVENLABS_API_KEY": s.elevenlabs_api_key.get_secret_value(),
            "VOXLINE_ELEVENLABS_URL": s.elevenlabs_url,
            "VOXLINE_ELEVENLABS_AUDIO_TIMEOUT_S": str(s.elevenlabs_audio_timeout_s),
            "VOXLINE_TWILIO__AUTH_TOKEN": TOKEN,
            "VOXLINE_SIP__ENABLED": "true", "VOXLINE_SIP__PORT": str(sip_port),
        }
        with served(env, log_dir=tmp_path_factory.mktemp("serve")) as running:
            yield running, sip_port


@pytest.fixture(scope="module")
def script(caller_wavs):
    return Script([ScriptTurn(caller_wavs["hours"]), ScriptTurn(caller_wavs["cleaning"])],
                  reply_timeout_s=20)


@pytest.mark.parametrize("transport", ["twilio", "webrtc", "sip"])
async def test_a_scripted_call_is_answered_every_turn(server, script, transport, tmp_path):
    running, sip_port = server
    target = {"twilio": running.url, "webrtc": running.url,
              "sip": f"sip:agent@127.0.0.1:{sip_port}"}[transport]
    result = await place_call(target, transport, script, record_dir=tmp_path, timeout_s=120,
                              twilio_auth_token=TOKEN)
    assert result.error is None and result.ended_by == "caller", (result.to_dict(),
                                                                   running.log()[-3000:])
    assert [t.answered for t in result.turns] == [True, True], result.to_dict()
    for turn in result.turns:
        assert PLAUSIBLE_V2V_MS[0] <= turn.voice_to_voice_ms <= PLAUSIBLE_V2V_MS[1], turn
    assert result.setup_ms is not None and result.frames_received > 50
