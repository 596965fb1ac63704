"""Tools: typed Python functions the LLM may call.

The JSON schema sent to the model is derived from the function's type hints and docstring;
`Annotated[str, "what it is"]` gives a parameter its description. Arguments coming back are
checked against the same hints before the function runs, and every failure (bad JSON, a wrong
type, an exception, a timeout) becomes a short error text for the model rather than a crash.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin, get_type_hints

from voxline.providers.base import ToolCall

log = logging.getLogger(__name__)

_JSON_TYPES: dict[type, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


def _schema(hint: Any) -> tuple[dict[str, Any], str | None]:
    """JSON schema of one parameter type, and its description if Annotated."""
    description = None
    if get_origin(hint) is typing.Annotated:
        hint, *extra = get_args(hint)
        description = next((e for e in extra if isinstance(e, str)), None)
    if get_origin(hint) in (typing.Union, types.UnionType):  # Optional[X]: X, not required
        args = [a for a in get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return _schema(args[0])[0], description
    if get_origin(hint) is Literal:
        values = list(get_args(hint))
        return {"type": _JSON_TYPES[type(values[0])], "enum": values}, description
    if get_origin(hint) in (list, Sequence):
        (item,) = get_args(hint) or (str,)
        return {"type": "array", "items": _schema(item)[0]}, description
    if hint in _JSON_TYPES:
        return {"type": _JSON_TYPES[hint]}, description
    raise TypeError(f"tool parameters must be str, int, float, bool, Literal or list; got {hint!r}")


def _check(value: Any, schema: dict[str, Any], name: str) -> Any:
    kind = schema["type"]
    ok = {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "array": isinstance(value, list),
    }[kind]
    if not ok:
        raise ValueError(f"argument {name!r} must be of type {kind}, got {value!r}")
    if "enum" in schema and value not in schema["enum"]:
        raise ValueError(f"argument {name!r} must be one of {schema['enum']}, got {value!r}")
    if kind == "array":
        return [_check(v, schema["items"], name) for v in value]
    return value


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]  # JSON schema of the arguments object
    function: Callable[..., Any]

    @classmethod
    def from_function(cls, function: Callable[..., Any]) -> Tool:
        hints = get_type_hints(function, include_extras=True)
        properties, required = {}, []
        for param in inspect.signature(function).parameters.values():
            schema, description = _schema(hints[param.name])
            if description:
                schema["description"] = description
            properties[param.name] = schema
            if param.default is inspect.Parameter.empty:
                required.append(param.name)
        doc = inspect.getdoc(function) or function.__name__
        return cls(
            name=function.__name__,
            description=doc.split("\n\n")[0].replace("\n", " "),
            parameters={"type": "object", "properties": properties, "required": required},
            function=function,
        )

    def definition(self) -> dict[str, Any]:
        """The OpenAI-style tool definition."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }

    def parse_arguments(self, arguments: str) -> dict[str, Any]:
        try:
            values = json.loads(arguments or "{}")
        except json.JSONDecodeError as err:
            raise ValueError(f"arguments are not valid JSON: {err.msg}") from None
        if not isinstance(values, dict):
            raise ValueError("arguments must be a JSON object")
        props = self.parameters["properties"]
        unknown = set(values) - set(props)
        if unknown:
            raise ValueError(f"unknown arguments: {', '.join(sorted(unknown))}")
        missing = [n for n in self.parameters["required"] if n not in values]
        if missing:
            raise ValueError(f"missing arguments: {', '.join(missing)}")
        return {n: _check(v, props[n], n) for n, v in values.items()}


class Toolbox:
    """The tools of one agent, run with a timeout; results are text for the model."""

    def __init__(self, functions: Sequence[Callable[..., Any]], timeout_s: float = 5.0) -> None:
        self.tools = {t.name: t for t in map(Tool.from_function, functions)}
        self.timeout_s = timeout_s

    def definitions(self) -> list[dict[str, Any]]:
        return [tool.definition() for tool in self.tools.values()]

    async def run(self, call: ToolCall) -> str:
        tool = self.tools.get(call.name)
        if tool is None:
            return json.dumps({"error": f"no tool named {call.name!r}"})
        try:
            arguments = tool.parse_arguments(call.arguments)
            if inspect.iscoroutinefunction(tool.function):
                job = tool.function(**arguments)
            else:  # a blocking function (a database query) runs off the event loop
                job = asyncio.to_thread(tool.function, **arguments)
            result = await asyncio.wait_for(job, self.timeout_s)
        except TimeoutError:
            log.warning("tool %s timed out after %.1f s", call.name, self.timeout_s)
            return json.dumps({"error": f"{call.name} timed out"})
        except ValueError as err:
            return json.dumps({"error": str(err)})
        except Exception as err:  # noqa: BLE001 - the model hears of it; the call goes on
            # The type only: an exception message may quote the arguments (personal data).
            log.warning("tool %s failed: %s", call.name, type(err).__name__)
            return json.dumps({"error": f"{call.name} failed: {type(err).__name__}"})
        return result if isinstance(result, str) else json.dumps(result)
