"""`voxline serve | talk | doctor | models | demo-wavs | records`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from pydantic import ValidationError

from voxline.errors import ConfigError, ModelMissingError, VoxlineError, WavError

EXIT_BAD_INPUT = 2
EXIT_SETUP = 3


def _settings(args: argparse.Namespace):  # -> Settings, imported late: keeps --help instant
    from voxline.config import Settings

    overrides = {k: v for k in ("stt", "llm", "tts") if (v := getattr(args, k, None))}
    return Settings(**overrides)


def _fail(message: str, code: int) -> int:
    print(f"voxline: {message}", file=sys.stderr)
    return code


# -- talk -------------------------------------------------------------------------------------


def _bar(start: float, end: float, scale_ms: float, origin: float) -> str:
    left = max(0, round((start - origin) / scale_ms))
    width = max(1, round((end - start) / scale_ms))
    return " " * left + "█" * width


def print_turn(record: dict) -> None:
    latency = record["latency"]
    print(f"\nturn {record['index'] + 1} [{record['outcome']}]")
    print(f"  caller: {record['transcript'] or '(nothing recognized)'}")
    for tool in record.get("tool_calls", []):
        print(f"  tool:   {tool['name']}({tool['arguments']}) -> {tool['result']}")
    if record["reply"]:
        heard = record["heard"] if record["interrupted"] else record["reply"]
        print(f"  agent:  {heard}{' …(interrupted)' if record['interrupted'] else ''}")
    if rows := record["waterfall"]:
        origin = min(start for _, start, _ in rows)
        scale = max(20.0, (max(end for *_, end in rows) - origin) / 60)
        print(f"  waterfall (ms from the end of the caller's speech; one block = {scale:.0f} ms)")
        for label, start, end in rows:
            print(f"    {label:<16}{start:>7.0f} → {end:>5.0f}  {_bar(start, end, scale, origin)}")
    names = ("endpoint_delay_ms", "stt_latency_ms", "llm_first_token_ms", "tts_first_chunk_ms")
    figures = "  ".join(
        f"{n.removesuffix('_ms')}={latency[n]:.0f}" for n in names if latency.get(n) is not None
    )
    print(f"  {figures}")
    if latency.get("turn_latency_ms") is not None:
        print(f"  turn_latency={latency['turn_latency_ms']:.0f} ms")


def cmd_talk(args: argparse.Namespace) -> int:
    from voxline.talk import load_caller_wavs, write_outputs

    try:
        load_caller_wavs(args.wavs)  # fail on a bad file before loading any model
    except WavError as err:
        return _fail(str(err), EXIT_BAD_INPUT)
    settings = _settings(args)
    if args.profile == "local":
        from voxline.providers.registry import check_names

        check_names(settings)
    print(f"loading models ({args.profile} profile)…", file=sys.stderr)
    result = asyncio.run(_talk(args, settings))
    write_outputs(result, args.out, args.report)
    for record in result.records:
        if record.voice_to_voice_ms is not None:
            print(f"\nturn {record.index + 1}: voice_to_voice {record.voice_to_voice_ms:.0f} ms "
                  "(measured by the file caller from audio)", end="")
    print()
    for utterance in result.utterances:
        if not utterance.speech_detected:
            print(f"\nno speech detected in {args.wavs[utterance.index]}")
    if args.out:
        print(f"\nagent audio written to {args.out}")
    if args.report:
        print(f"turn records written to {args.report}")
    return 0


async def _talk(args: argparse.Namespace, settings):  # -> TalkResult
    from contextlib import AsyncExitStack

    from voxline.agent.clinic import AppointmentBook
    from voxline.agent.prompts import CLINIC_SYSTEM_PROMPT
    from voxline.agent.tools import Toolbox
    from voxline.providers.registry import Providers
    from voxline.session.call import Call
    from voxline.talk import talk

    async with AsyncExitStack() as stack:
        if args.profile == "cloud-sim":
            from voxline.testing.cloud_sim import cloud_sim, whisper_transcripts

            sim = await stack.enter_async_context(
                cloud_sim(settings, transcripts=whisper_transcripts())
            )
            settings = sim.settings
        providers = Providers.load(settings)
        stack.push_async_callback(providers.aclose)
        await providers.warm(CLINIC_SYSTEM_PROMPT)
        book = AppointmentBook(settings.clinic_db)
        call = Call(providers, settings, transport="file", toolbox=Toolbox(book.tools()))
        call.observe(lambda e: print_turn(e.data["record"]) if e.kind == "turn" else None)
        return await talk(providers, settings, args.wavs, fast=args.fast, call=call,
                          record_to=args.out)  # streamed to disk as the call runs


# -- serve ------------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from voxline.server.app import create_app

    settings = _settings(args)
    host = args.host or settings.host
    port = args.port or settings.port
    settings = settings.model_copy(update={"host": host, "port": port})
    logging.getLogger("voxline").setLevel(logging.INFO)
    uvicorn.run(create_app(settings, owns_process=True), host=host, port=port, log_level="info",
                loop=settings.event_loop)
    return 0


# -- bench ------------------------------------------------------------------------------------


def cmd_bench(args: argparse.Namespace) -> int:
    from voxline.bench.scenario import ScenarioError, load_scenario, run

    try:
        load_scenario(args.scenario)  # a bad file fails before anything is started
    except ScenarioError as err:
        return _fail(str(err), EXIT_BAD_INPUT)
    results = run(args.scenario, args.out)
    print(f"results in {args.out}: results.json, summary.md, latency_cdf.png, "
          f"latency_cpu_vs_calls.png ({len(results['steps'])} step(s))")
    return 0


# -- call -------------------------------------------------------------------------------------


def cmd_call(args: argparse.Namespace) -> int:
    from voxline.bench.caller import Script, ScriptError, TargetError, place_call
    from voxline.bench.caller.report import table, write_json

    try:
        script = Script.load(args.script)  # every WAV read and checked before dialling
    except ScriptError as err:
        return _fail(str(err), EXIT_BAD_INPUT)
    options = {"twilio_auth_token": args.twilio_auth_token, "sip_username": args.sip_user,
               "sip_password": args.sip_password}
    try:
        result = asyncio.run(place_call(args.target, args.transport, script,
                                        record_dir=args.out, timeout_s=args.timeout, **options))
    except TargetError as err:
        return _fail(str(err), EXIT_BAD_INPUT)
    print(table(result))
    if args.out:
        write_json(result, args.out / "call.json")
        print(f"\nwritten: {args.out / 'call.json'}, {', '.join(result.recordings.values())}")
    return 0 if result.error is None else 1


# -- doctor and models ------------------------------------------------------------------------


def cmd_models(args: argparse.Namespace) -> int:
    from voxline.models import check_all

    failed = 0
    for status in check_all(force_hash=args.verify):
        spec = status.spec
        mark = "ok " if status.ok else "MISSING"
        print(f"{mark:<8}{spec.id:<30}{spec.licence}")
        print(f"        {spec.description}")
        print(f"        packages: {', '.join(spec.packages)}")
        print(f"        sha256:   {spec.sha256}")
        print(f"        {status.path if status.ok else status.detail}")
        failed += not status.ok
    return EXIT_SETUP if failed else 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from voxline.doctor import run_checks

    return 0 if run_checks() else EXIT_SETUP


def cmd_demo_wavs(args: argparse.Namespace) -> int:
    from voxline.demo import synthesize_lines

    for path in synthesize_lines(args.directory):
        print(path)
    return 0


# -- entry point ------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voxline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def providers(p: argparse.ArgumentParser) -> None:
        p.add_argument("--stt", help="STT provider, vendor/model")
        p.add_argument("--llm", help="LLM provider, vendor/model")
        p.add_argument("--tts", help="TTS provider, vendor/model")

    talk = sub.add_parser("talk", help="play a call from caller WAVs through the file transport")
    talk.add_argument("wavs", nargs="+", help="caller WAVs, one per turn, any rate or channels")
    talk.add_argument("--out", type=Path, help="write the agent's audio track here (WAV)")
    talk.add_argument("--report", type=Path, help="write the turn records here (JSON)")
    talk.add_argument("--fast", action="store_true", help="skip real-time pacing")
    talk.add_argument(
        "--profile",
        choices=("local", "cloud-sim"),
        default="local",
        help="local: the configured providers (embedded by default); cloud-sim: Deepgram, "
        "OpenAI and ElevenLabs clients against local servers speaking their protocols",
    )
    providers(talk)
    talk.set_defaults(func=cmd_talk)

    serve = sub.add_parser("serve", help="start the ASGI server")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    providers(serve)
    serve.set_defaults(func=cmd_serve)

    call = sub.add_parser("call", help="dial a running server as a scripted caller and measure "
                          "voice_to_voice_ms / barge_in_stop_ms per turn (docs/caller.md)")
    call.add_argument("target", help="twilio: http://host:port or ws://host:port/twilio/stream; "
                      "webrtc: http://host:port; sip: sip:agent@host:port")
    call.add_argument("--transport", choices=("twilio", "webrtc", "sip"), required=True)
    call.add_argument("--script", nargs="+", required=True, metavar="TOML|WAV",
                      help="a script.toml, or caller WAVs spoken in order")
    call.add_argument("--out", type=Path, help="write call.json and heard.wav / sent.wav here")
    call.add_argument("--timeout", type=float, default=300.0, help="whole-call limit, seconds")
    call.add_argument("--twilio-auth-token", help="default: $VOXLINE_TWILIO__AUTH_TOKEN")
    call.add_argument("--sip-user", help="digest username, if the server challenges")
    call.add_argument("--sip-password", help="digest password, if the server challenges")
    call.set_defaults(func=cmd_call)

    models = sub.add_parser("models", help="list the packaged models and verify their hashes")
    models.add_argument("--verify", action="store_true", help="re-hash every file")
    models.set_defaults(func=cmd_models)

    bench = sub.add_parser("bench", help="run a benchmark scenario (TOML) against a worker")
    bench.add_argument("scenario", type=Path, help="scenario file, e.g. bench/scenarios/*.toml")
    bench.add_argument("--out", type=Path, required=True, help="directory for the results")
    bench.set_defaults(func=cmd_bench)

    doctor = sub.add_parser("doctor", help="check dependencies and models, with fixes")
    doctor.set_defaults(func=cmd_doctor)

    from voxline.privacy.redact_cli import configure_parser as configure_redact

    redact = sub.add_parser("redact", help="redact PII in transcript lines, stdin to stdout")
    configure_redact(redact)

    demo = sub.add_parser("demo-wavs", help="synthesize the clinic demo caller WAVs")
    demo.add_argument("directory", type=Path)
    demo.set_defaults(func=cmd_demo_wavs)

    from voxline.telemetry.records.commands import add_parser as records_commands

    records_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except ValidationError as err:
        return _fail(f"invalid configuration:\n{err}", EXIT_SETUP)
    except (ConfigError, ModelMissingError) as err:
        return _fail(str(err), EXIT_SETUP)
    except WavError as err:
        return _fail(str(err), EXIT_BAD_INPUT)
    except VoxlineError as err:
        return _fail(str(err), 1)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
