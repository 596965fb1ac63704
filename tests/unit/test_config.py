import pytest

from voxline.config import Settings
from voxline.errors import ConfigError
from voxline.providers.registry import check_names


def test_unknown_provider_fails_at_start_naming_the_valid_ones():
    with pytest.raises(ConfigError) as err:
        check_names(Settings(llm="acme/gpt-nothing"))
    assert "VOXLINE_LLM" in str(err.value)
    assert "local/qwen2.5-coder-0.5b-instruct" in str(err.value)


def test_a_name_without_vendor_is_rejected():
    with pytest.raises(ValueError, match="vendor/model"):
        Settings(stt="whisper")


def test_environment_and_toml_file(tmp_path, monkeypatch):
    config = tmp_path / "voxline.toml"
    config.write_text('port = 9000\n[endpointing]\ntrailing_silence_ms = 640\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VOXLINE_PORT", "9100")  # the environment wins over the file
    settings = Settings()
    assert settings.port == 9100
    assert settings.endpointing.trailing_silence_ms == 640
    assert settings.endpointing.config().trailing_silence_ms == 640


def test_a_cloud_provider_without_its_key_fails_naming_the_variable(monkeypatch):
    monkeypatch.delenv("VOXLINE_DEEPGRAM_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="VOXLINE_DEEPGRAM_API_KEY"):
        check_names(Settings(stt="deepgram/nova-3"))
    check_names(Settings(stt="deepgram/nova-3", deepgram_api_key="k"))


def test_any_model_of_an_openai_compatible_vendor_and_fallback_lists(monkeypatch):
    monkeypatch.setenv("VOXLINE_GROQ_API_KEY", "k")
    settings = Settings(llm=["groq/llama-3.1-8b-instant", "local/qwen2.5-coder-0.5b-instruct"])
    check_names(settings)
    with pytest.raises(ConfigError, match="unknown tts provider"):
        check_names(Settings(tts="elevenlabs/no-such-model", elevenlabs_api_key="k"))
