"""Settings: pydantic-settings models, layered from TOML files, the environment and flags.

Layers, lowest priority first (a later layer wins, key by key), each one of
pydantic-settings' sources, stacked in :meth:`Settings.settings_customise_sources`:

1. the defaults written below, then above them the front-end's own defaults (``run``
   defaults ``agent.mode`` to ``auto``, the TUI keeps ``step``): a layer like the others,
   so that a workspace's file is judged against the mode the front-end would really use;
2. the user's file (a ``TomlConfigSettingsSource``): ``$AUTOGPT_TUI_CONFIG`` if that is
   set (a missing file counts as empty, so tests can point it anywhere), else
   ``$XDG_CONFIG_HOME/autogpt-tui/config.toml`` (``~/.config`` when XDG_CONFIG_HOME is
   unset);
3. the workspace's own file, ``<workspace>/.autogpt-tui.toml``, less the keys a workspace
   may not set (:mod:`autogpt_tui.core.settings_trust`);
4. the environment: ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL`` as the openai library reads
   them, then above those ``AUTOGPT_TUI_*`` variables (the ``EnvSettingsSource``), sections
   split by ``__`` (``AUTOGPT_TUI_MODEL__MODEL=gpt-4o``; lists and tables as JSON);
5. the command-line flags, as init kwargs (``None`` there means "option not given").

Tables merge key by key; any other value (lists included) replaces the one below. Every
model forbids unknown keys, so a typo is an error rather than a silent no-op, and every
error is a :class:`ConfigError` whose message is one sentence naming the file (or the
environment variable, or the command line) and the dotted field.

The API key is a ``SecretStr``: ``repr``, ``str`` and JSON dumps show asterisks, and error
messages never echo it; the client reads it through :meth:`Settings.api_key_value`.

This module must stay importable without textual or rich: the headless core uses it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import (
    Field,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    field_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from autogpt_tui.core.mcp.config import McpSettings
from autogpt_tui.core.permissions import PermissionRule, Permissions, SourcedRule
from autogpt_tui.core.roles import AgentRole, default_roles
from autogpt_tui.core.settings_sections import (
    AgentSettings,
    HistorySettings,
    ModelPrice,
    ModelSettings,
    PolicyArm,
    PolicySettings,
    RewardsSettings,
    SandboxSettings,
    UISettings,
    default_prices,
    unique_names,
)
from autogpt_tui.core.settings_sources import (
    ConfigError,
    OpenAIEnvSource,
    TomlFileSource,
    environment_error,
    file_validation_error,
    read_config_bytes,
    read_toml,
    validation_error,
)
from autogpt_tui.core.settings_trust import (
    TRUST_FILE_NAME,
    TrustStore,
    Untrusted,
    WorkspaceFileSource,
    file_digest,
)

__all__ = [
    "CONFIG_ENV_VAR",
    "ENV_PREFIX",
    "RUN_DEFAULTS",
    "WORKSPACE_CONFIG_NAME",
    "AgentSettings",
    "ConfigError",
    "HistorySettings",
    "ModelPrice",
    "ModelSettings",
    "PolicyArm",
    "PolicySettings",
    "RewardsSettings",
    "SandboxSettings",
    "Settings",
    "UISettings",
    "default_prices",
    "load_settings",
    "permissions_for",
    "trust_store",
    "trust_workspace",
    "user_config_path",
    "workspace_config_path",
]

ENV_PREFIX = "AUTOGPT_TUI_"
"""Prefix of the environment variables that set settings."""

CONFIG_ENV_VAR = "AUTOGPT_TUI_CONFIG"
"""Environment variable naming a user config file to read instead of the XDG one."""

WORKSPACE_CONFIG_NAME = ".autogpt-tui.toml"
"""Name of a workspace's own config file, in the workspace root."""

RUN_DEFAULTS: Mapping[str, Mapping[str, Any]] = {"agent": {"mode": "auto"}}
"""``run``'s own defaults for :func:`load_settings`: headless, nobody is there to approve,
so a run that no layer gives a mode runs in ``auto`` (the TUI keeps the written ``step``)."""


