"""`voxline redact`: transcript lines on stdin, the same lines redacted on stdout.

    printf 'my number is five five five oh one two three\n' | voxline redact
    my number is [PHONE_1]

One line out per line in, flushed as each is written, so it works on a live feed and lets an
operator check a detection policy (`--config`, the [privacy.detection] table of a voxline TOML
file) on their own transcripts. Placeholders are numbered per line. A line whose detection
fails is withheld ([REDACTION_FAILED]) and counted on stderr, never passed through.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path
from typing import TextIO

WITHHELD = "[REDACTION_FAILED]"
EXIT_WITHHELD = 1
EXIT_CONFIG = 2


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        help="TOML file whose [privacy.detection] table sets the types and identifier "
        "patterns (default: voxline's built-in policy)",
    )
    parser.add_argument(
        "--show-types",
        action="store_true",
        help="after each line, a tab and the types found in it (e.g. 'NAME,PHONE')",
    )
    parser.set_defaults(func=lambda args: run(args.config, args.show_types))


def load_detection(path: Path | None):  # -> PrivacyDetectionSettings
    from pydantic import ValidationError

    from voxline.config import PrivacyDetectionSettings
    from voxline.errors import ConfigError

    if path is None:
        return PrivacyDetectionSettings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(
            f"cannot read {path}: {err.strerror}; give a readable TOML file"
        ) from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path} is not valid TOML ({err}); fix the file") from None
    table = data.get("privacy", {}).get("detection", data.get("detection", {}))
    try:
        return PrivacyDetectionSettings.model_validate(table)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors()
        )
        raise ConfigError(f"{path} [privacy.detection] is invalid: {problems}") from None


def run(
    config: Path | None,
    show_types: bool,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    from voxline.errors import ConfigError
    from voxline.privacy.detect import PiiDetector, RedactionError, replace_entities

    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    try:
        detector = PiiDetector(load_detection(config))
    except ConfigError as err:
        print(f"voxline redact: {err}", file=stderr)
        return EXIT_CONFIG
    withheld = 0
    for number, line in enumerate(iter(stdin.readline, ""), 1):
        text = line.rstrip("\r\n")
        try:
            entities = detector.find(text)
            out = replace_entities(text, entities)
            types = sorted({e.type for e in entities})
        except RedactionError as err:
            withheld += 1
            out, types = WITHHELD, []
            print(f"voxline redact: line {number} withheld: {err}", file=stderr)
        stdout.write(f"{out}\t{','.join(types)}\n" if show_types else f"{out}\n")
        stdout.flush()
    if withheld:
        print(f"voxline redact: {withheld} line(s) withheld", file=stderr)
        return EXIT_WITHHELD
    return 0
