"""SDP (RFC 4566) for one audio stream, and the offer/answer rules of RFC 3264 that a phone
agent needs: pick a G.711 codec from the offer, keep telephone-event, mirror the direction.

Parsing is tolerant of what real trunks send (LF line ends, unknown lines and attributes are
kept) and strict about what the answer depends on (c=, m= port and formats): those raise
SdpError, which the shell turns into a 400 or 488.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

# RFC 3551 static payload types we can decode; telephone-event is dynamic (RFC 4733).
STATIC_CODECS = {0: ("PCMU", 8000), 8: ("PCMA", 8000)}
SUPPORTED = ("PCMU", "PCMA")  # our preference order when the offer does not decide
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
_ANSWER_DIRECTION = {
    "sendrecv": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive"
}


class SdpError(ValueError):
    """An SDP body that cannot be used."""


class NoCommonCodec(SdpError):
    """The offer has no audio codec we support (answer 488 Not Acceptable Here)."""


@dataclass
class Media:
    kind: str  # audio, video, ...
    port: int
    proto: str  # RTP/AVP, RTP/SAVP, ...
    formats: list[str]
    connection: str | None = None  # media-level c= address
    attributes: list[tuple[str, str | None]] = field(default_factory=list)

    def attribute(self, name: str) -> str | None:
        return next((v for n, v in self.attributes if n == name), None)

    def attribute_values(self, name: str) -> list[str]:
        return [v for n, v in self.attributes if n == name and v is not None]

    @property
    def direction(self) -> str | None:
        return next((n for n, _ in self.attributes if n in DIRECTIONS), None)

    def rtpmap(self) -> dict[int, tuple[str, int]]:
        """Payload type -> (encoding name, clock rate), statics included."""
        found: dict[int, tuple[str, int]] = {}
        for fmt in self.formats:
            if fmt.isdigit() and int(fmt) in STATIC_CODECS:
                found[int(fmt)] = STATIC_CODECS[int(fmt)]
        for value in self.attribute_values("rtpmap"):
            pt, _, encoding = value.partition(" ")
            parts = encoding.strip().split("/")
            if pt.isdigit() and len(parts) >= 2 and parts[1].isdigit():
                found[int(pt)] = (parts[0], int(parts[1]))
        return found


@dataclass
class SessionDescription:
    origin: str = "- 0 0 IN IP4 0.0.0.0"
    session_name: str = "-"
    connection: str | None = None  # session-level c= address
    attributes: list[tuple[str, str | None]] = field(default_factory=list)
    media: list[Media] = field(default_factory=list)
    other: list[str] = field(default_factory=list)  # t=, b=, i= ... lines, kept in order

    @property
    def direction(self) -> str | None:
        return next((n for n, _ in self.attributes if n in DIRECTIONS), None)

    def to_text(self) -> str:
        lines = ["v=0", f"o={self.origin}", f"s={self.session_name}"]
        if self.connection:
            lines.append(f"c={_c_line(self.connection)}")
        lines.extend(self.other or ["t=0 0"])
        lines.extend(_a_line(n, v) for n, v in self.attributes)
        for m in self.media:
            lines.append(f"m={m.kind} {m.port} {m.proto} {' '.join(m.formats)}")
            if m.connection:
                lines.append(f"c={_c_line(m.connection)}")
            lines.extend(_a_line(n, v) for n, v in m.attributes)
        return "\r\n".join(lines) + "\r\n"


def _c_line(address: str) -> str:
    family = "IP6" if ":" in address else "IP4"
    return f"IN {family} {address}"


def _a_line(name: str, value: str | None) -> str:
    return f"a={name}" if value is None else f"a={name}:{value}"


def parse_sdp(text: str | bytes) -> SessionDescription:
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as err:
            raise SdpError(f"SDP is not UTF-8 (byte {err.start})") from err
    sdp = SessionDescription(other=[])
    seen_version = False
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        if not line:
            continue
        if len(line) < 2 or line[1] != "=":
            raise SdpError(f"SDP line {line[:60]!r} is not '<type>=<value>'")
        kind, value = line[0], line[2:]
        media = sdp.media[-1] if sdp.media else None
        if kind == "v":
            if value != "0":
                raise SdpError(f"SDP version {value[:10]!r} is not 0")
            seen_version = True
        elif kind == "o" and media is None:
            sdp.origin = value
        elif kind == "s" and media is None:
            sdp.session_name = value
        elif kind == "c":
            address = _parse_connection(value)
            if media is None:
                sdp.connection = address
            else:
                media.connection = address
        elif kind == "m":
            sdp.media.append(_parse_media(value))
        elif kind == "a":
            name, colon, attr = value.partition(":")
            (media.attributes if media else sdp.attributes).append(
                (name.strip(), attr.strip() if colon else None)
            )
        elif media is None:
            sdp.other.append(line)
    if not seen_version:
        raise SdpError("SDP has no v=0 line")
    return sdp


def _parse_connection(value: str) -> str:
    parts = value.split()
    if len(parts) != 3 or parts[0] != "IN" or parts[1] not in ("IP4", "IP6"):
        raise SdpError(f"c={value[:60]!r} is not 'IN IP4|IP6 <address>'")
    address = parts[2].split("/")[0]  # drop a multicast TTL
    try:
        ipaddress.ip_address(address)
    except ValueError as err:
        # Hostnames are legal in c= but a trunk that sends one expects us to resolve it; we
        # only take addresses, and say so.
        raise SdpError(f"c= address {address[:60]!r} is not an IP address") from err
    return address


def _parse_media(value: str) -> Media:
    parts = value.split()
    if len(parts) < 4:
        raise SdpError(f"m={value[:60]!r} is not '<media> <port> <proto> <fmt> ...'")
    port = parts[1].split("/")[0]
    if not port.isdigit() or int(port) > 65535:
        raise SdpError(f"m= port {parts[1][:10]!r} is not 0-65535")
    return Media(parts[0], int(port), parts[2], parts[3:])


@dataclass(frozen=True)
class AudioPlan:
    """What an offer/answer exchange settled for the audio stream."""

    payload_type: int
    codec: str  # PCMU | PCMA
    dtmf_payload_type: int | None
    remote_address: str
    remote_port: int
    direction: str  # OUR direction: sendrecv | sendonly | recvonly | inactive
    media_index: int  # which m= line (answers keep every line, in order)
    ptime_ms: int = 20  # what the offerer asked to receive; we send 20 ms packets regardless

    @property
    def sending(self) -> bool:
        return self.direction in ("sendrecv", "sendonly")

    @property
    def receiving(self) -> bool:
        return self.direction in ("sendrecv", "recvonly")


def negotiate(offer: SessionDescription, supported: tuple[str, ...] = SUPPORTED) -> AudioPlan:
    """Choose the first audio stream with a codec we support, taking the offerer's preference
    order among PCMU and PCMA. Raises NoCommonCodec (488) when there is none."""
    offered = []
    for index, media in enumerate(offer.media):
        if media.kind != "audio" or media.port == 0:
            continue
        if media.proto.upper() not in ("RTP/AVP", "RTP/AVPF"):
            offered.append(f"{media.proto} (not plain RTP)")
            continue
        rtpmap = media.rtpmap()
        dtmf = next((pt for pt, (name, rate) in rtpmap.items()
                     if name.lower() == "telephone-event" and rate == 8000), None)
        for fmt in media.formats:
            if not fmt.isdigit():
                continue
            name, rate = rtpmap.get(int(fmt), ("?", 0))
            offered.append(f"{name}/{rate}")
            if name.upper() in supported and rate == 8000:
                return _plan(offer, media, index, int(fmt), name.upper(), dtmf)
    raise NoCommonCodec(
        "no audio codec in the offer that we support "
        f"(offered: {', '.join(offered) or 'no audio stream'}; supported: {', '.join(supported)})"
    )


def _plan(offer: SessionDescription, media: Media, index: int, pt: int, codec: str,
          dtmf: int | None) -> AudioPlan:
    address = media.connection or offer.connection
    if address is None:
        raise SdpError("the audio stream has no c= address (neither media nor session level)")
    offered = media.direction or offer.direction or "sendrecv"
    if address in ("0.0.0.0", "::"):
        offered = "sendonly" if offered == "sendrecv" else offered  # RFC 2543-style hold
    ptime = media.attribute("ptime")
    return AudioPlan(
        payload_type=pt, codec=codec, dtmf_payload_type=dtmf, remote_address=address,
        remote_port=media.port, direction=_ANSWER_DIRECTION.get(offered, "sendrecv"),
        media_index=index, ptime_ms=int(ptime) if ptime and ptime.isdigit() else 20,
    )


def build_answer(
    offer: SessionDescription, plan: AudioPlan, local_address: str, local_port: int,
    session_id: int, version: int,
) -> SessionDescription:
    """The answer: every offered m= line in order (RFC 3264 6), the chosen audio one with our
    port and codec, the others refused with port 0."""
    media = []
    for index, offered in enumerate(offer.media):
        if index != plan.media_index:
            media.append(Media(offered.kind, 0, offered.proto, offered.formats[:1]))
            continue
        media.append(_audio_media(local_port, plan.payload_type, plan.codec,
                                  plan.dtmf_payload_type, plan.direction, 20))
    return SessionDescription(
        origin=f"voxline {session_id} {version} IN {'IP6' if ':' in local_address else 'IP4'} "
        f"{local_address}",
        session_name="voxline", connection=local_address, media=media, other=["t=0 0"],
    )


def build_offer(local_address: str, local_port: int, session_id: int, version: int,
                dtmf_payload_type: int = 101, direction: str = "sendrecv") -> SessionDescription:
    """Our offer for an outbound call: PCMU, PCMA and telephone-event."""
    media = _audio_media(local_port, 0, "PCMU", dtmf_payload_type, direction, 20)
    media.formats = ["0", "8", str(dtmf_payload_type)]
    media.attributes.insert(1, ("rtpmap", "8 PCMA/8000"))
    return SessionDescription(
        origin=f"voxline {session_id} {version} IN {'IP6' if ':' in local_address else 'IP4'} "
        f"{local_address}",
        session_name="voxline", connection=local_address, media=[media], other=["t=0 0"],
    )


def _audio_media(port: int, pt: int, codec: str, dtmf: int | None, direction: str,
                 ptime: int) -> Media:
    formats = [str(pt)] + ([str(dtmf)] if dtmf is not None else [])
    attributes: list[tuple[str, str | None]] = [("rtpmap", f"{pt} {codec}/8000")]
    if dtmf is not None:
        attributes += [("rtpmap", f"{dtmf} telephone-event/8000"), ("fmtp", f"{dtmf} 0-16")]
    attributes += [("ptime", str(ptime)), (direction, None)]
    return Media("audio", port, "RTP/AVP", formats, attributes=attributes)
