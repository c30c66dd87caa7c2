"""The sections of the settings (``[model]``, ``[agent]``, ``[sandbox]``, ``[ui]``,
``[history]``, ``[rewards]``, ``[policy]``): one pydantic model each, which
:class:`autogpt_tui.core.settings.Settings` gathers and layers.

Split from ``settings.py`` (which keeps the layering, the files and trust) so each stays
readable; ``settings`` re-exports every public name, which is where callers import them.
"""

from __future__ import annotations

import re
from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from autogpt_tui.core.constants import AGENT_EMAIL, AGENT_NAME, DEFAULT_MAX_STEPS, Mode

_ARM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


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
    cached_input_per_mtok: float | None = Field(default=None, ge=0)
    """Price of one million prompt tokens the server read from its prompt cache; None
    means the same as ``input_per_mtok``."""

    def cost(self, input_tokens: int, output_tokens: int, cached_tokens: int = 0) -> float:
        """The cost in US dollars of a request with these token counts (``cached_tokens``
        are part of ``input_tokens``)."""
        cached = min(max(cached_tokens, 0), input_tokens)
        cached_price = (
            self.input_per_mtok
            if self.cached_input_per_mtok is None
            else self.cached_input_per_mtok
        )
        fresh = (input_tokens - cached) * self.input_per_mtok
        return (fresh + cached * cached_price + output_tokens * self.output_per_mtok) / 1e6


def default_prices() -> dict[str, ModelPrice]:
    """The built-in prices (OpenAI list prices): a fallback below your own prices and
    the ``genai-prices`` package's (see ``core/pricing.py``)."""
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
    max_tool_args_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    """Largest size (UTF-8 bytes) of the tool-call arguments one model reply may stream.

    Bigger arguments are not read further: the call is refused to the model with a
    sentence asking for smaller pieces, so a runaway reply can never hang a step."""

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
    max_steps: int = Field(default=DEFAULT_MAX_STEPS, ge=1)
    """Most steps one run may take."""
    max_tokens: int | None = Field(default=None, ge=1)
    """Most tokens (prompt + completion) one run may use; None means no limit."""
    max_cost_usd: float | None = Field(default=None, ge=0)
    """Most US dollars one run may spend, by `prices`; None means no limit."""
    delegate_max_steps: int = Field(default=8, ge=1, le=50)
    """Most replies a ``delegate`` sub-agent takes (its read-only steps, run without asking
    once the delegate call is approved); a workspace's file may only lower it."""
    delegate_model: str | None = Field(default=None, min_length=1)
    """Model for ``delegate`` sub-agents; None: the session's model. A workspace's file
    sets it only once trusted."""
    review: Literal["step", "subgoal"] = "step"
    """With several agents (``--agents``): the reviewer rates each coder step that changed
    files (``step``), or each finished subgoal (``subgoal``)."""
    prices: dict[str, ModelPrice] = Field(default_factory=default_prices)
    """Model prices by model name; a name also prices its dated versions (gpt-4o-2024-08-06).

    Yours win; a model you do not price is priced by the ``genai-prices`` package, and
    only then by these built-in defaults (``core/pricing.py``)."""

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
    capture: Literal["auto", "overlay", "copy"] = "auto"
    """How a command's changes are held apart from the user's: on an overlay of the
    workspace (Linux), or on a copy of it (slower, works anywhere); auto picks the overlay
    where it works. A command's step then holds exactly what the command changed."""
    allow_read: list[str] = Field(default_factory=list)
    """More paths commands may read (read-only), such as ``"~/.cargo"``; only from your own
    config, never a workspace's. The home folder itself and credentials stay hidden."""
    env: list[str] = Field(default_factory=list)
    """Names of more environment variables commands get, such as ``"CARGO_HOME"``, beyond
    PATH, HOME, LANG, LC_*, TERM, TZ, USER, SHELL and TMPDIR; only from your own config."""


class UISettings(BaseModel):
    """The terminal interface."""

    model_config = _SECTION_CONFIG

    theme: str = "autogpt-dark"
    """Theme name; an unknown one falls back to the default with a notice."""
    notify: Literal["bell", "osc", "off"] = "bell"
    """How the terminal is told when the agent waits for you (an approval, an answer):
    ``bell`` rings the bell; ``osc`` rings it and asks the terminal for a desktop
    notification (OSC 9, and OSC 777 where the terminal is known to take it); ``off``
    says nothing. The bell is the default: every terminal takes it, where an OSC
    sequence a terminal does not know may show up as stray characters."""


class HistorySettings(BaseModel):
    """How agent steps are recorded in git."""

    model_config = _SECTION_CONFIG

    agent_name: str = Field(default=AGENT_NAME, min_length=1)
    """Author name of the agent's step commits."""
    agent_email: str = Field(default=AGENT_EMAIL, min_length=1)
    """Author email of the agent's step commits."""


class RewardsSettings(BaseModel):
    """Automatic rewards."""

    model_config = _SECTION_CONFIG

    check: str | None = None
    """Shell command run after each step to score it (exit 0 is good); None means none."""
    undo_is_negative: bool = True
    """Whether undoing a step counts as a -1 rating of it (your own rating always wins;
    a redo takes it back). A workspace's file may turn it off, never on over your off."""
    reviewer_weight: float = Field(default=0.5, ge=0, le=1)
    """What a reviewer agent's rating weighs in the policy bandit against one of yours
    (0 … 1: never more than yours; 0 ignores it); it counts only for steps you did not
    rate. A workspace's file may lower it, never raise it above yours."""


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


class _Named(Protocol):
    name: str


_N = TypeVar("_N", bound=_Named)


def unique_names(items: list[_N]) -> list[_N]:
    """``items`` when no two share a name; else ValueError naming the repeat."""
    seen: set[str] = set()
    for item in items:
        if item.name in seen:
            raise ValueError(f"must have unique names ({item.name!r} appears twice)")
        seen.add(item.name)
    return items


class PolicySettings(BaseModel):
    """The arms the policy bandit chooses between."""

    model_config = _SECTION_CONFIG

    arms: list[PolicyArm] = Field(default_factory=_default_arms, min_length=1)
    """Policy arms, each a [[policy.arms]] table; names must be unique."""

    @field_validator("arms")
    @classmethod
    def _names_are_unique(cls, arms: list[PolicyArm]) -> list[PolicyArm]:
        return unique_names(arms)
