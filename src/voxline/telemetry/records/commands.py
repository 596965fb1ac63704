"""`voxline records purge | show | decrypt`: the operator's access to call records, audited.

    voxline records purge --older-than 30d [--dry-run]   retention window (privacy.retention_days)
    voxline records show CALL_ID                          one call's records as JSON
    voxline records decrypt FILE.wav.enc --out FILE.wav   an encrypted recording back to WAV

Every command writes a line to the audit log (privacy.audit_log) before it touches a record;
one that cannot be audited does nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXIT_BAD_INPUT = 2


def add_parser(sub: argparse._SubParsersAction) -> None:
    records = sub.add_parser("records", help="call records: purge, show, decrypt recordings")
    commands = records.add_subparsers(dest="records_command", required=True)

    purge = commands.add_parser("purge", help="delete calls older than the retention window")
    purge.add_argument("--older-than", help="age such as 30d, 12h, 2w (default: "
                       "VOXLINE_PRIVACY__RETENTION_DAYS)")
    purge.add_argument("--dry-run", action="store_true", help="count, delete nothing")
    purge.set_defaults(func=cmd_purge)

    show = commands.add_parser("show", help="print one call's records (JSON)")
    show.add_argument("call_id")
    show.set_defaults(func=cmd_show)

    decrypt = commands.add_parser("decrypt", help="an encrypted recording back to a WAV")
    decrypt.add_argument("file", type=Path)
    decrypt.add_argument("--out", type=Path, required=True, help="WAV file to write")
    decrypt.set_defaults(func=cmd_decrypt)


def _context():  # settings, audit log, records engine: imported late, --help stays instant
    from voxline.config import Settings
    from voxline.privacy.audit import AuditLog
    from voxline.telemetry.records.database import database_url, make_engine

    settings = Settings()
    return settings, AuditLog(settings.privacy.audit_log), lambda: make_engine(
        database_url(settings))


def cmd_purge(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from voxline.privacy.audit import cli_actor
    from voxline.telemetry.records.purge import parse_age, purge

    settings, audit, engine = _context()
    if args.older_than:
        try:
            age = parse_age(args.older_than)
        except ValueError as err:
            print(f"voxline: {err}", file=sys.stderr)
            return EXIT_BAD_INPUT
    elif settings.privacy.retention_days:
        age = timedelta(days=settings.privacy.retention_days)
    else:
        print("voxline: say how old: --older-than 30d, or set "
              "VOXLINE_PRIVACY__RETENTION_DAYS", file=sys.stderr)
        return EXIT_BAD_INPUT
    audit.record(cli_actor(), "purge_dry_run" if args.dry_run else "purge",
                 older_than_s=int(age.total_seconds()))
    result = purge(engine(), age, dry_run=args.dry_run,
                   recordings_dir=settings.privacy.recordings_dir)
    print(result.summary())
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from voxline.privacy.audit import cli_actor
    from voxline.telemetry.records.queries import call_detail

    _, audit, engine = _context()
    audit.record(cli_actor(), "show_call", args.call_id)
    detail = call_detail(engine(), args.call_id)
    if detail is None:
        print(f"voxline: no record of call {args.call_id}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(json.dumps(detail, indent=2, default=str, ensure_ascii=False))
    return 0


def cmd_decrypt(args: argparse.Namespace) -> int:
    from voxline.audio.wav import write_wav
    from voxline.privacy.audit import cli_actor
    from voxline.privacy.recording_crypto import decrypt, load_key

    settings, audit, _ = _context()
    key = load_key(settings.privacy.recording_key_env)
    audit.record(cli_actor(), "decrypt_recording", args.file.name.split(".", 1)[0])
    with args.file.open("rb") as f:
        result = decrypt(f, key)
    write_wav(args.out, result.pcm, result.rate, result.channels)
    print(f"{args.out}: {len(result.pcm) // (2 * result.channels) / result.rate:.1f} s, "
          f"{result.channels} channels (caller left, agent right)")
    return 0
