"""The cloud-sim servers in a process of their own.

In-process servers share the event loop, the GIL and the two cores with the code under test,
so their JSON, base64 and pacing would be counted as voxline's time. A benchmark that wants
voxline's own overhead runs them here instead:

    async with cloud_sim_process(settings, transcripts=lines) as sim:
        providers = Providers.load(sim.settings)
        ...
        holds = await sim.holds()  # how long each server held each request


The child is spawned (not forked: the parent may hold model threads), reports the servers'
URLs over a pipe, then answers the parent's requests for its servers' holds (see
`LatencyProfile.hold`) until told to stop. Transcripts must be a plain list and
`profile` a module-level function, since both cross the process boundary by pickling.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection

import uvloop

from voxline.config import Settings
from voxline.testing.cloud_sim import SimURLs, cloud_sim, field_profile
from voxline.testing.profile import LatencyProfile

START_TIMEOUT_S = 60.0  # the child imports Piper for the TTS server's audio
STOP_TIMEOUT_S = 5.0


class SimProcessError(RuntimeError):
    pass


@dataclass
class SimProcess:
    settings: Settings  # the caller's settings, pointed at the servers
    _pipe: Connection

    async def holds(self) -> list[tuple[str, int, int]]:
        """Every (what, received_ns, answered_ns) the servers recorded so far, in time order."""
        def ask() -> list[tuple[str, int, int]]:
            self._pipe.send("holds")
            return self._pipe.recv()

        return await asyncio.to_thread(ask)


@asynccontextmanager
async def cloud_sim_process(
    settings: Settings,
    *,
    transcripts: Sequence[str],
    profile: Callable[[int], LatencyProfile] = field_profile,
) -> AsyncIterator[SimProcess]:
    """Run the three protocol servers in a child process."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    child = context.Process(
        target=_serve,
        args=(theirs, list(transcripts), profile),
        name="voxline-cloud-sim",
        daemon=True,
    )
    child.start()
    theirs.close()
    try:
        urls = await asyncio.to_thread(_first_message, ours, child)
        yield SimProcess(urls.settings(settings), ours)
    finally:
        with contextlib.suppress(OSError):  # the child is gone already
            ours.send("stop")
        await asyncio.to_thread(child.join, STOP_TIMEOUT_S)
        if child.is_alive():
            child.kill()
        ours.close()


def _first_message(pipe: Connection, child: multiprocessing.process.BaseProcess) -> SimURLs:
    if not pipe.poll(START_TIMEOUT_S):
        raise SimProcessError(f"cloud-sim servers did not start in {START_TIMEOUT_S:g} s")
    try:
        message = pipe.recv()
    except EOFError:
        raise SimProcessError(f"cloud-sim servers exited at start (code {child.exitcode})")
    if isinstance(message, BaseException):
        raise SimProcessError("cloud-sim servers failed to start") from message
    return message


def _serve(
    pipe: Connection, transcripts: list[str], profile: Callable[[int], LatencyProfile]
) -> None:
    try:
        # uvloop: these servers are load beside the worker under test; the cheaper their loop,
        # the less they take from its cores (the bench reads provider time from the worker's
        # own stamps, so libuv's 1 ms timers cost no accuracy).
        uvloop.run(_serve_until_stopped(pipe, transcripts, profile))
    except BaseException as error:  # tell the parent rather than leave it waiting
        with contextlib.suppress(OSError, ValueError):  # a pipe already closed
            pipe.send(error)
        raise


async def _serve_until_stopped(
    pipe: Connection, transcripts: list[str], profile: Callable[[int], LatencyProfile]
) -> None:
    async with cloud_sim(Settings(), transcripts=transcripts, profile=profile) as sim:
        pipe.send(SimURLs(sim.deepgram.url, sim.openai.base_url, sim.elevenlabs.base_url))
        profiles = (sim.deepgram.profile, sim.openai.profile, sim.elevenlabs.profile)
        while await asyncio.to_thread(_next_command, pipe) == "holds":
            pipe.send(sorted(hold for profile in profiles for hold in profile.holds))


def _next_command(pipe: Connection) -> str:
    try:
        return pipe.recv()
    except EOFError:  # the parent died: stop as well
        return "stop"
