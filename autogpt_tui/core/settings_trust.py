"""A workspace's own config file, read with suspicion.

A workspace is often someone else's repository, so its ``.autogpt-tui.toml`` can never
widen what runs without approval, nor spend more of the user's money, nor send the user's
key elsewhere. These keys in it are *ignored* (not an error: the repository is not the
user's to fix), and each one ignored gives one sentence for :attr:`Settings.warnings`:

- ``model.api_key``, ``model.base_url`` and ``agent.prices``: never taken from it;
- ``agent.mode``: only as strict as the user's own or stricter (step < edits < auto);
- ``sandbox.enabled``: may not turn the sandbox off;
- ``sandbox.allow_read`` and ``sandbox.env`` (more paths and variables a command sees):
  only the user's own value;
- ``sandbox.max_command_timeout_s``, ``agent.max_steps``, ``agent.max_tokens`` and
  ``agent.max_cost_usd``: may only be lowered;
- ``rewards.check`` (a command that runs with no approval): only the user's own value;
- ``rewards.undo_is_negative``: may turn it off, never on when the user's is off (the
  user's undos are not made into ratings they said they did not want);
- ``rewards.reviewer_weight``: may only be lowered (a repository cannot make a reviewer
  model's opinions weigh more against the user's own ratings);
- ``[[agents]]``: a role never gets a tool the user's own config does not give it.
- ``[[mcp.servers]]``: none start until the file is trusted (starting one runs a program).

Some keys steer the agent rather than widen what it may do: the policy arms (their
instructions go verbatim into the system prompt, their model is called with the user's
key), the model and the ``[[agents]]`` (their prompts go into the system prompt too).
Those apply only once the user has *trusted* the workspace's file (``autogpt-tui trust``,
or yes when the TUI asks). Trust is recorded in the user's config folder
(``trusted-workspaces.json``) by the file's path and a hash of its bytes, so an edit
to the file (a ``git pull``) makes it untrusted again.

"The user's own setting" is what every other layer together says (defaults, the
front-end's own defaults such as ``run``'s ``auto`` mode, the user's file, the
environment, the command line).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError
from pydantic_settings import BaseSettings

from autogpt_tui.core.constants import MODES
from autogpt_tui.core.settings_sources import TomlFileSource, read_config_bytes

if TYPE_CHECKING:
    from autogpt_tui.core.settings import Settings

__all__ = ["TRUST_FILE_NAME", "TrustStore", "Untrusted", "WorkspaceFileSource", "file_digest"]

TRUST_FILE_NAME = "trusted-workspaces.json"
"""The file, next to the user's config file, that records the workspaces they trust."""

_NEEDS_TRUST: tuple[tuple[str, str | None], ...] = (
    ("policy", None),
    ("model", "model"),
    ("agent", "delegate_model"),
    ("agents", None),
    # Starting a server is running a program the workspace names.
    ("mcp", None),
)
"""(section, key) a workspace's file sets only once trusted; None: the whole section."""


def file_digest(data: bytes) -> str:
    """The hash trust is recorded by."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Untrusted:
    """A workspace config file whose steering keys wait for the user's trust."""

    path: Path
    digest: str
    keys: tuple[str, ...]
    """The dotted keys left out until the file is trusted."""


class TrustStore:
    """The workspaces' config files the user trusts: path → hash of the trusted bytes."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(k): str(v) for k, v in data.items()}

    def is_trusted(self, config: Path, digest: str) -> bool:
        """Whether the user trusted exactly these bytes of the file at ``config``."""
        return self._load().get(str(config.resolve())) == digest

    def trust(self, config: Path, digest: str) -> None:
        """Record that the user trusts the file at ``config`` as it is (``digest``)."""
        data = self._load()
        data[str(config.resolve())] = digest
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2, sort_keys=True)
            os.replace(temp, self.path)  # a crash never leaves half a file
        except BaseException:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise


class WorkspaceFileSource(TomlFileSource):
    """A workspace's config file, without the keys a workspace may not set.

    ``yours`` builds the settings from every other layer; it is called only when the file
    holds something, to measure the workspace's values against the user's own.
    """

    def __init__(
        self,
        settings_cls: type[BaseSettings],
        path: Path,
        yours: Callable[[], Settings],
        trust: TrustStore | None = None,
    ) -> None:
        super().__init__(settings_cls, path)
        raw = dict(super().__call__())
        # Permission rules add to the user's (a list would replace them), and only their
        # deny and ask rules apply before the file is trusted: they are judged apart.
        self.permissions: Any = raw.pop("permissions", None)
        """The file's ``[[permissions]]`` tables as written (None: it has none)."""
        self.trusted = False
        """Whether the user trusts the file as it is now."""
        self.warnings: list[str] = []
        """One sentence per key ignored, for the user to see."""
        self.allowed: dict[str, Any] = {}
        """The file's values that are taken."""
        self.untrusted: Untrusted | None = None
        """The steering keys left out until the user trusts this file, if any."""
        if raw or self.permissions is not None:
            if raw:
                mine = yours()
                self.allowed, self.warnings = _restrict(raw, mine, path)
                self.warnings += _narrow_agents(self.allowed, mine)
            data = read_config_bytes(path) or b""
            digest = file_digest(data)
            self.trusted = trust is not None and trust.is_trusted(path, digest)
            if not self.trusted:
                keys = _drop_untrusted(self.allowed)
                if _has_allow_rule(self.permissions):
                    keys += ("permissions (its allow rules)",)
                if keys:
                    self.untrusted = Untrusted(path, digest, keys)
                    self.warnings.append(
                        f"Ignored {', '.join(keys)} in {path} until you trust this "
                        "workspace's config (`autogpt-tui trust`, or yes when the TUI asks)."
                    )

    def __call__(self) -> dict[str, Any]:
        """The file's values minus the ignored keys."""
        return self.allowed