class Settings(BaseSettings):
    """All settings, by section. Build it with :func:`load_settings`.

    ``Settings()`` alone gives the defaults (plus any section passed in): it reads no file
    and no environment, so a test or a caller without a workspace is never surprised by
    the machine's configuration. Only :func:`load_settings` stacks the layers.
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
    agents: list[AgentRole] = Field(default_factory=default_roles)
    """The agents a team may use, each an [[agents]] table (core/roles.py); names unique.
    They work only when asked for (``--agents``); one agent is the default."""
    mcp: McpSettings = Field(default_factory=McpSettings)
    """MCP servers whose tools the agent may call (core/mcp/config.py)."""
    permissions: list[PermissionRule] = Field(default_factory=list)
    """Permission rules, each a [[permissions]] table (core/permissions.py); a workspace's
    own rules are kept apart (``workspace_rules``), never replacing these."""

    @field_validator("agents")
    @classmethod
    def _agent_names_are_unique(cls, agents: list[AgentRole]) -> list[AgentRole]:
        return unique_names(agents)

    _warnings: list[str] = PrivateAttr(default_factory=list)
    _workspace_rules: list[SourcedRule] = PrivateAttr(default_factory=list)
    _untrusted: Untrusted | None = PrivateAttr(default=None)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The layers, highest priority first: flags, environment, files (defaults last).

        Outside :func:`load_settings` only the values passed in count.
        """
        files = _LOADING.get()
        if files is None:
            return (init_settings,)
        workspace = (files.workspace,) if files.workspace is not None else ()
        sources = (
            init_settings,
            env_settings,
            OpenAIEnvSource(settings_cls),
            *workspace,
            files.user,
            _FrontEndDefaultsSource(settings_cls, files.defaults),
            _DefaultPricesSource(settings_cls),
        )
        files.used = sources
        return sources

    @property
    def warnings(self) -> list[str]:
        """Sentences about keys ignored in the workspace's file, for the user to see."""
        return self._warnings

    @property
    def workspace_rules(self) -> list[SourcedRule]:
        """The workspace's own permission rules; an untrusted file's allow rules are
        there as ignored, saying why."""
        return self._workspace_rules

    @property
    def untrusted(self) -> Untrusted | None:
        """The workspace's config file, when keys in it wait for the user's trust."""
        return self._untrusted

    def api_key_value(self) -> str | None:
        """The API key in clear, for the LLM client only; None when there is none."""
        return self.model.api_key.get_secret_value() if self.model.api_key else None

    def has_model(self) -> bool:
        """Whether a model is configured: an API key or a base URL (Ollama needs no key)."""
        return self.model.api_key is not None or self.model.base_url is not None


# --- the layers ---------------------------------------------------------------------------


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


class _DefaultPricesSource(PydanticBaseSettingsSource):
    """The default prices as a layer, so that prices in a file add to them, not replace them."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, "", False

    def __call__(self) -> dict[str, Any]:
        prices = {name: price.model_dump() for name, price in default_prices().items()}
        return {"agent": {"prices": prices}}


class _FrontEndDefaultsSource(PydanticBaseSettingsSource):
    """A front-end's own defaults (``run``'s ``auto`` mode), just above the written ones."""

    def __init__(self, settings_cls: type[BaseSettings], values: Mapping[str, Any]) -> None:
        super().__init__(settings_cls)
        self._values = values

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, "", False

    def __call__(self) -> dict[str, Any]:
        # Copied, tables too: pydantic-settings merges the layers into what it is given.
        return _given(self._values)


@dataclass
class _Files:
    """The config files one :func:`load_settings` call reads, already parsed."""

    user: TomlFileSource
    defaults: Mapping[str, Any]
    """The front-end's own defaults, below the files."""
    workspace: WorkspaceFileSource | None = None
    used: tuple[PydanticBaseSettingsSource, ...] = ()
    """The sources the settings were built from, to name the one an error came from."""


# settings_customise_sources is a classmethod with a fixed signature: this is how
# load_settings hands it the files of one call (per thread and per task, unlike a global).
_LOADING: ContextVar[_Files | None] = ContextVar("autogpt_tui_settings_files", default=None)


def _build(files: _Files, flags: dict[str, Any]) -> Settings:
    token = _LOADING.set(files)
    try:
        return Settings(**flags)
    except ValidationError as error:
        raise validation_error(error, files.used) from None
    except SettingsError as error:  # only the environment source parses JSON
        raise environment_error(error, ENV_PREFIX) from None
    finally:
        _LOADING.reset(token)


