"""What of a caller's words a record may keep.

Records hold transcripts with personal data replaced by placeholders ("[NUMBER]", "[EMAIL]"),
never the raw text. This is the records' own floor; the privacy layer (privacy/) plugs a
fuller redactor in through `Recorder(redact=...)`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Redactor = Callable[[str], str]

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
# Phone numbers, dates of birth, member ids: any run of 3+ digits, spaces and dashes allowed.
_NUMBER = re.compile(r"\+?\d[\d\s().-]{1,}\d")


def redact_text(text: str) -> str:
    text = _EMAIL.sub("[EMAIL]", text)
    return _NUMBER.sub("[NUMBER]", text)


def mask_caller(caller: str | None) -> str | None:
    """A caller's number or address with all but its last 4 characters hidden."""
    if not caller:
        return None
    return "*" * max(0, len(caller) - 4) + caller[-4:]
