"""SIP messages (RFC 3261 section 7): parse bytes into a Request or Response, and build bytes.

Rules this module keeps:
 1. Header names are case-insensitive and have compact forms ('v' is Via, 'i' Call-ID...): both
    are stored under the canonical name, in arrival order.
 2. A line that starts with a space or tab continues the header above it (folding, 7.3.1).
 3. Comma-separated values of a list header (Via, Route, ...) are the same as repeated lines.
 4. Content-Length decides where the body ends; over UDP a missing one means "the rest of the
    datagram", extra bytes past it are dropped (18.3), and a body shorter than it is an error.
 5. A message that cannot be understood raises SipParseError carrying the status to answer
    with (400, or 505 for another SIP version) and whatever headers were readable, so the
    shell can still answer a request it could not parse.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from voxline.protocols.sip.headers import (
    NameAddr,
    SipHeaderError,
    Via,
    is_token,
    parse_cseq,
    parse_name_addr,
    parse_uri,
    parse_via,
    split_commas,
)

SIP_VERSION = "SIP/2.0"
MAX_MESSAGE_BYTES = 65_535  # one UDP datagram
MAX_HEADERS = 200  # more lines than any real UA sends: a flood, refused before the work

COMPACT = {
    "a": "Accept-Contact", "b": "Referred-By", "c": "Content-Type", "d": "Request-Disposition",
    "e": "Content-Encoding", "f": "From", "i": "Call-ID", "j": "Reject-Contact",
    "k": "Supported", "l": "Content-Length", "m": "Contact", "o": "Event", "r": "Refer-To",
    "s": "Subject", "t": "To", "u": "Allow-Events", "v": "Via", "x": "Session-Expires",
    "y": "Identity",
}
_CANONICAL = {
    name.lower(): name
    for name in (
        *COMPACT.values(), "Accept", "Allow", "Authorization", "CSeq", "Max-Forwards",
        "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Require", "Record-Route",
        "Require", "Retry-After", "Route", "Server", "Unsupported", "User-Agent", "Warning",
        "WWW-Authenticate", "Expires", "Timestamp", "Reason", "Min-SE", "RSeq", "RAck",
    )
}
# Headers whose value is a comma-separated list (7.3.1); others (auth, dates) keep commas.
LIST_HEADERS = frozenset(
    {"Via", "Route", "Record-Route", "Contact", "Allow", "Supported", "Require",
     "Proxy-Require", "Unsupported", "Accept", "Allow-Events"}
)

REASONS = {
    100: "Trying", 180: "Ringing", 183: "Session Progress", 200: "OK",
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 407: "Proxy Authentication Required", 408: "Request Timeout",
    415: "Unsupported Media Type", 420: "Bad Extension", 480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist", 482: "Loop Detected", 483: "Too Many Hops",
    486: "Busy Here", 487: "Request Terminated", 488: "Not Acceptable Here",
    491: "Request Pending", 500: "Server Internal Error", 501: "Not Implemented",
    503: "Service Unavailable", 505: "Version Not Supported", 603: "Decline",
}


def canonical_name(name: str) -> str:
    lowered = name.strip().lower()
    if lowered in COMPACT:
        return COMPACT[lowered]
    return _CANONICAL.get(lowered, "-".join(p.capitalize() for p in lowered.split("-")))


class SipParseError(ValueError):
    """A message that cannot be understood. `status` is what to answer (400 or 505); `request`
    is the partly read request (start line and headers) when it was one, else None."""

    def __init__(self, reason: str, *, status: int = 400, partial: Request | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.partial = partial


class Headers:
    """An ordered multi-map of header lines, looked up by canonical name."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = []
        for name, value in items:
            self.add(name, value)

    def add(self, name: str, value: str) -> None:
        name = canonical_name(name)
        values = split_commas(value) if name in LIST_HEADERS else [value.strip()]
        self._items.extend((name, v) for v in values)

    def get(self, name: str, default: str | None = None) -> str | None:
        name = canonical_name(name)
        return next((v for n, v in self._items if n == name), default)

    def get_all(self, name: str) -> list[str]:
        name = canonical_name(name)
        return [v for n, v in self._items if n == name]

    def set(self, name: str, value: str) -> None:
        """Replace every line of `name` with one line (placed where the first one was)."""
        name = canonical_name(name)
        at = next((i for i, (n, _) in enumerate(self._items) if n == name), len(self._items))
        self.remove(name)
        self._items.insert(at, (name, value))

    def replace_first(self, name: str, value: str) -> None:
        """Change the first line of `name` in place (the top Via, say)."""
        name = canonical_name(name)
        for i, (n, _) in enumerate(self._items):
            if n == name:
                self._items[i] = (name, value)
                return
        self._items.append((name, value))

    def remove(self, name: str) -> None:
        name = canonical_name(name)
        self._items = [(n, v) for n, v in self._items if n != name]

    def prepend(self, name: str, value: str) -> None:
        self._items.insert(0, (canonical_name(name), value))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(list(self._items))

    def copy(self) -> Headers:
        copied = Headers()
        copied._items = list(self._items)
        return copied


