"""Decoding what ElevenLabs sends (pcm, ulaw, mp3) to the PCM16 the rest of voxline plays.

Stateful, because a chunk boundary may fall inside a PCM sample or an mp3 frame.
"""

from __future__ import annotations

from voxline.audio.g711 import ulaw_decode
from voxline.errors import ProtocolViolation


class AudioDecoder:
    """An output format's audio to PCM16 mono at its rate, chunk by chunk."""

    def __init__(self, encoding: str, rate: int) -> None:
        self.encoding = encoding
        self._odd = b""
        if encoding == "mp3":
            import av

            self._codec = av.CodecContext.create("mp3", "r")
            self._resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)

    def _mp3(self, data: bytes | None) -> bytes:
        import av

        out = []
        try:
            packets: list = self._codec.parse(data)  # parse(None) flushes the parser,
            if data is None:
                packets.append(None)  # and a None packet drains the decoder
            for packet in packets:
                for frame in self._codec.decode(packet):
                    out += [f.to_ndarray().tobytes() for f in self._resampler.resample(frame)]
        except av.error.FFmpegError as err:
            raise ProtocolViolation(f"ElevenLabs sent mp3 that does not decode: {err}") from None
        return b"".join(out)

    def decode(self, data: bytes) -> bytes:
        if self.encoding == "mp3":
            return self._mp3(data)
        if self.encoding == "ulaw":
            return ulaw_decode(data)
        data, self._odd = self._odd + data, b""
        if len(data) % 2:
            data, self._odd = data[:-1], data[-1:]
        return data

    def flush(self) -> bytes:
        return self._mp3(None) if self.encoding == "mp3" else b""

