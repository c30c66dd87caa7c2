"""The calls the agent may make: each tool's argument model, its JSON schema, and parsing.

:func:`parse_call` turns a model's tool call into a validated argument model or a
:class:`ToolError` with one sentence the model can act on. :data:`TOOLS` says of each tool
how it is approved (its :data:`~autogpt_tui.core.constants.ToolKind`). Running the tools
is :mod:`autogpt_tui.core.tools`' business.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from autogpt_tui.core.constants import ToolKind
from autogpt_tui.core.errors import ToolError
from autogpt_tui.core.sandbox import display_path

# ---------------------------------------------------------------------------------------
# Argument models


class _Args(BaseModel):
    """Base of every tool's arguments: unknown arguments are an error, not ignored."""

    model_config = ConfigDict(extra="forbid")


class ReadFileArgs(_Args):
    """Arguments of ``read_file``."""

    path: str = Field(min_length=1, description="File path, relative to the workspace root.")
    start_line: int | None = Field(
        default=None, ge=1, description="First line to read (1-based, inclusive)."
    )
    end_line: int | None = Field(
        default=None, ge=1, description="Last line to read (1-based, inclusive)."
    )


class WriteFileArgs(_Args):
    """Arguments of ``write_file``."""

    path: str = Field(min_length=1, description="File path, relative to the workspace root.")
    content: str = Field(description="The complete new content of the file (UTF-8 text).")


class EditFileArgs(_Args):
    """Arguments of ``edit_file``."""

    path: str = Field(min_length=1, description="File path, relative to the workspace root.")
    old_text: str = Field(
        min_length=1,
        description=(
            "Exact text to replace, including whitespace and indentation; it must occur "
            "exactly once in the file."
        ),
    )
    new_text: str = Field(description="Text that replaces old_text (may be empty to delete).")


class ListFilesArgs(_Args):
    """Arguments of ``list_files``."""

    path: str = Field(default=".", description="Folder to list, relative to the workspace root.")


class SearchArgs(_Args):
    """Arguments of ``search``."""

    pattern: str = Field(
        min_length=1, description="Python regular expression, matched against each line."
    )
    path: str = Field(
        default=".", description="File or folder to search, relative to the workspace root."
    )
    glob: str | None = Field(
        default=None,
        min_length=1,
        description=(
            "Only files matching this glob, e.g. '*.py', 'src/**/*.ts', '*.{js,ts}'; "
            "a leading '!' leaves them out instead."
        ),
    )
    context: int | None = Field(
        default=None,
        ge=0,
        le=10,
        description="Lines of context to show before and after each match (default 0).",
    )


class RunCommandArgs(_Args):
    """Arguments of ``run_command``."""

    command: str = Field(min_length=1, description="Shell command, run with bash -c.")
    timeout_s: float | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        description="Seconds before the command is stopped (default 60).",
    )


class AskUserArgs(_Args):
    """Arguments of ``ask_user``."""

    question: str = Field(min_length=1, description="The question for the user.")


class DelegateArgs(_Args):
    """Arguments of ``delegate``."""

    task: str = Field(
        min_length=1,
        description="What to find out, as a goal for a read-only sub-agent "
        "(e.g. 'Where is the config file parsed, and which keys does it accept?').",
    )


class FinishArgs(_Args):
    """Arguments of ``finish``."""

    summary: str = Field(min_length=1, description="What was done, for the user.")


# ---------------------------------------------------------------------------------------
# Specs and schemas


