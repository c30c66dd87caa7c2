"""The settings layers that pydantic-settings does not ship, and the errors they raise.

:mod:`autogpt_tui.core.settings` stacks pydantic-settings' own sources; this module holds
the pieces it adds to them: a TOML file source whose problems are one sentence naming the
file, a source for the openai library's ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL``, and
the translation of a validation error into a :class:`ConfigError` that names the layer
(file, environment variable or command line) the bad value came from.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsError,
    TomlConfigSettingsSource,
)
from pydantic_settings.sources import ConfigFileSourceType

from autogpt_tui.core.errors import UserError

__all__ = [
    "OPENAI_VARIABLES",
    "ConfigError",
    "OpenAIEnvSource",
    "TomlFileSource",
    "environment_error",
    "file_validation_error",
    "read_config_bytes",
    "read_toml",
    "validation_error",
]

OPENAI_VARIABLES = {"api_key": "OPENAI_API_KEY", "base_url": "OPENAI_BASE_URL"}
"""The [model] fields the openai library's own variables set, and those variables."""

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_TOML_POSITION = re.compile(r"^(?P<reason>.*?)\s*\(at line (?P<line>\d+), column \d+\)$")


class ConfigError(UserError):
    """A config file, environment variable or option holds something invalid.

    The message is one sentence naming where the value came from and the dotted field,
    e.g. ``Error in /home/me/.config/autogpt-tui/config.toml: agent.max_steps must be an
    integer (got 'lots').``
    """

    def __init__(self, message: str, *, source: str, field: str | None = None) -> None:
        super().__init__(message)
        self.source = source
        """Where the bad value came from: a file path, a variable name or the command line."""
        self.field = field
        """The dotted field, when the problem is one field (not the file's syntax)."""


# --- the sources --------------------------------------------------------------------------


MAX_CONFIG_BYTES = 1024 * 1024
"""A config file bigger than this is refused: no settings file is anywhere near it."""


def read_config_bytes(path: Path) -> bytes | None:
    """The bytes of the config file at ``path``, or None when there is none.

    Only a regular file (a symlink to one is fine) of at most 1 MB is read: a FIFO, a
    device such as ``/dev/zero`` or a folder is refused with a ConfigError, without
    blocking (the file is opened non-blocking and checked before any read).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None
    except OSError as error:
        reason = error.strerror or str(error)
        raise ConfigError(
            f"Error in {path}: cannot read the file ({reason}).", source=str(path)
        ) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(
                f"Error in {path}: a config file must be a regular file, and this is not.",
                source=str(path),
            )
        if info.st_size > MAX_CONFIG_BYTES:
            raise ConfigError(
                f"Error in {path}: the file is {info.st_size:,} bytes; a config file may "
                f"hold at most {MAX_CONFIG_BYTES:,}.",
                source=str(path),
            )
        chunks: list[bytes] = []
        size = 0
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_CONFIG_BYTES:  # it grew while being read
                raise ConfigError(
                    f"Error in {path}: a config file may hold at most {MAX_CONFIG_BYTES:,} bytes.",
                    source=str(path),
                )
        return b"".join(chunks)
    except OSError as error:
        reason = error.strerror or str(error)
        raise ConfigError(
            f"Error in {path}: cannot read the file ({reason}).", source=str(path)
        ) from None
    finally:
        os.close(fd)


def read_toml(path: Path) -> dict[str, Any]:
    """The file's tables, or {} when it does not exist; ConfigError when it is broken,
    not a regular file, or bigger than 1 MB."""
    data = read_config_bytes(path)
    if data is None:
        return {}
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(
            f"Error in {path}: the file is not UTF-8 text.", source=str(path)
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = _TOML_POSITION.match(str(error))
        if found is None:
            detail = f"invalid TOML ({_lower_first(str(error))})"
        else:
            reason = _lower_first(found["reason"])
            detail = f"invalid TOML at line {found['line']} ({reason})"
        raise ConfigError(f"Error in {path}: {detail}.", source=str(path)) from None


class TomlFileSource(TomlConfigSettingsSource):
    """One TOML config file: a missing file is empty; an unreadable or broken one is a
    :class:`ConfigError` naming it (and, for TOML syntax, the line)."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        self.path = path
        """The file, as messages name it."""
        super().__init__(settings_cls, toml_file=path)

    def _read_files(
        self, files: ConfigFileSourceType | None, deep_merge: bool = False
    ) -> dict[str, Any]:
        # pydantic-settings quietly skips a path that is not a regular file, and lets a
        # TOML error escape as a traceback; a config file the user named deserves better.
        return read_toml(self.path)


