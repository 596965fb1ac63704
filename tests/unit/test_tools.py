import asyncio
import json
from typing import Annotated, Literal

import pytest

from voxline.agent.clinic import AppointmentBook
from voxline.agent.tools import Tool, Toolbox
from voxline.providers.base import ToolCall


def reserve(
    name: Annotated[str, "who"], seats: int, kind: Literal["table", "bar"] = "table",
    notes: list[str] | None = None,
) -> dict:
    """Reserve seats.

    Longer text that is not part of the description."""
    return {"name": name, "seats": seats, "kind": kind}


def test_schema_comes_from_type_hints_and_docstring():
    tool = Tool.from_function(reserve)
    assert tool.definition()["function"]["description"] == "Reserve seats."
    params = tool.parameters
    assert params["required"] == ["name", "seats"]
    assert params["properties"]["name"] == {"type": "string", "description": "who"}
    assert params["properties"]["seats"] == {"type": "integer"}
    assert params["properties"]["kind"] == {"type": "string", "enum": ["table", "bar"]}
    assert params["properties"]["notes"] == {"type": "array", "items": {"type": "string"}}


def test_unsupported_parameter_types_are_refused():
    def bad(when: object) -> None:
        """x"""

    with pytest.raises(TypeError, match="tool parameters"):
        Tool.from_function(bad)


async def test_arguments_are_checked_and_errors_go_back_to_the_model():
    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    box = Toolbox([add])
    assert await box.run(ToolCall("1", "add", '{"a": 2, "b": 3}')) == "5"
    assert "must be of type integer" in await box.run(ToolCall("2", "add", '{"a": "2", "b": 3}'))
    assert "missing arguments: b" in await box.run(ToolCall("3", "add", '{"a": 2}'))
    assert "not valid JSON" in await box.run(ToolCall("4", "add", '{"a": 2,'))
    assert "no tool named" in await box.run(ToolCall("5", "nope", "{}"))


async def test_a_tool_that_hangs_times_out_and_one_that_raises_is_reported():
    async def hang() -> str:
        """Hang."""
        await asyncio.sleep(10)
        return "never"

    def boom() -> str:
        """Boom."""
        raise RuntimeError("disk on fire")

    box = Toolbox([hang, boom], timeout_s=0.05)
    assert json.loads(await box.run(ToolCall("1", "hang", "{}")))["error"] == "hang timed out"
    assert "RuntimeError" in await box.run(ToolCall("2", "boom", "{}"))


async def test_clinic_tools_book_a_real_row(tmp_path):
    book = AppointmentBook(tmp_path / "clinic.sqlite")
    box = Toolbox(book.tools())
    free = json.loads(await box.run(ToolCall("1", "check_availability", '{"day": "Tuesday"}')))
    assert free == {"day": "tuesday", "free": ["10:00", "14:00"]}
    args = '{"name": "Maria Lopez", "day": "tuesday", "time": "2 PM"}'
    booked = json.loads(await box.run(ToolCall("2", "book_appointment", args)))
    assert booked == {"booked": True, "name": "Maria Lopez", "day": "tuesday", "time": "14:00"}
    again = json.loads(await box.run(ToolCall("3", "book_appointment", args)))
    assert again["booked"] is False and again["free"] == ["10:00"]
    # The row is in the file, seen by a fresh connection.
    assert AppointmentBook(tmp_path / "clinic.sqlite").bookings() == [
        ("tuesday", "14:00", "Maria Lopez")
    ]
    closed = json.loads(await box.run(ToolCall("4", "check_availability", '{"day": "sunday"}')))
    assert closed["free"] == [] and "closed" in closed["note"]