@dataclass(frozen=True)
class ToolSpec:
    """A tool the model may call: its name, what it does, its arguments and its kind.

    ``kind`` is what approval modes decide on: reads run freely, edits and commands may
    wait for the user, ``ask`` and ``finish`` end the step in the agent loop.
    """

    name: str
    description: str
    args_model: type[BaseModel]
    kind: ToolKind

    def schema(self) -> dict[str, Any]:
        """The OpenAI function-calling entry for this tool."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": _clean_schema(self.args_model),
            },
        }


_SPECS = [
    ToolSpec(
        "read_file",
        "Read a text file of the workspace. Returns its exact text (no line numbers), so "
        "it can be quoted in edit_file. Large files are truncated: use start_line/end_line "
        "to read a part.",
        ReadFileArgs,
        "read",
    ),
    ToolSpec(
        "write_file",
        "Create a file, or replace a file's whole content. Parent folders are created.",
        WriteFileArgs,
        "edit",
    ),
    ToolSpec(
        "edit_file",
        "Replace one exact occurrence of old_text in a file with new_text. old_text must "
        "occur exactly once: include enough surrounding lines to make it unique.",
        EditFileArgs,
        "edit",
    ),
    ToolSpec(
        "list_files",
        "List the files and folders (folders end with /) under a folder, recursively; "
        "git-ignored paths and .git are left out.",
        ListFilesArgs,
        "read",
    ),
    ToolSpec(
        "search",
        "Search the workspace's text files for a regular expression, line by line; "
        "returns path:line: text for each match (path-line- text for context lines). "
        "Git-ignored files are skipped; glob narrows the files.",
        SearchArgs,
        "read",
    ),
    ToolSpec(
        "run_command",
        "Run a shell command (bash) in the workspace root and return its exit status, "
        "stdout and stderr. Standard input is empty; there is no network in the sandbox.",
        RunCommandArgs,
        "command",
    ),
    ToolSpec(
        "ask_user",
        "Ask the user a question and wait for the answer.",
        AskUserArgs,
        "ask",
    ),
    ToolSpec(
        "delegate",
        "Hand a read-only exploration to a sub-agent with a fresh context: it reads, lists "
        "and searches the workspace on its own (a few steps) and returns a summary of "
        "what it found as this call's result. It changes nothing. Use it for questions "
        "that take many reads to answer, to keep your own context small.",
        DelegateArgs,
        "read",  # it runs reads only: approved as a read is
    ),
    ToolSpec(
        "finish",
        "Declare the goal done (or impossible) and summarise what was done.",
        FinishArgs,
        "finish",
    ),
]

TOOLS: dict[str, ToolSpec] = {spec.name: spec for spec in _SPECS}
LOOP_READS = frozenset({"delegate"})
"""Tools of the ``read`` kind that the agent loop runs itself, one a step (not batched
with the reply's other reads, not run by the ToolRunner): ``delegate``."""
SUBAGENT_TOOLS = ("read_file", "list_files", "search", "finish")
"""The tools a delegated sub-agent may call: reads, and finish for its summary."""


@functools.cache
def _schemas() -> tuple[dict[str, Any], ...]:
    return tuple(spec.schema() for spec in TOOLS.values())


def tool_schemas() -> list[dict[str, Any]]:
    """Every tool as an OpenAI function-calling entry, in a stable order.

    Built once per process (pydantic's schema generation costs milliseconds) and
    copied, so a caller cannot change what the next caller gets.
    """
    return copy.deepcopy(list(_schemas()))


def _clean_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema as plain JSON Schema for function calling.

    Titles are dropped (noise for the model), and an optional field's
    ``anyOf: [X, null]`` becomes plain X: leaving it out is how the model says "none".
    """
    raw = model.model_json_schema()
    properties: dict[str, Any] = {}
    for name, prop in raw.get("properties", {}).items():
        prop = {k: v for k, v in prop.items() if k != "title"}
        options = prop.pop("anyOf", None)
        if options is not None:
            (kept,) = [option for option in options if option.get("type") != "null"]
            prop = {**kept, **prop}
        if prop.get("default", ...) is None:
            del prop["default"]
        properties[name] = prop
    return {
        "type": "object",
        "properties": properties,
        "required": list(raw.get("required", [])),
        "additionalProperties": False,
    }


# ---------------------------------------------------------------------------------------
# Parsing tool calls


def parse_call(name: str, arguments: str, extra: Mapping[str, ToolSpec] | None = None) -> BaseModel:
    """Validate a tool call: the tool's argument model, or :class:`ToolError`.

    ``extra`` are tools offered beyond the built-in ones (an MCP server's).

    ``arguments`` is the JSON text the model sent; an empty string means ``{}``. A JSON
    ``null`` for an argument that has a default means the default.
    """
    spec = TOOLS.get(name) or (extra or {}).get(name)
    if spec is None:
        known = [*TOOLS, *(extra or {})]
        raise ToolError(f"Unknown tool '{display_path(name)}'; the tools are: {', '.join(known)}.")
    if not arguments.strip():
        data: Any = {}
    else:
        try:
            data = json.loads(arguments)
        except json.JSONDecodeError as error:
            raise ToolError(
                f"The arguments of {name} are not valid JSON: {error.msg} "
                f"at line {error.lineno} column {error.colno}."
            ) from None
    if not isinstance(data, dict):
        raise ToolError(f"The arguments of {name} must be a JSON object, not {_json_kind(data)}.")
    fields = spec.args_model.model_fields
    data = {
        key: value
        for key, value in data.items()
        if not (value is None and key in fields and not fields[key].is_required())
    }
    try:
        return spec.args_model.model_validate(data)
    except ValidationError as error:
        raise ToolError(_validation_sentence(name, spec.args_model, error)) from None


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "null"


def _validation_sentence(tool: str, model: type[BaseModel], error: ValidationError) -> str:
    """One sentence naming each bad field and what it must be."""
    missing: list[str] = []
    unexpected: list[str] = []
    invalid: list[str] = []
    surrogates: list[str] = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else ""
        if item["type"] == "string_unicode" and field:
            # A lone surrogate ("\ud800" in the JSON) is a string, just not text.
            surrogates.append(field)
        elif item["type"] == "missing":
            missing.append(field)
        elif item["type"] == "extra_forbidden":
            unexpected.append(field)
        elif field and field not in invalid:
            invalid.append(field)
    problems: list[str] = []
    if missing:
        names = _and([f"'{f}'" for f in missing])
        problems.append(f"{names} {'is' if len(missing) == 1 else 'are'} required")
    for field in invalid:
        problems.append(f"'{field}' must be {_expectation(model, field)}")
    for field in surrogates:
        problems.append(
            f"'{field}' holds a lone surrogate, which is not text; "
            "write the character itself or its UTF-8 form"
        )
    if unexpected:
        names = _and([f"'{display_path(f)}'" for f in unexpected])
        problems.append(
            f"{names} {'is not an argument' if len(unexpected) == 1 else 'are not arguments'}"
            f" (the arguments are: {', '.join(model.model_fields)})"
        )
    if not problems:
        problems.append(error.errors()[0]["msg"])
    return f"{tool}: " + "; ".join(problems) + "."


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _expectation(model: type[BaseModel], field: str) -> str:
    """What a field must be, in words, from its type and constraints ("an integer ≥ 1")."""
    info = model.model_fields[field]
    types = [t for t in get_args(info.annotation) if t is not type(None)] or [info.annotation]
    kind = types[0]
    words = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
    text = words.get(kind, "valid") if isinstance(kind, type) else "valid"
    for constraint in info.metadata:
        if getattr(constraint, "min_length", None) == 1 and kind is str:
            text = "a non-empty string"
        if (ge := getattr(constraint, "ge", None)) is not None:
            text += f" ≥ {ge}"
        if (gt := getattr(constraint, "gt", None)) is not None:
            text += f" > {gt}"
    return text
