"""A small, deterministic clinic receptionist: the default answers of the fake OpenAI server.

It speaks for the clinic of `agent/prompts.py` (Bright Smile Dental Clinic). Rules, in order:

1. The last message is a `tool` result (JSON, as `agent/clinic.py` returns): one sentence built
   from it: the booking confirmed, the free times listed (`free`/`slots`), the refusal or
   error repeated.
2. `book_appointment` is offered and the caller gives a name ("my name is Maria Lopez",
   "this is ...", "for ...", capitalised) and a day and time ("Tuesday at 2 pm"): call it with
   `name`, `day`, `time` ("14:00"). Asked to book ("book", "appointment", "schedule") with a
   part missing: ask for it.
3. `check_availability` is offered and the caller asks what is free/available on a day
   ("anything", "slots", "openings"): call it with `day`.
4. Hours, services, greetings: a fixed sentence. Anything else: a generic offer of help.

Argument names follow the tool's JSON schema where it names a synonym (`patient_name`,
`date`, `slot`, ...). Tool-call ids are a hash of name and arguments, so replays are equal.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from voxline.providers.base import ToolCall

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY = re.compile(r"\b(" + "|".join(DAYS) + r"|today|tomorrow)\b", re.IGNORECASE)
_TIME = re.compile(r"\b(\d{1,2})(?::(\d{2}))?\s*(a\.?m\.?|p\.?m\.?)?(?!\d)", re.IGNORECASE)
_NAME = re.compile(  # the lead-in in any case, the name capitalised
    r"(?i:\bmy name is|\bthis is|\bname's|\bfor|\bI am|\bI'm)\s+"
    r"([A-Z][a-z'-]+(?:\s+[A-Z][a-z'-]+)?)"
)
_FREE = r"free|availab|anything|\bslots?\b|openings?"
# What the privacy vault puts in place of a name or number the caller said.
_NAME_PLACEHOLDER = re.compile(r"\[NAME_\d+\]")
_PHONE = re.compile(r"\[PHONE_\d+\]|\+?\d[\d\s().-]{6,}\d")
_SLOTS = ("free", "slots", "available", "times")  # where a result lists free times
_SYNONYMS = {
    "name": ("name", "patient_name", "patient", "caller_name", "full_name"),
    "day": ("day", "date", "weekday"),
    "time": ("time", "slot", "start_time", "hour"),
    "phone": ("phone", "phone_number", "callback_number"),
}
HOURS = "We're open Monday to Friday, 8 AM to 5 PM, and closed on weekends."
SERVICES = "We offer cleanings, fillings, whitening and emergency visits."
GREETING = "Hello, thank you for calling Bright Smile Dental. How can I help you today?"
FALLBACK = (
    "I can book an appointment, check what's free, or tell you our hours. What would you like?"
)
ASK_BOOKING = "I can book that for you. What name, and which day and time would you like?"


def clinic_brain(messages: list[dict], tools: list[dict] | None) -> list[str | ToolCall]:
    last = messages[-1] if messages else {"role": "user", "content": ""}
    if last.get("role") == "tool":
        return [_after_tool(messages, _text(last))]
    text = _text(last)
    lower = text.lower()
    offered = {t.get("function", {}).get("name"): t.get("function", {}) for t in tools or []}
    day = _day(text)
    name, time = _name(text), _time(text)
    if "book_appointment" in offered and name and day and time:
        args = {"name": name, "day": day, "time": time}
        if phone := _PHONE.search(text):  # passed on when the tool takes a number
            args["phone"] = phone.group().strip()
        return [_call("book_appointment", args, offered["book_appointment"])]
    if "book_appointment" in offered and re.search(r"\bbook|appointment|schedule", lower):
        return [ASK_BOOKING]
    if "check_availability" in offered and day and re.search(_FREE, lower):
        return [_call("check_availability", {"day": day}, offered["check_availability"])]
    if re.search(r"\bhours?\b|\bopen\b|\bclose", lower):
        return [HOURS]
    if re.search(r"service|offer|\bdo you do\b", lower):
        return [SERVICES]
    if re.search(r"\b(hello|hi|hey|good (morning|afternoon))\b", lower):
        return [GREETING]
    return [FALLBACK]


def _text(message: dict) -> str:
    content = message.get("content") or ""
    if isinstance(content, list):  # content parts
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


def _day(text: str) -> str | None:
    match = _DAY.search(text)
    return match.group(1).capitalize() if match else None


def _time(text: str) -> str | None:
    """"2 pm" -> "14:00", "9:30" -> "09:30"; a bare hour under 8 is afternoon (clinic hours)."""
    for match in _TIME.finditer(text):
        hour, minute, half = int(match.group(1)), int(match.group(2) or 0), match.group(3)
        if not half and not match.group(2) and not re.search(r"\bat\s*$", text[: match.start()]):
            continue  # "2" alone is a time only after "at"
        if half and half.lower().startswith("p") and hour < 12:
            hour += 12
        elif half and hour == 12:
            hour = 0
        elif not half and hour < 8:
            hour += 12
        if hour < 24 and minute < 60:
            return f"{hour:02d}:{minute:02d}"
    return None


def _name(text: str) -> str | None:
    for match in _NAME.finditer(text):
        if match.group(1).lower() not in DAYS:
            return match.group(1)
    held = _NAME_PLACEHOLDER.search(text)  # a redacted name stands for the name
    return held.group() if held else None


def _call(name: str, args: dict[str, str], schema: dict[str, Any]) -> ToolCall:
    properties = (schema.get("parameters") or {}).get("properties") or {}
    named = {}
    for key, value in args.items():
        wire = next((s for s in _SYNONYMS[key] if s in properties), None)
        if wire is None and key == "phone":
            continue  # a tool that takes no number is not sent one
        named[wire or key] = value
    arguments = json.dumps(named)
    digest = hashlib.sha1(f"{name}{arguments}".encode()).hexdigest()[:16]
    return ToolCall(f"call_{digest}", name, arguments)


def _after_tool(messages: list[dict], content: str) -> str:
    called, args = "", {}  # the call this result answers
    for message in reversed(messages[:-1]):
        calls = message.get("tool_calls") or []
        if message.get("role") == "assistant" and calls:
            function = calls[-1].get("function", {})
            called = function.get("name", "")
            args = _loads(function.get("arguments") or "")
            args = args if isinstance(args, dict) else {}
            break
    result = _loads(content)
    if not isinstance(result, dict):
        return f"Here is what I found: {str(result)[:120]}."
    if result.get("error"):
        return f"Sorry, I couldn't do that: {result['error']}."
    info = {**args, **result}
    who, day, time = (next((str(info[k]) for k in _SYNONYMS[what] if info.get(k)), "")
                      for what in ("name", "day", "time"))
    day = day.capitalize()
    slots = next((result[k] for k in _SLOTS if isinstance(result.get(k), list)), None)
    if result.get("booked") is False or result.get("confirmed") is False:
        sorry = f"Sorry, {result.get('reason') or 'I could not book that'}."
        return f"{sorry} {_offer(day, slots)}" if slots else sorry
    if slots is not None:
        if not slots:
            note = result.get("note") or f"nothing is free on {day or 'that day'}"
            return f"I'm sorry, {note}. Would another day work?"
        return _offer(day, slots)
    if called == "book_appointment" or {"confirmed", "booked"} & result.keys():
        when = " at ".join(part for part in (day, time) if part)
        phone = next((str(info[k]) for k in _SYNONYMS["phone"] if info.get(k)), "")
        call_back = f" We'll call {phone} if anything changes." if phone else ""
        return f"You're booked{' for ' + when if when else ''}{', ' + who if who else ''}." \
            + call_back
    return f"Here is what I found: {json.dumps(result)[:120]}."


def _offer(day: str, slots: list) -> str:
    day = day or "that day"
    listed = ", ".join(str(s) for s in slots[:-1])
    listed = f"{listed} or {slots[-1]}" if listed else str(slots[-1])
    return f"On {day} we have {listed}. Which would you like?"


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
