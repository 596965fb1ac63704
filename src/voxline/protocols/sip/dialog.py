"""A SIP dialog (RFC 3261 section 12): the tags, route set, remote target and CSeq counters
that every request inside a call must carry, and the check of requests that come in one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from voxline.protocols.sip.headers import MAGIC_COOKIE, parse_name_addr
from voxline.protocols.sip.message import Headers, Request, Response


def new_tag() -> str:
    return secrets.token_hex(6)


def new_branch() -> str:
    return MAGIC_COOKIE + secrets.token_hex(8)


class DialogError(ValueError):
    """A request that does not belong in this dialog; `status` is the answer to give."""

    def __init__(self, reason: str, status: int) -> None:
        super().__init__(reason)
        self.status = status


@dataclass
class Dialog:
    call_id: str
    local_tag: str
    remote_tag: str | None
    local_uri: str  # the From (UAC) or To (UAS) header value, without the tag
    remote_uri: str
    remote_target: str  # the peer's Contact URI: where in-dialog requests go
    route_set: list[str] = field(default_factory=list)
    local_cseq: int = 0
    remote_cseq: int | None = None

    @property
    def id(self) -> tuple[str, str, str | None]:
        return self.call_id, self.local_tag, self.remote_tag

    @classmethod
    def as_uas(cls, invite: Request, local_tag: str) -> Dialog:
        """12.1.1: from an INVITE we answer; the route set is Record-Route as it came."""
        contact = invite.contact
        if contact is None:
            raise DialogError("the INVITE has no Contact: nowhere to send in-dialog requests", 400)
        from_ = invite.from_
        return cls(
            call_id=invite.call_id,
            local_tag=local_tag,
            remote_tag=from_.tag,
            local_uri=_without_tag(invite.headers.get("To") or ""),
            remote_uri=_without_tag(invite.headers.get("From") or ""),
            remote_target=contact.uri,
            route_set=invite.headers.get_all("Record-Route"),
            local_cseq=0,
            remote_cseq=invite.cseq[0],
        )

    @classmethod
    def as_uac(cls, invite: Request, response: Response) -> Dialog:
        """12.1.2: from a 2xx to an INVITE we sent; the route set is Record-Route reversed."""
        contact = response.contact
        to = response.to
        return cls(
            call_id=invite.call_id,
            local_tag=invite.from_.tag or "",
            remote_tag=to.tag,
            local_uri=_without_tag(invite.headers.get("From") or ""),
            remote_uri=_without_tag(response.headers.get("To") or ""),
            remote_target=contact.uri if contact else invite.uri,
            route_set=list(reversed(response.headers.get_all("Record-Route"))),
            local_cseq=invite.cseq[0],
            remote_cseq=None,
        )

    def matches(self, request: Request) -> bool:
        """12.2.2: Call-ID, our tag in To, theirs in From."""
        try:
            return (request.call_id == self.call_id and request.to.tag == self.local_tag
                    and request.from_.tag == self.remote_tag)
        except ValueError:
            return False

    def accept_request(self, request: Request) -> None:
        """Check an in-dialog request's CSeq (12.2.2): lower than the last one is out of order
        (500); ACK and CANCEL reuse the INVITE's number and are not counted. A re-INVITE's
        Contact becomes the new remote target."""
        number, method = request.cseq
        if method in ("ACK", "CANCEL"):
            return
        if self.remote_cseq is not None and number <= self.remote_cseq:
            raise DialogError(f"CSeq {number} is not above the last one ({self.remote_cseq})",
                              500)
        self.remote_cseq = number
        if method == "INVITE" and request.contact is not None:
            self.remote_target = request.contact.uri

    def request(self, method: str, via: str, *, cseq: int | None = None,
                headers: list[tuple[str, str]] | None = None, body: bytes = b"") -> Request:
        """A new request in the dialog (12.2.1.1). `via` is our Via value; give the branch in it
        (new_branch()). ACK for a 2xx passes the INVITE's `cseq`; others take the next number."""
        if cseq is None:
            self.local_cseq += 1
            cseq = self.local_cseq
        out = Headers()
        out.add("Via", via)
        out.add("Max-Forwards", "70")
        uri = self.remote_target
        routes = list(self.route_set)
        if routes and ";lr" not in routes[0]:
            # Strict router (RFC 2543): the first route goes in the Request-URI, the remote
            # target at the end of the Route set.
            uri = parse_name_addr(routes[0]).uri
            routes = routes[1:] + [f"<{self.remote_target}>"]
        for route in routes:
            out.add("Route", route)
        out.add("From", f"{self.local_uri};tag={self.local_tag}")
        remote = self.remote_uri + (f";tag={self.remote_tag}" if self.remote_tag else "")
        out.add("To", remote)
        out.add("Call-ID", self.call_id)
        out.add("CSeq", f"{cseq} {method}")
        for name, value in headers or []:
            out.add(name, value)
        return Request(out, body, method, uri)


def _without_tag(value: str) -> str:
    """A To/From value with its tag parameter removed, the rest kept as written."""
    addr = parse_name_addr(value)
    params = {k: v for k, v in addr.params.items() if k != "tag"}
    return str(type(addr)(addr.uri, addr.display, params))
