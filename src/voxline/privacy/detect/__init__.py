"""PII detection for speech transcripts: spoken and written forms, across turns.

from voxline.privacy.detect import PiiDetector, redact_text
redact_text("my number is five five five oh one two three", PiiDetector())
-> "my number is [PHONE_1]"
"""

from voxline.privacy.detect.detector import PiiDetector
from voxline.privacy.detect.entity import (
    ADDRESS,
    BUILTIN_TYPES,
    CARD,
    DOB,
    EMAIL,
    NAME,
    PHONE,
    SSN,
    Entity,
    RedactionError,
)
from voxline.privacy.detect.interim import redact_interim
from voxline.privacy.detect.redact import placeholders, redact_text, replace_entities

__all__ = [
    "ADDRESS", "BUILTIN_TYPES", "CARD", "DOB", "EMAIL", "NAME", "PHONE", "SSN",
    "Entity", "PiiDetector", "RedactionError", "placeholders", "redact_interim",
    "redact_text",
    "replace_entities",
]  # fmt: skip
