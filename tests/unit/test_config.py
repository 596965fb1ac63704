import pytest

from voxline.config import Settings
from voxline.errors import ConfigError
from voxline.providers.registry import check_names


def test_unknown_provider_fails_at_start_naming_the_valid_ones():
    with pytest.raises(ConfigError) as err:
        check_names(Settings(llm="openai/gpt-nothing"))
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
