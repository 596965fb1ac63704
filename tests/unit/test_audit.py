"""The audit log of record access: append-only JSON lines written by the dashboard and the CLI
for every view, and an access that cannot be audited is refused."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from voxline import cli
from voxline.privacy.audit import AuditError, AuditLog, read_audit
from voxline.server.dashboard import Dashboard
from voxline.telemetry.records import migrate, ops
from voxline.telemetry.records.recorder import Recorder
from voxline.telemetry.records.redaction import redact_text
from voxline.telemetry.records.store import apply_ops


def test_lines_are_appended_never_rewritten(tmp_path):
    path = tmp_path / "sub" / "audit.jsonl"
    log = AuditLog(path)
    log.record("cli ann@host", "show_call", "abc123")
    first = path.read_bytes()
    AuditLog(path).record("dashboard 10.0.0.7", "view_calls", None, window="24h")
    assert path.read_bytes().startswith(first)  # the earlier line is untouched
    lines = read_audit(path)
    assert [(x["actor"], x["action"], x["target"]) for x in lines] == [
        ("cli ann@host", "show_call", "abc123"), ("dashboard 10.0.0.7", "view_calls", None)]
    assert lines[1]["detail"] == {"window": "24h"}
    assert datetime.fromisoformat(lines[0]["at"]).tzinfo is not None
    assert oct(path.stat().st_mode & 0o777) == "0o600"  # operators only


def test_an_unwritable_log_raises_with_what_to_do(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(AuditError, match="VOXLINE_PRIVACY__AUDIT_LOG"):
        AuditLog(blocker / "audit.jsonl").record("x", "view_calls")


@pytest.fixture
def records(tmp_path):
    recorder = Recorder(f"sqlite:///{tmp_path / 'calls.sqlite'}", tmp_path / "spool.jsonl")
    migrate.upgrade(recorder.reader())
    now = datetime.now(UTC)
    record = {"index": 0, "outcome": "answered", "transcript": "call [PHONE_1]", "reply": "ok",
              "heard": "ok", "latency": {}, "stamps_ms": {}, "waterfall": []}
    with recorder.reader().begin() as db:
        apply_ops(db, [ops.call_row("c1", "file", now, outcome="answered", turn_count=1,
                                    stt_reconnections=0, flags=[]),
                       ops.turn_row("c1", record, redact_text)])
    yield recorder
    recorder.close()


def test_dashboard_views_are_audited(records, tmp_path):
    path = tmp_path / "audit.jsonl"
    app = Starlette(routes=Dashboard(lambda: records, {}, audit=AuditLog(path)).routes())
    with TestClient(app) as client:
        assert client.get("/calls?window=7d").status_code == 200
        page = client.get("/calls/c1")
        assert page.status_code == 200 and "call [PHONE_1]" in page.text
        assert client.get("/calls/nope").status_code == 404
    lines = read_audit(path)
    assert [(x["action"], x["target"]) for x in lines] == [
        ("view_calls", None), ("view_call", "c1"), ("view_call", "nope")]
    assert lines[0]["detail"] == {"window": "7d"}
    assert all(x["actor"].startswith("dashboard ") for x in lines)


def test_dashboard_refuses_a_view_it_cannot_audit(records, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    audit = AuditLog(blocker / "audit.jsonl")
    app = Starlette(routes=Dashboard(lambda: records, {}, audit=audit).routes())
    with TestClient(app) as client:
        page = client.get("/calls/c1")
    assert page.status_code == 503 and "[PHONE_1]" not in page.text
    assert "audit log" in page.text


def test_cli_show_is_audited_and_prints_the_redacted_record(records, tmp_path, monkeypatch,
                                                            capsys):
    monkeypatch.setenv("VOXLINE_RECORDS_DIR", str(tmp_path))
    monkeypatch.setenv("VOXLINE_PRIVACY__AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    assert cli.main(["records", "show", "c1"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["turns"][0]["transcript"] == "call [PHONE_1]"
    assert cli.main(["records", "show", "missing"]) == 2
    lines = read_audit(tmp_path / "audit.jsonl")
    assert [(x["action"], x["target"]) for x in lines] == [("show_call", "c1"),
                                                           ("show_call", "missing")]
    assert lines[0]["actor"].startswith("cli ")


def test_cli_decrypt_writes_the_wav_and_is_audited(tmp_path, monkeypatch, capsys):
    from voxline.privacy.recording_crypto import EncryptedWriter

    key = os.urandom(32)
    monkeypatch.setenv("VOXLINE_RECORDING_KEY", key.hex())
    monkeypatch.setenv("VOXLINE_PRIVACY__AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    source = tmp_path / "c9.wav.enc"
    with source.open("wb") as f:
        writer = EncryptedWriter(f, key, 16000, channels=2)
        writer.write(bytes(range(256)) * 250)
        writer.close()
    out = tmp_path / "c9.wav"
    assert cli.main(["records", "decrypt", str(source), "--out", str(out)]) == 0
    assert out.read_bytes()[44:] == bytes(range(256)) * 250
    assert read_audit(tmp_path / "audit.jsonl")[0]["action"] == "decrypt_recording"
    assert read_audit(tmp_path / "audit.jsonl")[0]["target"] == "c9"