def _given(values: Mapping[str, Any]) -> dict[str, Any]:
    """Flags minus the options not given (None), tables copied."""
    result: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            result[key] = _given(value)
        elif value is not None:
            result[key] = value
    return result


def _same_file(one: Path, other: Path) -> bool:
    return one.exists() and other.exists() and one.resolve() == other.resolve()


# --- the entry point ----------------------------------------------------------------------


def load_settings(
    workspace: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    defaults: Mapping[str, Any] | None = None,
) -> Settings:
    """Read the settings for ``workspace``: defaults, files, environment, then ``overrides``.

    ``overrides`` are the command-line flags, nested like the TOML tables, e.g.
    ``{"model": {"model": "gpt-4o"}, "agent": {"mode": "auto"}}``; a ``None`` value means
    the option was not given and leaves the value below it in place. ``defaults``, nested
    the same way, are the front-end's own defaults: they replace the written ones but lie
    below every file, the environment and the flags (``run`` passes
    ``{"agent": {"mode": "auto"}}``, as :data:`RUN_DEFAULTS`). Raises
    :class:`ConfigError` for a broken file or an invalid value from any layer; keys the
    workspace's file may not set are left out, each with a sentence in ``warnings``.
    """
    flags = _given(overrides or {})
    below = _given(defaults or {})
    user = TomlFileSource(Settings, user_config_path())
    if workspace is None or _same_file(workspace_config_path(workspace), user.path):
        # With no workspace, or when the user named its file as their own, no suspicion.
        return _build(_Files(user, below), flags)
    guarded = WorkspaceFileSource(
        Settings,
        workspace_config_path(workspace),
        # "Yours" is what every layer but the workspace's says, the front-end's defaults
        # included: under `run` a workspace's "edits" narrows the "auto" it would get.
        yours=lambda: _build(_Files(user, below), flags),
        trust=trust_store(),
    )
    settings = _build(_Files(user, below, guarded), flags)
    settings._warnings = list(guarded.warnings)
    settings._workspace_rules = _workspace_rules(guarded)
    settings._untrusted = guarded.untrusted
    return settings


_RULE_LIST: TypeAdapter[list[PermissionRule]] = TypeAdapter(list[PermissionRule])

UNTRUSTED_ALLOW = (
    "a workspace's config cannot allow anything by itself until you trust it (`autogpt-tui trust`)"
)
"""Why an untrusted workspace's allow rule is ignored."""


def _workspace_rules(source: WorkspaceFileSource) -> list[SourcedRule]:
    """The workspace file's rules, validated; allow rules ignored until it is trusted."""
    if source.permissions is None:
        return []
    try:
        rules = _RULE_LIST.validate_python(source.permissions)
    except ValidationError as error:
        raise file_validation_error(error, source.path, ("permissions",)) from None
    return [
        SourcedRule(
            rule,
            "workspace",
            source.path,
            ignored=UNTRUSTED_ALLOW if rule.action == "allow" and not source.trusted else None,
        )
        for rule in rules
    ]


def permissions_for(settings: Settings, workspace: Path | None) -> Permissions:
    """Every permission rule for ``workspace``: the user's, then the workspace's own."""
    from_env = bool(os.environ.get(f"{ENV_PREFIX}PERMISSIONS"))
    path = None if from_env else user_config_path()
    mine = [SourcedRule(rule, "user", path) for rule in settings.permissions]
    return Permissions(
        [*mine, *settings.workspace_rules], root=workspace, user_file=user_config_path()
    )


def trust_store() -> TrustStore:
    """The record of the workspace config files the user trusts (in their config folder)."""
    return TrustStore(user_config_path().parent / TRUST_FILE_NAME)


def trust_workspace(workspace: Path) -> Path | None:
    """Trust the workspace's config file as it is now; returns it (None: it has none).

    ``workspace`` may be any folder inside the workspace's repository.
    """
    from autogpt_tui.core.git import run_git

    top = run_git(workspace, ["rev-parse", "--show-toplevel"], check=False)
    if top.returncode == 0 and top.stdout.strip():
        workspace = Path(os.fsdecode(top.stdout.strip()))
    path = workspace_config_path(workspace)
    data = read_config_bytes(path)
    if data is None:
        return None
    read_toml(path)  # a broken file is refused before it is trusted
    trust_store().trust(path, file_digest(data))
    return path