@dataclass(frozen=True)
class _Rule:
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


_RULES = (
    _Rule(
        "model",
        "api_key",
        _own("set the API key (it could send it to its own server)"),
        show_value=False,
    ),
    _Rule("model", "base_url", _own("choose the server your requests and API key are sent to")),
    _Rule("agent", "prices", _own("change model prices, which the cost budget uses")),
    _Rule(
        "agent",
        "mode",
        lambda mine: (
            "a workspace's config file cannot let more run without approval than your own"
            f" mode ({_toml_value(mine)})"
        ),
        lambda theirs, mine: MODES.index(theirs) > MODES.index(mine),
    ),
    _Rule(
        "sandbox", "enabled", _own("turn the sandbox off"), lambda theirs, mine: mine and not theirs
    ),
    _Rule("sandbox", "max_command_timeout_s", _no_higher, lambda theirs, mine: theirs > mine),
    _Rule(
        "sandbox",
        "allow_read",
        _own("let commands read more of your files"),
        lambda theirs, mine: theirs != mine,
    ),
    _Rule(
        "sandbox",
        "env",
        _own("pass more of your environment to commands"),
        lambda theirs, mine: theirs != mine,
    ),
    _Rule("agent", "max_steps", _no_higher, _raises_limit),
    _Rule("agent", "max_tokens", _no_higher, _raises_limit),
    _Rule("agent", "max_cost_usd", _no_higher, _raises_limit),
    _Rule("agent", "delegate_max_steps", _no_higher, _raises_limit),
    _Rule(
        "rewards",
        "check",
        _own("choose a command that runs without approval"),
        lambda theirs, mine: theirs != mine,
    ),
    _Rule(
        "rewards",
        "undo_is_negative",
        _own("make your undos count as -1 ratings when your own config says they do not"),
        lambda theirs, mine: theirs and not mine,
    ),
    _Rule(
        "rewards",
        "reviewer_weight",
        lambda mine: (
            "a workspace's config file can only lower what a reviewer's ratings weigh,"
            f" not raise it above yours ({_toml_value(mine)})"
        ),
        lambda theirs, mine: theirs > mine,
    ),
)


def _restrict(
    values: Mapping[str, Any], mine: Settings, path: Path
) -> tuple[dict[str, Any], list[str]]:
    """The workspace's values without the keys it may not set, and why each was dropped."""
    # Copy the tables: the rules delete keys from them.
    kept = {key: dict(value) if isinstance(value, dict) else value for key, value in values.items()}
    warnings: list[str] = []
    for rule in _RULES:
        table = kept.get(rule.section)
        if not isinstance(table, dict) or rule.name not in table:
            continue
        raw = table[rule.name]
        my_section: BaseModel = getattr(mine, rule.section)
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
    return kept, warnings


def _narrow_agents(values: dict[str, Any], mine: Settings) -> list[str]:
    """Take from the workspace's ``[[agents]]`` every tool beyond the user's own roles'."""
    from autogpt_tui.core.roles import AgentRole, narrow_role_tools

    raw = values.get("agents")
    if not isinstance(raw, list):
        return []
    try:
        theirs = [AgentRole.model_validate(table) for table in raw]
    except ValidationError:
        return []  # a bad table: the full validation reports it, naming the file
    narrowed, warnings = narrow_role_tools(theirs, mine.agents)
    if warnings:
        values["agents"] = [role.model_dump() for role in narrowed]
    return warnings


def _has_allow_rule(tables: Any) -> bool:
    return isinstance(tables, list) and any(
        isinstance(t, dict) and t.get("action") == "allow" for t in tables
    )


def _drop_untrusted(values: dict[str, Any]) -> tuple[str, ...]:
    """Remove the steering keys from ``values``; returns the dotted keys removed."""
    dropped: list[str] = []
    for section, key in _NEEDS_TRUST:
        table = values.get(section)
        if key is None:
            if section in values:
                del values[section]
                names = sorted(table) if isinstance(table, dict) else []
                dropped += [f"{section}.{name}" for name in names] or [section]
        elif isinstance(table, dict) and key in table:
            del table[key]
            dropped.append(f"{section}.{key}")
    return tuple(dropped)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, Mapping):
        return "{…}"
    return str(value)
