"""Scenario files: what parses, and the errors a bad one gets."""

from pathlib import Path

import pytest

from voxline.bench.scenario import ScenarioError, load_scenario

GOOD = """
transport = "twilio"
calls = [1, 10, 25]
caller_processes = 4
ramp_s = 5

[script]
lines = ["hours", "whitening"]
"""


def write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_sweep_parses_with_defaults(tmp_path):
    scenario = load_scenario(write(tmp_path, GOOD, "twilio-sweep.toml"))
    assert scenario.name == "twilio-sweep"  # from the file name
    assert scenario.calls == [1, 10, 25] and scenario.is_sweep
    assert scenario.profile == "cloud-sim"
    assert scenario.worker.vad == "webrtc" and scenario.worker.endpoint_ms == 600
    assert scenario.provider_ms.llm_first_token == 200


def test_one_number_of_calls_is_a_single_step(tmp_path):
    scenario = load_scenario(write(tmp_path, GOOD.replace("[1, 10, 25]", "3")))
    assert scenario.calls == [3] and not scenario.is_sweep
    assert scenario.caller_processes == 3  # never more caller processes than calls


def test_every_shipped_scenario_parses():
    for path in sorted(Path("bench/scenarios").glob("*.toml")):
        assert load_scenario(path).calls, path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("twilio", "pigeon"), r"transport: Input should be 'twilio', 'webrtc' or 'sip'"),
        (("[1, 10, 25]", "[0, 10]"), r"calls: .*at least 1"),
        (("[1, 10, 25]", "[]"), r"calls: .*at least one"),
        (('"hours"', '"hello"'), r"script.lines: .*'hello' is neither a demo caller line"),
        (("ramp_s = 5", "ramp_s = -1"), r"ramp_s: .*greater than or equal to 0"),
        (("ramp_s = 5", "rampe_s = 5"), r"rampe_s: Extra inputs are not permitted"),
    ],
)
def test_bad_fields_are_named_with_what_is_wrong(tmp_path, change, message):
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(ScenarioError, match=message) as caught:
        load_scenario(path)
    assert str(path) in str(caught.value)


def test_missing_script_is_named(tmp_path):
    with pytest.raises(ScenarioError, match=r"script: Field required"):
        load_scenario(write(tmp_path, 'transport = "twilio"\ncalls = 1\n'))


def test_not_toml(tmp_path):
    with pytest.raises(ScenarioError, match=r"not valid TOML"):
        load_scenario(write(tmp_path, "calls = [1, \n"))


def test_no_such_file(tmp_path):
    with pytest.raises(ScenarioError, match=r"no such scenario file"):
        load_scenario(tmp_path / "missing.toml")


def test_a_wav_line_must_exist(tmp_path):
    with pytest.raises(ScenarioError, match=r"'gone.wav': no such WAV file"):
        load_scenario(write(tmp_path, GOOD.replace('"whitening"', '"gone.wav"')))


def test_worker_env_takes_only_voxline_settings(tmp_path):
    text = GOOD + '\n[worker]\nenv = { PATH = "/tmp" }\n'
    with pytest.raises(ScenarioError, match=r"only VOXLINE_\* settings"):
        load_scenario(write(tmp_path, text))
