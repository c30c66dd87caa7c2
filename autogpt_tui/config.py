"""Settings: pydantic-settings models read from TOML files, the environment and the CLI.

Layers, lowest priority first (a later layer wins, key by key):

1. the defaults written below;
2. ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL``, as the openai library reads them — the
   interface contract says the config file and ``--base-url`` override them, so they sit
   just above the defaults;
3. the user's file: ``$AUTOGPT_TUI_CONFIG`` if that is set (a missing file counts as
   empty, so tests can point it anywhere), else
   ``$XDG_CONFIG_HOME/autogpt-tui/config.toml`` (``~/.config`` when XDG_CONFIG_HOME is
   unset);
4. the workspace's own file, ``<workspace>/.autogpt-tui.toml``;
5. ``AUTOGPT_TUI_*`` environment variables, sections split by ``__``
   (``AUTOGPT_TUI_MODEL__MODEL=gpt-4o``; lists and tables as JSON);
6. overrides from the command line (``None`` there means "option not given").

Tables merge key by key; any other value (lists included) replaces the one below. Every
model forbids unknown keys, so a typo is an error rather than a silent no-op, and every
error is a :class:`ConfigError` whose message is one sentence naming the file (or the
environment variable, or the command line) and the dotted field.

Trust. A workspace is often someone else's repository, so its file is read with
suspicion: it can never widen what runs without approval, nor spend more of the user's
money, nor send the user's key elsewhere. These keys in the workspace file are *ignored*
(not an error — the repository is not the user's to fix) and each one adds a sentence to
:attr:`Settings.warnings`:

- ``model.api_key``, ``model.base_url`` and ``agent.prices``: never taken from it;
- ``agent.mode``: may only be as strict as or stricter than the user's (step < edits < auto);
- ``sandbox.enabled``: may not turn the sandbox off;
- ``sandbox.max_command_timeout_s``, ``agent.max_steps``, ``agent.max_tokens`` and
  ``agent.max_cost_usd``: may only be lowered;
- ``rewards.check`` (a command that runs with no approval): only the user's own value.

"The user's setting" here is what the other layers together say. The API key is a
``SecretStr``: ``repr``, ``str`` and JSON dumps show asterisks, and error messages never
echo it; the client reads it through :meth:`Settings.api_key_value`.

This module must stay importable without textual or rich: the headless core uses it.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from autogpt_tui.core.errors import UserError

__all__ = [
    "CONFIG_ENV_VAR",
    "ENV_PREFIX",
    "MODE_ORDER",
    "WORKSPACE_CONFIG_NAME",
    "AgentSettings",
    "ConfigError",
    "HistorySettings",
    "Mode",
    "ModelPrice",
    "ModelSettings",
    "PolicyArm",
    "PolicySettings",
    "RewardsSettings",
    "SandboxSettings",
    "Settings",
    "UISettings",
    "load_settings",
    "user_config_path",
    "workspace_config_path",
]

ENV_PREFIX = "AUTOGPT_TUI_"
"""Prefix of the environment variables that set settings."""

CONFIG_ENV_VAR = "AUTOGPT_TUI_CONFIG"
"""Environment variable naming a user config file to read instead of the XDG one."""

WORKSPACE_CONFIG_NAME = ".autogpt-tui.toml"
"""Name of a workspace's own config file, in the workspace root."""

Mode = Literal["step", "edits", "auto"]
"""Approval mode: what runs without asking."""

MODE_ORDER: tuple[Mode, ...] = ("step", "edits", "auto")
"""Approval modes from strictest to most permissive."""

_OPENAI_ENV = {"api_key": "OPENAI_API_KEY", "base_url": "OPENAI_BASE_URL"}
_ARM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
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


# --- the models ---------------------------------------------------------------------------

# Field docstrings stay in the source for readers; pydantic's use_attribute_docstrings
# would turn them into descriptions by reading this file's source with `inspect` at
# import, which costs every start-up over 100 ms.
_SECTION_CONFIG = ConfigDict(extra="forbid", validate_assignment=True)


class ModelPrice(BaseModel):
    """What a model costs, in US dollars per million tokens."""

    model_config = _SECTION_CONFIG

    input_per_mtok: float = Field(ge=0)
    """Price of one million prompt (input) tokens."""
    output_per_mtok: float = Field(ge=0)
    """Price of one million completion (output) tokens."""

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """The cost in US dollars of a request with these token counts."""
        return (input_tokens * self.input_per_mtok + output_tokens * self.output_per_mtok) / 1e6


