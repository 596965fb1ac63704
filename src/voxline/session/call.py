"""The per-call turn engine, shared by every transport.

A transport hands in caller audio (`receive`, 20 ms PCM16 frames at 16 kHz, or at 8 kHz as a
phone line carries it) and pulls agent audio (16 kHz, `next_frame`, once per 20 ms, silence
when it returns None). In between:

    frame ─► STT stream (always) ─► VAD ─► Endpointer ─► events
      SpeechStarted   : the caller talks. If the agent is answering, that is a barge-in: outbound
                        audio is cleared at once and the turn's scope is cancelled.
      SilenceStarted  : a speculative turn starts: transcribe, ask the LLM, synthesize, while the
                        endpoint window runs. Its audio is queued but held.
      SpeechResumed   : the caller went on: the speculative turn is cancelled, its audio dropped.
      Endpoint        : the turn is confirmed: its audio is released to the transport.
    When the speculative transcript reads as a finished turn (vad/completeness.py), the
    endpointer is told to end this silence after the shorter complete_silence_ms (adaptive
    endpointing); unfinished-looking words keep the full trailing-silence window.

So the endpoint window, STT, the LLM's first clause and the first TTS chunk overlap, and
`turn_latency_ms` (endpoint to first audio out) is whatever of them is left at the endpoint.

A call is one `asyncio.TaskGroup`; a turn is one task in it. Barge-in, speculation lost and
hang-up cancel that task; nothing polls a flag.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

from voxline.agent.chunker import ClauseChunker
from voxline.agent.context import Conversation
from voxline.agent.heard import heard_text
from voxline.agent.prompts import CLINIC_SYSTEM_PROMPT
from voxline.agent.speech_text import speakable
from voxline.agent.tools import Toolbox
from voxline.audio.frames import ENGINE_RATE
from voxline.audio.halfband import Upsampler2x
from voxline.config import Settings
from voxline.privacy.boundary import PrivacyBoundary, call_vault
from voxline.privacy.recording import CallRecording
from voxline.privacy.vault import CallVault
from voxline.providers.base import Message, STTStream, ToolCall, Transcript
from voxline.providers.registry import Providers
from voxline.session.clock import CallClock, Mark, TurnStamps
from voxline.session.latency import relative_ms, turn_latencies, waterfall
from voxline.session.playout import AudioOut
from voxline.session.record import TurnRecord
from voxline.session.turn_log import TurnLog
from voxline.vad import detector_for_caller
from voxline.vad.completeness import judge
from voxline.vad.detector import VoiceDetector
from voxline.vad.endpointing import (
    Endpoint,
    Endpointer,
    SilenceStarted,
    SpeechResumed,
    SpeechStarted,
)

log = logging.getLogger(__name__)

# One second of caller audio may wait for the engine; past that the oldest is dropped and
# counted (a stalled loop must not turn into ever-growing delay).
INBOUND_QUEUE_FRAMES = 50
# What `receive` takes: the engine's rate, or telephone audio as it comes off the line.
# webrtcvad and the cloud STT take 8 kHz as it is, and Silero and Whisper upsample for
# themselves. A 2:1 upsampling of every phone frame on the loop would cost more than the rest
# of its inbound path.
CALLER_RATES = (ENGINE_RATE, 8000)
APOLOGY = "Sorry, I'm having trouble right now. Could you say that again?"
# Said while a tool runs longer than FILLER_AFTER_S, so the caller does not hear dead air.
FILLER = "One moment, let me check."
FILLER_AFTER_S = 0.7
MAX_TOOL_ROUNDS = 3
DTMF_DIGITS = frozenset("0123456789*#ABCD")
_SILENCE = bytes(ENGINE_RATE * 20 // 1000 * 2)  # 20 ms: what the agent track holds when quiet
DTMF_KEPT = 1000  # the newest keys; every one is also told to observers


@dataclass(frozen=True)
class CallEvent:
    kind: str  # speech_started | endpoint | transcript | agent_clause | barge_in | turn | error
    #          | dtmf | call_started | call_ended
    data: dict[str, Any] = field(default_factory=dict)
    at_ns: int | None = None  # on the call's clock


Observer = Callable[[CallEvent], None]
# Told of every new Call, whatever the transport (telemetry attaches its observer here), so no
# transport has to remember to.
_call_watchers: list[Callable[[Call], None]] = []


def watch_calls(watcher: Callable[[Call], None]) -> Callable[[], None]:
    """Call `watcher(call)` for every Call created from now on; returns the way to stop."""
    _call_watchers.append(watcher)
    return lambda: _call_watchers.remove(watcher) if watcher in _call_watchers else None


@dataclass
class _Turn:
    """One turn from the caller's silence to the end of the agent's answer."""

    stamps: TurnStamps
    transcription: asyncio.Future[Transcript]
    confirmed: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    said: str = ""  # the caller's words unredacted: the vault's carry once confirmed
    audio_ms: dict[str, int] = field(default_factory=dict)  # inbound positions, see TurnRecord

    @property
    def active(self) -> bool:
        return self.task is not None and not self.task.done()


class Call:
    def __init__(
        self,
        providers: Providers,
        settings: Settings,
        *,
        transport: str,
        call_id: str | None = None,
        system_prompt: str = CLINIC_SYSTEM_PROMPT,
        vad: VoiceDetector | None = None,
        toolbox: Toolbox | None = None,
        caller: str | None = None,
        transport_ref: str | None = None,
        vault: CallVault | None = None,
        caller_rate: int = ENGINE_RATE,
    ) -> None:
        if caller_rate not in CALLER_RATES:
            raise ValueError(f"caller audio at {caller_rate} Hz: the engine takes {CALLER_RATES}")
        self.call_id = call_id or uuid.uuid4().hex[:12]
        self.transport = transport
        self.caller = caller  # the caller's address or number, as the transport knows it
        self.transport_ref = transport_ref  # the transport's own id (Twilio CallSid, SIP Call-ID)
        self.providers = providers
        self.settings = settings
        self.clock = CallClock()
        self.out = AudioOut(ENGINE_RATE)
        self.conversation = Conversation(
            system_prompt, settings.context_max_tokens, count_tokens=providers.llm.count_tokens
        )
        self.toolbox = toolbox
        # Between the caller's words and the LLM, tools, TTS and records (privacy/boundary.py).
        self.privacy = PrivacyBoundary(vault if vault is not None else call_vault(settings))
        # Both sides to disk when privacy.recording asks for it (off by default).
        self.recording = CallRecording.for_call(settings, self.call_id, ENGINE_RATE)
        # Phone audio stays at 8 kHz in the engine; the recording's file is 16 kHz.
        self.caller_rate = caller_rate
        self._recorded_caller = Upsampler2x() if caller_rate != ENGINE_RATE else None
        self.records = TurnLog()  # the newest turns; all of them go to observers
        self.dropped_frames = 0
        self.speculative_turns_dropped = 0
        self.dtmf_digits: list[str] = []  # keys the caller pressed, in order
        self._vad = vad or detector_for_caller(settings.endpointing.vad, caller_rate)
        self._endpointer = Endpointer(settings.endpointing.config())
        self._inbound: asyncio.Queue[bytes | None] = asyncio.Queue(INBOUND_QUEUE_FRAMES)
        self._observers: list[Observer] = []
        self._stt: STTStream | None = None
        self._tg: asyncio.TaskGroup | None = None
        self._speech_start_ns: int | None = None  # the utterance being listened to
        self._speech_end_ns: int | None = None  # where the VAD last heard the caller stop
        self._provider_endpoints = False  # the STT vendor, not the local VAD, ends turns
        self._turn: _Turn | None = None  # the turn being answered (speculative or confirmed)
        self._audio_stamps: TurnStamps | None = None  # the turn whose audio is queued
        # What the caller said in turns cut off before any answer was heard: said again next.
        self._unanswered: list[asyncio.Future[Transcript]] = []
        self._hung_up = False
        for watcher in _call_watchers:
            watcher(self)

    # -- the transport's side ---------------------------------------------------------------

    def observe(self, observer: Observer) -> None:
        self._observers.append(observer)

    def receive(self, frame: bytes) -> None:
        """Hand in one 20 ms frame of caller audio (PCM16 at `caller_rate`). Never blocks."""
        if self._inbound.full():
            self._inbound.get_nowait()
            self.dropped_frames += 1
        self._inbound.put_nowait(frame)
        if self.recording is not None:
            up = self._recorded_caller
            self.recording.caller(frame if up is None else up.process(frame))

    def next_frame(self) -> bytes | None:
        """The next 20 ms of agent audio, or None for silence. Call once per 20 ms."""
        frame = self.out.next_frame()
        if self.recording is not None:
            self.recording.agent(frame if frame is not None else _SILENCE)
        if frame is not None and self._audio_stamps is not None:
            self._audio_stamps.stamp(Mark.FIRST_AUDIO_OUT)
        return frame

    def dtmf(self, digit: str) -> None:
        """A key the caller pressed (Twilio dtmf, RFC 4733 events): kept, and told to observers."""
        if digit not in DTMF_DIGITS:
            raise ValueError(f"{digit!r} is not a DTMF digit: one of 0-9, *, #, A-D")
        self.dtmf_digits.append(digit)
        del self.dtmf_digits[:-DTMF_KEPT]  # a stuck key must not grow the call without bound
        self._emit("dtmf", digit=digit)

    def hang_up(self) -> None:
        self._hung_up = True
        if self._inbound.full():
            self._inbound.get_nowait()
        self._inbound.put_nowait(None)

    @property
    def busy(self) -> bool:
        """A confirmed turn is being answered, or its audio is still playing."""
        answering = self._turn is not None and self._turn.active and self._turn.confirmed.is_set()
        return answering or self.out.speaking

    async def run(self) -> list[TurnRecord]:
        self._emit("call_started", caller=self.caller)
        failure: str | None = None
        try:
            return await self._run()
        except BaseException as err:  # told to observers, then raised on
            failure = f"{type(err).__name__}: {err}"
            raise
        finally:
            self.privacy.close()  # the call's personal data dies with it
            if self.recording is not None:
                self.recording.close()  # finished by the writer thread, off the loop
            self._emit(
                "call_ended",
                error=failure,
                stt_reconnections=getattr(self._stt, "reconnections", 0),
                dropped_frames=self.dropped_frames,
                speculative_turns_dropped=self.speculative_turns_dropped,
            )

    async def _run(self) -> list[TurnRecord]:
        self._stt = await self.providers.stt.open_stream(self.caller_rate)
        if self.settings.endpointing.source == "provider" and hasattr(self._stt, "on_endpoint"):
            self._provider_endpoints = True
            self._stt.on_endpoint = self._on_provider_endpoint
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                await self._listen()
                self._cancel_turn()
                for task in self._unanswered:
                    task.cancel()
        finally:
            await self._stt.aclose()
        return self.records

    # -- listening ----------------------------------------------------------------------------

    async def _listen(self) -> None:
        assert self._stt is not None
        while (frame := await self._inbound.get()) is not None:
            now = self.clock.now_ns()
            self._stt.push(frame)
            # Silero costs ~0.15 ms a frame: cheaper inline than a hop to an executor.
            probability = self._vad.speech_probability(frame)
            for event in self._endpointer.process(probability):
                self._on_vad_event(event, now)

    def _at_ns(self, audio_ms: int, now_ns: int) -> int:
        """Back-date an audio position to the clock, from the frame that just arrived."""
        return now_ns - (self._endpointer.position_ms - audio_ms) * 1_000_000

    def _on_vad_event(self, event: object, now: int) -> None:
        assert self._stt is not None and self._tg is not None
        if isinstance(event, SpeechStarted):
            if self.busy:
                self._barge_in(now)
            self._speech_start_ns = self._at_ns(event.start_ms, now)
            self._stt.begin_utterance(self._endpointer.position_ms - event.start_ms)
            self._emit("speech_started")
        elif isinstance(event, SilenceStarted):
            self._speech_end_ns = self._at_ns(event.speech_end_ms, now)
            if self._speech_start_ns is not None and not self._provider_endpoints:
                self._start_speculative_turn(self._speech_start_ns, now)
        elif self._provider_endpoints:
            return  # the vendor's endpointing decides; see _on_provider_endpoint
        elif isinstance(event, SpeechResumed):
            self._cancel_turn()  # the caller went on: that transcript and answer are stale
            self.speculative_turns_dropped += 1
        elif isinstance(event, Endpoint) and self._turn is not None:
            self._speech_start_ns = None
            stamps = self._turn.stamps
            stamps.stamp(Mark.SPEECH_END, self._at_ns(event.speech_end_ms, now))
            stamps.stamp(Mark.ENDPOINT, now)
            self._turn.audio_ms = {"speech_end": event.speech_end_ms, "endpoint": event.decided_ms}
            self._stt.end_utterance()
            self._turn.confirmed.set()
            self.out.release()
            self._emit("endpoint")

    def _on_provider_endpoint(self, transcript: Transcript) -> None:
        """The STT vendor declared the end of the turn, with its final transcript."""
        assert self._tg is not None and self._stt is not None
        now = self.clock.now_ns()
        stamps = self.clock.turn()
        for mark, at in (
            (Mark.SPEECH_START, self._speech_start_ns),
            (Mark.SPEECH_END, self._speech_end_ns),
            (Mark.STT_REQUEST, self._speech_end_ns),
        ):
            if at is not None:
                stamps.stamp(mark, at)
        stamps.stamp(Mark.ENDPOINT, now)
        stamps.stamp(Mark.STT_FINAL, now)
        self._speech_start_ns = None
        self._cancel_turn()
        turn = _Turn(stamps, _known(transcript))
        turn.confirmed.set()
        self.out.release()
        turn.task = self._tg.create_task(self._run_turn(turn))
        self._turn = turn
        self._stt.end_utterance()
        self._emit("endpoint")

    def _start_speculative_turn(self, speech_start_ns: int, now: int) -> None:
        assert self._tg is not None
        self._cancel_turn()
        stamps = self.clock.turn()
        stamps.stamp(Mark.SPEECH_START, speech_start_ns)
        stamps.stamp(Mark.STT_REQUEST, now)
        turn = _Turn(stamps, self._tg.create_task(self._transcribe(stamps)))
        if self.settings.endpointing.adaptive:
            turn.transcription.add_done_callback(lambda _: self._judge_pause(turn))
        self.out.hold()  # nothing is heard before the endpoint confirms the turn
        turn.task = self._tg.create_task(self._run_turn(turn))
        self._turn = turn

    def _judge_pause(self, turn: _Turn) -> None:
        """Adaptive endpointing: finished-sounding words end this silence sooner."""
        if turn is not self._turn or turn.confirmed.is_set() or turn.transcription.cancelled():
            return  # the caller went on, or the endpoint came first
        if judge(turn.transcription.result().text).finished:
            now = self.clock.now_ns()
            for event in self._endpointer.shorten():
                self._on_vad_event(event, now)

    def _cancel_turn(self) -> None:
        turn, self._turn = self._turn, None
        if turn is None:
            return
        if turn.task is not None:
            turn.task.cancel()
        if not turn.confirmed.is_set():
            turn.transcription.cancel()
            self.out.clear()

    async def _transcribe(self, stamps: TurnStamps) -> Transcript:
        assert self._stt is not None
        try:
            transcript = await self._stt.transcribe()
        except Exception as err:  # noqa: BLE001 - a failed STT costs this turn, not the call
            log.warning("call %s: STT failed: %s", self.call_id, err)
            self._emit("error", stage="stt", error=str(err))
            transcript = _NotHeard(text="", error=err)
        stamps.stamp(Mark.STT_FINAL)
        return transcript

    def _barge_in(self, now: int) -> None:
        """Caller speech over the agent: silence first, then cancel the turn's work."""
        dropped = self.out.clear()
        stamps = self._audio_stamps
        if stamps is not None and stamps.has(Mark.FIRST_AUDIO_OUT):
            stamps.stamp(Mark.BARGE_IN_DETECTED, now)
            stamps.stamp(Mark.BARGE_IN_STOPPED)
        self._cancel_turn()
        self._emit("barge_in", dropped_frames=dropped)

    # -- answering ----------------------------------------------------------------------------

    async def _run_turn(self, turn: _Turn) -> None:
        record = TurnRecord(self.call_id, self.transport, index=len(self.records))
        try:
            await self._answer(record, turn)
            await turn.confirmed.wait()  # an answer ready before the endpoint waits for it
        except asyncio.CancelledError:
            record.outcome = "hung_up" if self._hung_up else "interrupted"
            record.interrupted = True
            raise
        except Exception as err:  # noqa: BLE001 - a provider fault ends this turn, not the call
            log.warning("call %s turn %d failed: %s", self.call_id, record.index, err)
            record.outcome, record.error = "error", f"{type(err).__name__}: {err}"
            self._emit("error", stage="turn", error=record.error)
            await turn.confirmed.wait()
            await self._speak_apology(turn.stamps)
        finally:
            if turn.confirmed.is_set():  # a speculative turn that lost leaves no record
                self.privacy.carry_on(turn.said)
                record.index = len(self.records)
                record.latency = turn_latencies(turn.stamps.as_dict())
                record.stamps_ms = relative_ms(turn.stamps.as_dict(), self.clock.started_ns)
                record.waterfall = waterfall(turn.stamps.as_dict())
                record.audio_ms = dict(turn.audio_ms)
                self.records.append(record)
                self._emit("turn", record=record.to_dict())

    async def _answer(self, record: TurnRecord, turn: _Turn) -> None:
        pending = [*self._unanswered, turn.transcription]
        try:
            # Shielded: a barge-in cancels this turn, not the transcriptions it carries over.
            parts = [(await asyncio.shield(task)).text.strip() for task in pending]
        except asyncio.CancelledError:
            if turn.confirmed.is_set():  # barge-in before the words were known: keep them
                self._unanswered = pending
            raise
        turn.said = " ".join(p for p in parts if p)
        heard = turn.transcription.result()
        record.stt_confidence = heard.confidence
        # Placeholders from here on; a RedactionError withholds the words (the caller is
        # asked to say them again) and is recorded without them.
        record.transcript = self.privacy.caller_words(turn.said) if turn.said else ""
        if not record.transcript:
            if isinstance(heard, _NotHeard):
                raise heard.error  # the caller spoke and the STT failed: they hear an apology
            record.outcome = "no_speech"
            return
        self._emit("transcript", text=record.transcript, speculative=not turn.confirmed.is_set())
        messages = [
            *self.conversation.messages(),
            {"role": "user", "content": record.transcript},
        ]
        self._audio_stamps = turn.stamps
        reply: list[str] = []
        exchange: list[Message] = []  # tool calls and their results, as the LLM saw them
        try:
            clauses = self._reply_clauses(messages, turn.stamps, reply, exchange, record)
            await self._speak(clauses, turn.stamps)
            await turn.confirmed.wait()
            await self.out.drained()
        except asyncio.CancelledError:
            record.reply = "".join(reply).strip()
            record.heard = self.privacy.heard(heard_text(self.out.segments(), self.out.played_ms))
            if turn.confirmed.is_set() and self.out.played_ms:
                self._commit(record.transcript, record.reply, exchange)
                self.conversation.truncate_last_assistant(record.heard)
            elif turn.confirmed.is_set():
                # Cut off before a word was heard: the caller's words are said again with
                # whatever they say next.
                self._unanswered = [_known(Transcript(turn.said))]
            raise
        turn.stamps.stamp(Mark.LAST_AUDIO_OUT)
        record.reply = record.heard = "".join(reply).strip()
        self._commit(record.transcript, record.reply, exchange)

    def _commit(self, user: str, assistant: str, exchange: list[Message]) -> None:
        self._unanswered = []
        self.conversation.add_user(user)
        self.conversation.add_tool_exchange(exchange)
        self.conversation.add_assistant(assistant)

    async def _speak(self, clauses: AsyncIterator[str], stamps: TurnStamps) -> None:
        self.out.start_reply()
        async with aclosing(clauses) as text, aclosing(self.providers.tts.stream(text)) as audio:
            async for chunk in audio:
                stamps.stamp(Mark.TTS_FIRST_CHUNK)
                await self.out.play(chunk)
        stamps.stamp(Mark.TTS_DONE)

    async def _reply_clauses(
        self,
        messages: list[Message],
        stamps: TurnStamps,
        reply: list[str],
        exchange: list[Message],
        record: TurnRecord,
    ) -> AsyncIterator[str]:
        """The LLM's reply as speakable clauses; tool calls run in between, in the same turn."""
        # The first clause may be a single word ("Sure,"): the caller hears it while the
        # LLM writes the rest, and a one-word clause synthesizes in a few tens of ms.
        chunker = ClauseChunker(first_min_words=1)
        tools = self.toolbox.definitions() if self.toolbox else None
        for round_ in range(MAX_TOOL_ROUNDS + 1):
            calls: list[ToolCall] = []
            said = len(reply)
            stamps.stamp(Mark.LLM_REQUEST)
            offered = tools if round_ < MAX_TOOL_ROUNDS else None
            stream = self.providers.llm.stream(
                self.privacy.to_llm([*messages, *exchange]),
                max_tokens=self.settings.reply_max_tokens, tools=offered,
            )
            async with aclosing(stream) as items:
                async for item in items:
                    stamps.stamp(Mark.LLM_FIRST_TOKEN)
                    if isinstance(item, ToolCall):
                        calls.append(item)
                        continue
                    reply.append(item)
                    for clause in chunker.push(item):
                        if text := self._to_speech(clause, stamps):
                            yield text
            stamps.stamp(Mark.LLM_DONE)
            for clause in chunker.flush():  # say what came before the tool call now
                if text := self._to_speech(clause, stamps):
                    yield text
            if not calls:
                return
            assert self.toolbox is not None
            exchange.append(_calling_message("".join(reply[said:]), calls))
            restored = [self.privacy.to_tool(call) for call in calls]  # real values, tool only
            job = asyncio.ensure_future(asyncio.gather(*map(self.toolbox.run, restored)))
            done, _ = await asyncio.wait({job}, timeout=FILLER_AFTER_S)
            if not done and (text := self._to_speech(FILLER, stamps)):
                yield text
            results = await job
            for call, result in zip(calls, results):
                result = self.privacy.from_tool(call.name, result)
                exchange.append({"role": "tool", "tool_call_id": call.id, "content": result})
                record.tool_calls.append(
                    {"name": call.name, "arguments": call.arguments, "result": result}
                )

    def _to_speech(self, clause: str, stamps: TurnStamps) -> str:
        text = speakable(self.privacy.to_speech(clause))
        if text:
            stamps.stamp(Mark.FIRST_CLAUSE)
            stamps.stamp(Mark.TTS_REQUEST)
            self._emit("agent_clause", text=text)
        return text

    async def _speak_apology(self, stamps: TurnStamps) -> None:
        async def one() -> AsyncIterator[str]:
            yield self._to_speech(APOLOGY, stamps)

        try:
            self._audio_stamps = stamps
            await self._speak(one(), stamps)
            await self.out.drained()
        except Exception as err:  # noqa: BLE001 - TTS is down too: nothing left to say it with
            log.warning("call %s: apology failed too: %s", self.call_id, err)

    def _emit(self, kind: str, **data: Any) -> None:
        event = CallEvent(kind, data, self.clock.now_ns())
        for observer in self._observers:
            observer(event)


@dataclass(frozen=True)
class _NotHeard(Transcript):
    """What a failed transcription leaves: no words, and the error."""

    error: Exception = field(default_factory=Exception)


def _known(transcript: Transcript) -> asyncio.Future[Transcript]:
    """A transcript already in hand, in the shape of one still being computed."""
    done: asyncio.Future[Transcript] = asyncio.get_running_loop().create_future()
    done.set_result(transcript)
    return done


def _calling_message(content: str, calls: list[ToolCall]) -> Message:
    """The assistant message that asked for `calls`, in the chat API's shape."""
    return {
        "role": "assistant",
        "content": content or None,
        "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in calls
        ],
    }