@dataclass
class _Message:
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    # -- typed views of the headers every message has ---------------------------------------

    @property
    def call_id(self) -> str:
        return self._required("Call-ID")

    @property
    def cseq(self) -> tuple[int, str]:
        return _typed(parse_cseq, self._required("CSeq"), "CSeq")

    @property
    def vias(self) -> list[Via]:
        return [_typed(parse_via, v, "Via") for v in self.headers.get_all("Via")]

    @property
    def top_via(self) -> Via:
        vias = self.vias
        if not vias:
            raise SipParseError("no Via header")
        return vias[0]

    @property
    def from_(self) -> NameAddr:
        return _typed(parse_name_addr, self._required("From"), "From")

    @property
    def to(self) -> NameAddr:
        return _typed(parse_name_addr, self._required("To"), "To")

    @property
    def contact(self) -> NameAddr | None:
        value = self.headers.get("Contact")
        return None if value is None else _typed(parse_name_addr, value, "Contact")

    @property
    def content_type(self) -> str | None:
        value = self.headers.get("Content-Type")
        return None if value is None else value.split(";")[0].strip().lower()

    def _required(self, name: str) -> str:
        value = self.headers.get(name)
        if value is None:
            raise SipParseError(f"no {name} header")
        return value

    def _head_and_body(self, start_line: str) -> bytes:
        lines = [start_line]
        for name, value in self.headers:
            if name != "Content-Length":
                lines.append(f"{name}: {value}")
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


@dataclass
class Request(_Message):
    method: str = "OPTIONS"
    uri: str = "sip:invalid"

    def to_bytes(self) -> bytes:
        return self._head_and_body(f"{self.method} {self.uri} {SIP_VERSION}")


@dataclass
class Response(_Message):
    status: int = 200
    reason: str = "OK"

    def to_bytes(self) -> bytes:
        return self._head_and_body(f"{SIP_VERSION} {self.status} {self.reason}")


Message = Request | Response


def _typed(parse, value: str, name: str):
    try:
        return parse(value)
    except SipHeaderError as err:
        raise SipParseError(f"bad {name} header: {err}") from err


# -- parsing ---------------------------------------------------------------------------------