def _default_prices() -> dict[str, ModelPrice]:
    # OpenAI list prices; anything else is added in the user's file.
    return {
        "gpt-4o": ModelPrice(input_per_mtok=2.50, output_per_mtok=10.00),
        "gpt-4o-mini": ModelPrice(input_per_mtok=0.15, output_per_mtok=0.60),
        "gpt-4.1": ModelPrice(input_per_mtok=2.00, output_per_mtok=8.00),
        "gpt-4.1-mini": ModelPrice(input_per_mtok=0.40, output_per_mtok=1.60),
        "gpt-4.1-nano": ModelPrice(input_per_mtok=0.10, output_per_mtok=0.40),
    }


class ModelSettings(BaseModel):
    """The LLM endpoint and how patiently to talk to it."""

    model_config = _SECTION_CONFIG

    model: str = Field(default="gpt-4o-mini", min_length=1)
    """Model name as the server knows it."""
    base_url: str | None = None
    """Base URL of an OpenAI-compatible server (Ollama, vLLM, …); None means OpenAI."""
    api_key: SecretStr | None = None
    """API key; never shown, logged or committed. Local servers usually need none."""
    request_timeout_s: float = Field(default=60.0, gt=0)
    """Seconds to wait for a response to start."""
    idle_timeout_s: float = Field(default=30.0, gt=0)
    """Seconds a stream may stall between chunks before it is treated as cut short."""
    max_retries: int = Field(default=4, ge=0)
    """How many times a failed request (429, 5xx, timeout, …) is retried with backoff."""
    context_window: int = Field(default=128_000, ge=1)
    """Tokens the model can attend to; the conversation is trimmed to fit."""

    @field_validator("api_key", "base_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("base_url")
    @classmethod
    def _is_http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"must start with http:// or https:// (got {value!r})")
        return value


class AgentSettings(BaseModel):
    """How the agent runs: approvals and budgets."""

    model_config = _SECTION_CONFIG

    mode: Mode = "step"
    """Approval mode: step asks before every action, edits before commands, auto never."""
    max_steps: int = Field(default=50, ge=1)
    """Most steps one run may take."""
    max_tokens: int | None = Field(default=None, ge=1)
    """Most tokens (prompt + completion) one run may use; None means no limit."""
    max_cost_usd: float | None = Field(default=None, ge=0)
    """Most US dollars one run may spend, by `prices`; None means no limit."""
    prices: dict[str, ModelPrice] = Field(default_factory=_default_prices)
    """Model prices by model name; a name also prices its dated versions (gpt-4o-2024-08-06)."""

    def price_for(self, model: str) -> ModelPrice | None:
        """The price of ``model``: an exact entry, else the longest name it starts with."""
        if model in self.prices:
            return self.prices[model]
        matches = [name for name in self.prices if model.startswith(name + "-")]
        return self.prices[max(matches, key=len)] if matches else None


class SandboxSettings(BaseModel):
    """Limits on the commands the agent runs."""

    model_config = _SECTION_CONFIG

    enabled: bool = True
    """Confine the agent to the workspace and run commands under the sandbox's limits."""
    command_timeout_s: float = Field(default=60.0, gt=0)
    """Seconds a command may run when the agent names no timeout."""
    max_command_timeout_s: float = Field(default=600.0, gt=0)
    """Longest timeout the agent may ask for; longer requests are cut to this."""
    max_output_chars: int = Field(default=20_000, ge=1)
    """Characters of a command's output shown to the agent; the rest is elided."""


class UISettings(BaseModel):
    """The terminal interface."""

    model_config = _SECTION_CONFIG

    theme: str = "autogpt-dark"
    """Theme name; an unknown one falls back to the default with a notice."""


class HistorySettings(BaseModel):
    """How agent steps are recorded in git."""

    model_config = _SECTION_CONFIG

    agent_name: str = Field(default="autogpt-tui agent", min_length=1)
    """Author name of the agent's step commits."""
    agent_email: str = Field(default="agent@autogpt-tui.invalid", min_length=1)
    """Author email of the agent's step commits."""


class RewardsSettings(BaseModel):
    """Automatic rewards."""

    model_config = _SECTION_CONFIG

    check: str | None = None
    """Shell command run after each step to score it (exit 0 is good); None means none."""


