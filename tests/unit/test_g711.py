"""G.711 against CPython's audioop (the Sun reference implementation), bit for bit."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from voxline.audio.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # removed in 3.13; present (deprecated) in 3.11 and 3.12

ALL_PCM = np.arange(-32768, 32768, dtype="<i2").tobytes()
ALL_CODES = bytes(range(256))


def test_ulaw_encode_matches_audioop_for_every_int16() -> None:
    assert ulaw_encode(ALL_PCM) == audioop.lin2ulaw(ALL_PCM, 2)


def test_alaw_encode_matches_audioop_for_every_int16() -> None:
    assert alaw_encode(ALL_PCM) == audioop.lin2alaw(ALL_PCM, 2)


def test_ulaw_decode_matches_audioop_for_every_code() -> None:
    assert ulaw_decode(ALL_CODES) == audioop.ulaw2lin(ALL_CODES, 2)


def test_alaw_decode_matches_audioop_for_every_code() -> None:
    assert alaw_decode(ALL_CODES) == audioop.alaw2lin(ALL_CODES, 2)


def pcm(*values: int) -> bytes:
    return np.array(values, dtype="<i2").tobytes()


def test_hand_checked_vectors() -> None:
    # Silence: mu-law 0xFF (all bits inverted), A-law 0xD5 (even bits inverted, sign 1).
    assert ulaw_encode(pcm(0)) == b"\xff"
    assert alaw_encode(pcm(0)) == b"\xd5"
    # Extremes: the largest codes of each sign.
    assert ulaw_encode(pcm(32767, -32768)) == b"\x80\x00"
    assert alaw_encode(pcm(32767, -32768)) == b"\xaa\x2a"
    assert ulaw_decode(b"\x80\x00") == pcm(32124, -32124)
    assert alaw_decode(b"\xaa\x2a") == pcm(32256, -32256)
    assert ulaw_decode(b"\xff\x7f") == pcm(0, 0)
    assert alaw_decode(b"\xd5\x55") == pcm(8, -8)


def test_round_trip_error_is_bounded() -> None:
    x = np.frombuffer(ALL_PCM, "<i2").astype(np.int64)
    codecs = ((ulaw_encode, ulaw_decode, 32124), (alaw_encode, alaw_decode, 32256))
    for encode, decode, top in codecs:
        y = np.frombuffer(decode(encode(ALL_PCM)), "<i2").astype(np.int64)
        err = np.abs(y - x)
        # A 4-bit mantissa per segment: the error stays within one step, at most 1/16 of the
        # value, with a floor of 16 (the smallest A-law step on the 16-bit scale).
        inside = np.abs(x) <= top
        assert (err[inside] <= np.maximum(16, np.abs(x[inside]) / 16)).all()
        # Beyond the largest code, values clip to it.
        assert err.max() <= 32768 - top
        assert np.abs(y).max() == top


def test_decoded_values_re_encode_to_the_same_code() -> None:
    for encode, decode in ((ulaw_encode, ulaw_decode), (alaw_encode, alaw_decode)):
        codes = encode(decode(ALL_CODES))
        # mu-law has two codes for zero (0xFF and 0x7F); every other code is stable.
        diff = [c for c, d in zip(ALL_CODES, codes, strict=True) if c != d]
        assert diff in ([], [0x7F])


def test_odd_pcm_length_is_an_error() -> None:
    with pytest.raises(ValueError, match="odd length"):
        ulaw_encode(b"\x00")
    assert ulaw_encode(b"") == b"" and alaw_decode(b"") == b""


def test_decoders_take_any_bytes_like_payload() -> None:
    codes = bytes(range(256))
    for decode in (ulaw_decode, alaw_decode):
        expected = decode(codes)
        assert decode(bytearray(codes)) == expected == decode(memoryview(codes))
        assert decode(b"") == b""
