"""The MCP servers a user declares: ``[[mcp.servers]]`` tables in their config.

Each server is either a program spoken to over stdio (``command``, ``args``, ``env``) or a
streamable-HTTP endpoint (``url``, ``headers``). Values of ``env`` and ``headers`` may
name environment variables as ``${NAME}``, so a token need not sit in the file; they are
expanded only when the server is started (:func:`expand`), never stored expanded.

A workspace's own config file declares servers only once the user trusts it (starting a
server is running a program): see ``core/settings_trust.py``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from autogpt_tui.core.settings_sections import unique_names

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "McpServerConfig",
    "McpSettings",
    "MissingVariable",
    "expand",
]

DEFAULT_TIMEOUT_S = 30.0
"""How long a server may take to answer one call, and at least how long it may take to
start and list its tools."""

_SERVER_NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class MissingVariable(ValueError):
    """A ``${NAME}`` in a server's env or headers names a variable that is not set."""


class McpServerConfig(BaseModel):
    """One ``[[mcp.servers]]`` table: how to reach one MCP server."""

    model_config = ConfigDict(extra="forbid")

    name: str
    """Short name; tools are offered as ``mcp__NAME__TOOL``."""
    command: str | None = None
    """The program of a stdio server (found on PATH)."""
    args: list[str] = Field(default_factory=list)
    """Its arguments."""
    env: dict[str, str] = Field(default_factory=dict)
    """Variables it gets on top of the SDK's safe few (HOME, PATH, …); ``${NAME}`` expands."""
    cwd: str | None = None
    """Its working folder; None: the workspace."""
    url: str | None = None
    """The endpoint of a streamable-HTTP server."""
    headers: dict[str, str] = Field(default_factory=dict)
    """HTTP headers sent to it (``${NAME}`` expands); their values are never shown."""
    timeout: float = Field(default=DEFAULT_TIMEOUT_S, gt=0, le=3600)
    """Seconds one call may take before the server counts as hung (starting it is given
    at least the default, 30 s)."""
    enabled: bool = True
    """False: declared but not started."""

    @field_validator("name")
    @classmethod
    def _plain_name(cls, name: str) -> str:
        if not _SERVER_NAME.match(name):
            raise ValueError("must be 1-32 letters, digits, '_' or '-'")
        return name

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return url

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerConfig:
        if (self.command is None) == (self.url is None):
            raise ValueError("needs either command (a stdio server) or url (streamable HTTP)")
        if self.url is not None and (self.args or self.env):
            raise ValueError("takes args and env only with command, not with url")
        if self.command is not None and self.headers:
            raise ValueError("takes headers only with url, not with command")
        return self

    @property
    def transport(self) -> str:
        """``stdio`` or ``http``."""
        return "stdio" if self.command is not None else "http"


class McpSettings(BaseModel):
    """The ``[mcp]`` section."""

    model_config = ConfigDict(extra="forbid")

    servers: list[McpServerConfig] = Field(default_factory=list)
    """The servers, each a ``[[mcp.servers]]`` table; names unique."""

    @field_validator("servers")
    @classmethod
    def _unique(cls, servers: list[McpServerConfig]) -> list[McpServerConfig]:
        return unique_names(servers)


def expand(
    values: Mapping[str, str], where: str, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """``values`` with each ``${NAME}`` replaced by that environment variable.

    Raises MissingVariable (naming the variable and ``where`` it was used, never a value)
    when one is not set: a server started without its token would only fail later, less
    clearly.
    """
    env = os.environ if environ is None else environ

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise MissingVariable(f"the environment variable {name} (in its {where}) is not set")
        return env[name]

    return {key: _VARIABLE.sub(one, value) for key, value in values.items()}