class PolicyArm(BaseModel):
    """One way of prompting the agent; the policy bandit picks among arms by reward."""

    model_config = _SECTION_CONFIG

    name: str
    """Short name, recorded in each step commit's Agent-Policy trailer."""
    temperature: float | None = Field(default=None, ge=0, le=2)
    """Sampling temperature; None leaves the server's default."""
    instructions: str = ""
    """Extra instructions appended to the system prompt."""
    model: str | None = None
    """Model to use instead of model.model; None means model.model."""

    @field_validator("name")
    @classmethod
    def _is_short_name(cls, value: str) -> str:
        if not _ARM_NAME.fullmatch(value):
            raise ValueError(
                f"must be letters, digits, '.', '_' or '-', starting with a letter or digit"
                f" (got {value!r})"
            )
        return value


def _default_arms() -> list[PolicyArm]:
    # With no arms configured there is exactly one, "default" (the rewards issue's contract).
    return [PolicyArm(name="default")]


class PolicySettings(BaseModel):
    """The arms the policy bandit chooses between."""

    model_config = _SECTION_CONFIG

    arms: list[PolicyArm] = Field(default_factory=_default_arms, min_length=1)
    """Policy arms, each a [[policy.arms]] table; names must be unique."""

    @field_validator("arms")
    @classmethod
    def _names_are_unique(cls, arms: list[PolicyArm]) -> list[PolicyArm]:
        seen: set[str] = set()
        for arm in arms:
            if arm.name in seen:
                raise ValueError(f"must have unique names ({arm.name!r} appears twice)")
            seen.add(arm.name)
        return arms


class Settings(BaseSettings):
    """All settings, by section. Build it with :func:`load_settings`.

    ``Settings()`` alone gives the defaults: it reads no file and no environment, so the
    layering and the workspace rules live in one place.
    """

    model_config = SettingsConfigDict(
        extra="forbid",
        validate_assignment=True,
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        env_ignore_empty=True,
        case_sensitive=False,
    )

    model: ModelSettings = Field(default_factory=ModelSettings)
    """The LLM endpoint."""
    agent: AgentSettings = Field(default_factory=AgentSettings)
    """Approvals and budgets."""
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)
    """Limits on commands."""
    ui: UISettings = Field(default_factory=UISettings)
    """The terminal interface."""
    history: HistorySettings = Field(default_factory=HistorySettings)
    """Step commits."""
    rewards: RewardsSettings = Field(default_factory=RewardsSettings)
    """Automatic rewards."""
    policy: PolicySettings = Field(default_factory=PolicySettings)
    """Policy arms."""

    _warnings: list[str] = PrivateAttr(default_factory=list)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only the values passed in; :func:`load_settings` gathers and layers them."""
        return (init_settings,)

    @property
    def warnings(self) -> list[str]:
        """Sentences about keys ignored in the workspace's file, for the user to see."""
        return self._warnings

    def api_key_value(self) -> str | None:
        """The API key in clear, for the LLM client only; None when there is none."""
        return self.model.api_key.get_secret_value() if self.model.api_key else None

    def has_model(self) -> bool:
        """Whether a model is configured: an API key or a base URL (Ollama needs no key)."""
        return self.model.api_key is not None or self.model.base_url is not None


# --- the layers ---------------------------------------------------------------------------

_LayerKind = Literal["defaults", "openai", "file", "env", "cli"]


@dataclass(frozen=True)
class _Layer:
    """One source of values, kept apart so an error can name where a value came from."""

    kind: _LayerKind
    values: dict[str, Any]
    path: Path | None = None
    env: Mapping[str, str] | None = None


def user_config_path() -> Path:
    """The user's config file: $AUTOGPT_TUI_CONFIG, else the XDG location."""
    explicit = os.environ.get(CONFIG_ENV_VAR)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME", "")
    # The XDG spec says a relative value is invalid and must be ignored.
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".config"
    return base / "autogpt-tui" / "config.toml"


def workspace_config_path(workspace: Path) -> Path:
    """A workspace's own config file."""
    return workspace / WORKSPACE_CONFIG_NAME


