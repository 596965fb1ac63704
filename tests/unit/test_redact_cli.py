"""`voxline redact`: stdin lines to stdout lines, policy from --config, failures withheld."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from voxline.privacy import redact_cli
from voxline.privacy.detect import PiiDetector, RedactionError


def _run(text: str, *args: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    rc = redact_cli.run(*args, stdin=io.StringIO(text), stdout=out, stderr=err)
    return rc, out.getvalue(), err.getvalue()


def test_one_line_out_per_line_in() -> None:
    text = "my number is five five five oh one two three\n\nno pii, two o'clock works\r\nlast"
    rc, out, _ = _run(text, None, False)
    assert rc == 0
    assert out.splitlines() == [
        "my number is [PHONE_1]",
        "",
        "no pii, two o'clock works",
        "last",
    ]


def test_show_types() -> None:
    _, out, _ = _run("this is mary jones, my ssn is 123-45-6789\nnothing\n", None, True)
    assert out.splitlines() == ["this is [NAME_1], my ssn is [SSN_1]\tNAME,SSN", "nothing\t"]


def test_config_sets_identifier_patterns(tmp_path: Path) -> None:
    config = tmp_path / "voxline.toml"
    config.write_text(
        "[privacy.detection]\n"
        'types = ["PHONE"]\n'
        "[[privacy.detection.identifiers]]\n"
        'type = "CLAIM"\n'
        'pattern = "CL\\\\d{6}"\n'
        'cues = ["claim number"]\n'
    )
    rc, out, _ = _run("claim number c l one two three four five six, i'm john smith\n", config,
                      False)  # fmt: skip
    assert rc == 0
    assert out == "claim number [CLAIM_1], i'm john smith\n"  # NAME is off in this policy


@pytest.mark.parametrize(
    ("content", "says"),
    [("[privacy.detection]\ntypes = ['PHONES']\n", "unknown PII types"),
     ("not toml = = =", "not valid TOML"),
     ("[[privacy.detection.identifiers]]\ntype = 'MRN'\npattern = '(['\ncues = ['mrn']\n",
      "not a valid regex")],
)  # fmt: skip
def test_bad_config_says_what_to_fix(tmp_path: Path, content: str, says: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(content)
    rc, out, err = _run("anything\n", config, False)
    assert rc == redact_cli.EXIT_CONFIG
    assert out == ""
    assert says in err


def test_a_failing_line_is_withheld_not_passed_through(monkeypatch: pytest.MonkeyPatch) -> None:
    real = PiiDetector.find

    def find(self: PiiDetector, text: str, *, carry: str = "") -> list:
        if "boom" in text:
            raise RedactionError("PII detection failed (ValueError); the turn's text was withheld")
        return real(self, text, carry=carry)

    monkeypatch.setattr(PiiDetector, "find", find)
    rc, out, err = _run("fine\nboom 555-0123\nfine again\n", None, False)
    assert rc == redact_cli.EXIT_WITHHELD
    assert out.splitlines() == ["fine", redact_cli.WITHHELD, "fine again"]
    assert "line 2 withheld" in err and "555" not in err


def test_the_command_answers_each_line_as_it_comes() -> None:
    # A live pipe: each line must come back before the next is written (flush per line).
    env = {**os.environ, "PYTHONUNBUFFERED": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from voxline.cli import main; raise SystemExit(main())", "redact"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert proc.stdin and proc.stdout
    try:
        proc.stdin.write("email bob at example dot com\n")
        proc.stdin.flush()
        assert proc.stdout.readline() == "email [EMAIL_1]\n"
        proc.stdin.write("card 4111 1111 1111 1111\n")
        proc.stdin.flush()
        assert proc.stdout.readline() == "card [CARD_1]\n"
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