def parse_message(data: bytes) -> Message:
    """One whole SIP message (a UDP datagram). Raises SipParseError; never anything else."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise SipParseError(f"message of {len(data)} bytes is larger than a UDP datagram")
    data = data.lstrip(b"\r\n")  # keep-alive CRLFs before a message are allowed (7.5)
    head, body = _split_head(data)
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SipParseError(f"the header block is not UTF-8 (byte {err.start})") from err
    lines = _unfold(text.split("\n"))
    if not lines or not lines[0]:
        raise SipParseError("an empty message")
    try:
        message = _start_line(lines[0])
    except SipParseError as err:
        if err.partial is not None:  # read on, so the answer can be addressed
            _best_effort_headers(err.partial, lines[1:])
        raise
    for line in lines[1:]:
        _add_header_line(message, line)
    message.body = _body(message, body)
    _check(message)
    return message


def _split_head(data: bytes) -> tuple[bytes, bytes]:
    for sep in (b"\r\n\r\n", b"\n\n"):
        at = data.find(sep)
        if at >= 0:
            return data[:at], data[at + len(sep) :]
    # No blank line: a message without a body whose sender left the final CRLF off.
    return data, b""


def _unfold(raw_lines: list[str]) -> list[str]:
    lines: list[str] = []
    for raw in raw_lines:
        line = raw.rstrip("\r")
        if line[:1] in (" ", "\t") and len(lines) > 1:
            lines[-1] = lines[-1].rstrip() + " " + line.strip()
        elif line.strip() or not lines:
            lines.append(line)
    if len(lines) > MAX_HEADERS:
        raise SipParseError(f"{len(lines)} header lines: more than {MAX_HEADERS}")
    return lines


def _start_line(line: str) -> Message:
    parts = line.split(" ", 2)
    if line.startswith("SIP/"):
        if len(parts) < 2:
            raise SipParseError(f"status line {line[:80]!r} has no status code")
        if parts[0] != SIP_VERSION:
            raise SipParseError(f"version {parts[0][:20]!r} is not {SIP_VERSION}", status=505)
        if not (len(parts[1]) == 3 and parts[1].isdigit() and 100 <= int(parts[1]) <= 699):
            raise SipParseError(f"status code {parts[1][:20]!r} is not 100-699")
        return Response(status=int(parts[1]), reason=parts[2] if len(parts) > 2 else "")
    if len(parts) != 3 or not parts[1]:
        raise SipParseError(f"request line {line[:80]!r} is not 'METHOD URI SIP/2.0'")
    method, uri, version = parts
    request = Request(method=method, uri=uri)
    if not is_token(method):
        raise SipParseError(f"method {method[:30]!r} is not a token", partial=request)
    if version.strip().upper() != SIP_VERSION:
        if version.strip().upper().startswith("SIP/"):
            raise SipParseError(f"version {version[:20]!r} is not {SIP_VERSION}", status=505,
                                partial=request)
        raise SipParseError(f"request line {line[:80]!r} is not 'METHOD URI SIP/2.0'",
                            partial=request)
    try:
        parse_uri(uri)
    except SipHeaderError as err:
        raise SipParseError(f"bad Request-URI: {err}", partial=request) from err
    return request


def _add_header_line(message: Message, line: str) -> None:
    name, colon, value = line.partition(":")
    name = name.strip()
    if not colon or not is_token(name):
        raise SipParseError(f"header line {line[:80]!r} is not 'Name: value'",
                            partial=message if isinstance(message, Request) else None)
    message.headers.add(name, value)


def _best_effort_headers(request: Request, lines: list[str]) -> None:
    for line in lines:
        try:
            _add_header_line(request, line)
        except SipParseError:
            continue


def _body(message: Message, rest: bytes) -> bytes:
    partial = message if isinstance(message, Request) else None
    values = message.headers.get_all("Content-Length")
    if not values:
        return rest
    if len(set(values)) > 1:
        raise SipParseError(f"conflicting Content-Length values {values}", partial=partial)
    value = values[0]
    if not value.isdigit():
        raise SipParseError(f"Content-Length {value[:20]!r} is not a whole number",
                            partial=partial)
    length = int(value)
    if length > len(rest):
        raise SipParseError(
            f"Content-Length says {length} bytes but the body has {len(rest)}", partial=partial
        )
    return rest[:length]


def _check(message: Message) -> None:
    """The headers every request and response needs, and consistent CSeq (8.1.1)."""
    partial = message if isinstance(message, Request) else None
    try:
        for name in ("Call-ID", "From", "To", "CSeq"):
            message._required(name)
        message.top_via  # noqa: B018 - parses the topmost Via
        message.from_  # noqa: B018
        message.to  # noqa: B018
        _number, method = message.cseq
    except SipParseError as err:
        err.partial = partial
        raise
    if isinstance(message, Request) and method != message.method:
        raise SipParseError(
            f"CSeq method {method!r} does not match the request method {message.method!r}",
            partial=partial,
        )
    max_forwards = message.headers.get("Max-Forwards")
    if max_forwards is not None and not max_forwards.isdigit():
        raise SipParseError(f"Max-Forwards {max_forwards[:20]!r} is not a number", partial=partial)


# -- building --------------------------------------------------------------------------------


def response_to(
    request: Request,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
) -> Response:
    """A response that copies what 8.2.6.2 says to copy: every Via, From, Call-ID, CSeq, and To
    (with our tag added when it has none), plus Record-Route for a dialog-making answer."""
    out = Headers()
    for name in ("Via", "From", "To", "Call-ID", "CSeq"):
        for value in request.headers.get_all(name):
            out.add(name, value)
    if to_tag is not None and status != 100:  # 100 Trying carries no tag (8.2.6.1)
        to = request.to
        if to.tag is None:
            out.set("To", str(to.with_tag(to_tag)))
    if request.method == "INVITE" and 100 < status < 300:
        for value in request.headers.get_all("Record-Route"):
            out.add("Record-Route", value)
    for name, value in headers:
        out.add(name, value)
    return Response(out, body, status, reason if reason is not None else REASONS.get(status, ""))


def error_response_to(err: SipParseError) -> Response | None:
    """The answer to a request that failed to parse, when enough of it was read to address one
    (a Via, Call-ID, CSeq, From and To); None otherwise (nothing can be sent back then)."""
    request = err.partial
    if request is None or request.method == "ACK":  # an ACK is never answered
        return None
    headers = request.headers
    if not all(headers.get(n) for n in ("Via", "Call-ID", "CSeq", "From", "To")):
        return None
    try:  # the answer copies these: if they do not parse, neither would the answer
        request.vias, request.cseq, request.from_, request.to  # noqa: B018
    except SipParseError:
        return None
    reason = f"{REASONS.get(err.status, 'Bad Request')}"
    return response_to(request, err.status, reason,
                       headers=[("Warning", f'399 voxline "{_quote_safe(err.reason)}"')])


def _quote_safe(text: str) -> str:
    return "".join(ch for ch in text[:120] if ch.isprintable() and ch not in '"\\')