def _read_toml(path: Path) -> dict[str, Any]:
    """The file's tables, or {} when it does not exist; ConfigError when it is broken."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as error:
        reason = error.strerror or str(error)
        raise ConfigError(
            f"Error in {path}: cannot read the file ({reason}).", source=str(path)
        ) from None
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


def _openai_layer(environ: Mapping[str, str]) -> dict[str, Any]:
    model = {field: environ[var] for field, var in _OPENAI_ENV.items() if environ.get(var)}
    return {"model": model} if model else {}


def _env_layer(environ: Mapping[str, str]) -> dict[str, Any]:
    source = EnvSettingsSource(Settings)
    try:
        return source()
    except SettingsError as error:
        # pydantic-settings names only the top-level field; find the variable to blame.
        found = re.search(r'field "([^"]+)"', str(error))
        section = found[1] if found else ""
        name = _bad_json_variable(environ, section) or f"{ENV_PREFIX}{section.upper()}"
        cause = error.__cause__
        detail = f" ({_lower_first(str(cause))})" if cause else ""
        message = f"Error in environment variable {name}: the value is not valid JSON{detail}."
        raise ConfigError(message, source=name, field=section or None) from None


def _bad_json_variable(environ: Mapping[str, str], section: str) -> str | None:
    prefix = f"{ENV_PREFIX}{section}".upper()
    for name, value in environ.items():
        if name.upper().startswith(prefix) and value.lstrip()[:1] in ("{", "["):
            try:
                json.loads(value)
            except ValueError:
                return name
    return None


def _without_none(values: Mapping[str, Any]) -> dict[str, Any]:
    """Overrides minus the options not given (None), tables copied."""
    result: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            result[key] = _without_none(value)
        elif value is not None:
            result[key] = value
    return result


def _merge(below: Mapping[str, Any], above: Mapping[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; anything else from ``above`` replaces what is below."""
    result = dict(below)
    for key, value in above.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = _merge(result[key], value)
        elif isinstance(value, Mapping):
            result[key] = _merge({}, value)
        else:
            result[key] = value
    return result


def _has_path(values: Any, path: tuple[int | str, ...]) -> bool:
    for part in path:
        if isinstance(values, list) and isinstance(part, int):
            if not 0 <= part < len(values):
                return False
        elif not (isinstance(values, Mapping) and part in values):
            return False
        values = values[part]
    return True


# --- errors -------------------------------------------------------------------------------


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


def _problem(error: ErrorDetails) -> str:
    """What is wrong, as the end of a sentence that starts with the field's name."""
    kind = error["type"]
    ctx = error.get("ctx", {})
    phrases = {
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
    if kind in phrases:
        phrase = phrases[kind]
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
    secret = any(part == "api_key" for part in error["loc"])
    if kind in ("extra_forbidden", "missing") or secret:
        return phrase
    return f"{phrase} (got {error['input']!r})"


def _origin(layers: list[_Layer], loc: tuple[int | str, ...]) -> tuple[str, str]:
    """Where the value at ``loc`` came from: the highest layer that holds (part of) it."""
    for depth in range(len(loc), 0, -1):
        for layer in reversed(layers):
            if _has_path(layer.values, loc[:depth]):
                return _describe(layer, loc[:depth])
    return "the settings", "settings"


def _describe(layer: _Layer, loc: tuple[int | str, ...]) -> tuple[str, str]:
    """(the start of the message, the source) for a value in ``layer`` at ``loc``."""
    if layer.kind == "file":
        return f"Error in {layer.path}", str(layer.path)
    if layer.kind == "openai":
        name = _OPENAI_ENV.get(str(loc[-1]), "OPENAI_*") if len(loc) > 1 else "OPENAI_*"
        return f"Error in environment variable {name}", name
    if layer.kind == "env":
        environ = layer.env or {}
        for depth in range(len(loc), 0, -1):
            wanted = (ENV_PREFIX + "__".join(str(part) for part in loc[:depth])).upper()
            for name in environ:
                if name.upper() == wanted:
                    return f"Error in environment variable {name}", name
        return f"Error in the {ENV_PREFIX}* environment variables", f"{ENV_PREFIX}*"
    if layer.kind == "cli":
        return "Error in the command-line options", "command line"
    return "Error in the default settings", "defaults"


def _build(layers: list[_Layer], warnings: list[str]) -> Settings:
    merged: dict[str, Any] = {}
    for layer in layers:
        merged = _merge(merged, layer.values)
    try:
        settings = Settings(**merged)
    except ValidationError as error:
        # One sentence: the first problem; the rest will show once it is fixed.
        first = error.errors()[0]
        loc = tuple(first["loc"])
        start, source = _origin(layers, loc)
        field = _dotted(loc) if loc else "the settings"
        raise ConfigError(
            f"{start}: {field} {_problem(first)}.", source=source, field=field
        ) from None
    settings._warnings = warnings
    return settings


# --- the workspace rules ------------------------------------------------------------------


@dataclass(frozen=True)
class _WorkspaceRule:
    """A key a workspace's file may not set, or may set only when it tightens things."""

    section: str
    name: str
    why: Callable[[Any], str]
    """Why it was ignored, given the user's own value."""
    widens: Callable[[Any, Any], bool] | None = None
    """(workspace value, user's value) → does it widen? None: never taken from a workspace."""
    show_value: bool = True


def _raises_limit(theirs: float | None, mine: float | None) -> bool:
    if mine is None:  # no limit of the user's to raise
        return False
    return theirs is None or theirs > mine


def _own(what: str) -> Callable[[Any], str]:
    return lambda _mine: f"a workspace's config file cannot {what}"


def _no_higher(mine: Any) -> str:
    yours = _toml_value(mine)
    return (
        f"a workspace's config file can only lower this limit, not raise it above yours ({yours})"
    )


_WORKSPACE_RULES = (
    _WorkspaceRule(
        "model",
        "api_key",
        _own("set the API key (it could send it to its own server)"),
        show_value=False,
    ),
    _WorkspaceRule(
        "model", "base_url", _own("choose the server your requests and API key are sent to")
    ),
    _WorkspaceRule("agent", "prices", _own("change model prices, which the cost budget uses")),
    _WorkspaceRule(
        "agent",
        "mode",
        lambda mine: (
            "a workspace's config file cannot let more run without approval than your own"
            f" mode ({_toml_value(mine)})"
        ),
        lambda theirs, mine: MODE_ORDER.index(theirs) > MODE_ORDER.index(mine),
    ),
    _WorkspaceRule(
        "sandbox", "enabled", _own("turn the sandbox off"), lambda theirs, mine: mine and not theirs
    ),
    _WorkspaceRule(
        "sandbox", "max_command_timeout_s", _no_higher, lambda theirs, mine: theirs > mine
    ),
    _WorkspaceRule("agent", "max_steps", _no_higher, _raises_limit),
    _WorkspaceRule("agent", "max_tokens", _no_higher, _raises_limit),
    _WorkspaceRule("agent", "max_cost_usd", _no_higher, _raises_limit),
    _WorkspaceRule(
        "rewards",
        "check",
        _own("choose a command that runs without approval"),
        lambda theirs, mine: theirs != mine,
    ),
)


def _restrict_workspace(
    values: dict[str, Any], mine: Settings, path: Path
) -> tuple[dict[str, Any], list[str]]:
    """The workspace's values without the keys it may not set, and why each was dropped."""
    values = _merge({}, values)
    warnings: list[str] = []
    for rule in _WORKSPACE_RULES:
        table = values.get(rule.section)
        if not isinstance(table, dict) or rule.name not in table:
            continue
        raw = table[rule.name]
        my_section = getattr(mine, rule.section)
        my_value = getattr(my_section, rule.name)
        if rule.widens is not None:
            try:
                theirs = getattr(type(my_section).model_validate({rule.name: raw}), rule.name)
            except ValidationError:
                continue  # a bad value: the full validation reports it, naming the file
            if not rule.widens(theirs, my_value):
                continue
        del table[rule.name]
        shown = f" = {_toml_value(raw)}" if rule.show_value else ""
        field = f"{rule.section}.{rule.name}"
        warnings.append(f"Ignored {field}{shown} in {path}: {rule.why(my_value)}.")
    return values, warnings


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, Mapping):
        return "{…}"
    return str(value)