class OpenAIEnvSource(PydanticBaseSettingsSource):
    """``OPENAI_API_KEY`` and ``OPENAI_BASE_URL``, read as the openai library reads them.

    An empty variable counts as unset, like the ``AUTOGPT_TUI_*`` ones.
    """

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Unused: :meth:`__call__` reads the two variables as a whole."""
        return None, "", False

    def __call__(self) -> dict[str, Any]:
        """``{"model": {...}}`` with the variables that are set, or {}."""
        model = {
            field: os.environ[name]
            for field, name in OPENAI_VARIABLES.items()
            if os.environ.get(name)
        }
        return {"model": model} if model else {}


# --- errors -------------------------------------------------------------------------------


def environment_error(error: SettingsError, env_prefix: str) -> ConfigError:
    """A ConfigError naming the variable whose JSON pydantic-settings could not parse."""
    # pydantic-settings names only the top-level field; find the variable to blame.
    found = re.search(r'field "([^"]+)"', str(error))
    section = found[1] if found else ""
    name = _bad_json_variable(env_prefix, section) or f"{env_prefix}{section.upper()}"
    cause = error.__cause__
    detail = f" ({_lower_first(str(cause))})" if cause else ""
    message = f"Error in environment variable {name}: the value is not valid JSON{detail}."
    return ConfigError(message, source=name, field=section or None)


def validation_error(
    error: ValidationError, sources: Sequence[PydanticBaseSettingsSource]
) -> ConfigError:
    """One sentence for the first problem, naming the source that set the value.

    ``sources`` are the ones the settings were built from, highest priority first. The
    other problems will show once this one is fixed.
    """
    first = error.errors()[0]
    loc = tuple(first["loc"])
    start, source = _origin(sources, loc)
    field = _dotted(loc) if loc else "the settings"
    return ConfigError(f"{start}: {field} {_problem(first)}.", source=source, field=field)


def file_validation_error(
    error: ValidationError, path: Path, prefix: tuple[int | str, ...]
) -> ConfigError:
    """One sentence for the first problem of a value read apart from the layers (a
    workspace's permission rules), naming the file and the dotted field under ``prefix``."""
    first = error.errors()[0]
    loc = prefix + tuple(first["loc"])
    field = _dotted(loc)
    return ConfigError(
        f"Error in {path}: {field} {_problem(first)}.", source=str(path), field=field
    )


def _bad_json_variable(env_prefix: str, section: str) -> str | None:
    prefix = f"{env_prefix}{section}".upper()
    for name, value in os.environ.items():
        if name.upper().startswith(prefix) and value.lstrip()[:1] in ("{", "["):
            try:
                json.loads(value)
            except ValueError:
                return name
    return None


def _has_path(values: Any, path: tuple[int | str, ...]) -> bool:
    for part in path:
        if isinstance(values, list) and isinstance(part, int):
            if not 0 <= part < len(values):
                return False
        elif not (isinstance(values, Mapping) and part in values):
            return False
        values = values[part]
    return True


def _origin(
    sources: Sequence[PydanticBaseSettingsSource], loc: tuple[int | str, ...]
) -> tuple[str, str]:
    """Where the value at ``loc`` came from: the highest source that holds (part of) it."""
    values = [source() for source in sources]
    for depth in range(len(loc), 0, -1):
        for source, held in zip(sources, values, strict=True):
            if _has_path(held, loc[:depth]):
                return _describe(source, loc[:depth])
    return "the settings", "settings"


def _describe(source: PydanticBaseSettingsSource, loc: tuple[int | str, ...]) -> tuple[str, str]:
    """(the start of the message, the source's name) for a value ``source`` holds at ``loc``."""
    if isinstance(source, TomlFileSource):
        return f"Error in {source.path}", str(source.path)
    if isinstance(source, OpenAIEnvSource):
        name = OPENAI_VARIABLES.get(str(loc[-1]), "OPENAI_*") if len(loc) > 1 else "OPENAI_*"
        return f"Error in environment variable {name}", name
    if isinstance(source, EnvSettingsSource):
        prefix = source.env_prefix.upper()
        for depth in range(len(loc), 0, -1):
            wanted = (prefix + "__".join(str(part) for part in loc[:depth])).upper()
            for name in os.environ:
                if name.upper() == wanted:
                    return f"Error in environment variable {name}", name
        return f"Error in the {prefix}* environment variables", f"{prefix}*"
    if isinstance(source, InitSettingsSource):
        return "Error in the command-line options", "command line"
    return "Error in the default settings", "defaults"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _dotted(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            key = part if _BARE_KEY.fullmatch(part) else json.dumps(part)
            parts.append(f".{key}" if parts else key)
    return "".join(parts)


_PHRASES = {
    "int_parsing": "must be an integer",
    "int_type": "must be an integer",
    "int_from_float": "must be an integer",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
    "dict_type": "must be a table",
    "list_type": "must be a list",
    "extra_forbidden": "is not a known setting",
    "missing": "is required",
}


def _problem(error: ErrorDetails) -> str:
    """What is wrong, as the end of a sentence that starts with the field's name."""
    kind = error["type"]
    ctx = error.get("ctx", {})
    if kind in _PHRASES:
        phrase = _PHRASES[kind]
    elif kind == "literal_error":
        phrase = f"must be {ctx.get('expected', 'one of the allowed values')}"
    elif kind == "greater_than_equal":
        phrase = f"must be at least {ctx.get('ge')}"
    elif kind == "greater_than":
        phrase = f"must be greater than {ctx.get('gt')}"
    elif kind == "less_than_equal":
        phrase = f"must be at most {ctx.get('le')}"
    elif kind == "too_short" and "min_length" in ctx:
        phrase = f"must have at least {ctx['min_length']} item(s)"
    elif kind == "string_too_short":
        phrase = "must not be empty"
    elif kind == "value_error":
        return str(ctx.get("error", error["msg"])).rstrip(".")
    else:
        message = error["msg"].rstrip(".")
        phrase = (
            "must be " + message.removeprefix("Input should be ")
            if message.startswith("Input should be ")
            else _lower_first(message)
        )
    # A key must never be echoed, not even a wrongly typed one.
    secret = any(part == "api_key" for part in error["loc"])
    if kind in ("extra_forbidden", "missing") or secret:
        return phrase
    return f"{phrase} (got {error['input']!r})"