# --- the entry point ----------------------------------------------------------------------


def load_settings(
    workspace: Path | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Read the settings for ``workspace``: defaults, files, environment, then ``overrides``.

    ``overrides`` are nested like the TOML tables, e.g.
    ``{"model": {"model": "gpt-4o"}, "agent": {"mode": "auto"}}``; a ``None`` value means
    the option was not given and leaves the value below it in place. Raises
    :class:`ConfigError` for a broken file or an invalid value from any layer.
    """
    environ = dict(os.environ)
    user_path = user_config_path()
    defaults = _Layer(
        "defaults",
        {"agent": {"prices": {k: v.model_dump() for k, v in _default_prices().items()}}},
    )
    trusted = [
        defaults,
        _Layer("openai", _openai_layer(environ)),
        _Layer("file", _read_toml(user_path), path=user_path),
    ]
    above = [
        _Layer("env", _env_layer(environ), env=environ),
        _Layer("cli", _without_none(overrides or {})),
    ]
    if workspace is None:
        return _build(trusted + above, [])
    ws_path = workspace_config_path(workspace)
    if ws_path.exists() and user_path.exists() and ws_path.resolve() == user_path.resolve():
        return _build(trusted + above, [])  # the user named it as their own file
    ws_values = _read_toml(ws_path)
    if not ws_values:
        return _build(trusted + above, [])
    # "The user's setting" is what every layer but the workspace's says.
    mine = _build(trusted + above, [])
    ws_values, warnings = _restrict_workspace(ws_values, mine, ws_path)
    return _build([*trusted, _Layer("file", ws_values, path=ws_path), *above], warnings)
