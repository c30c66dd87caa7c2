"""Constants of the interface contract, each declared once: modes, exit codes, identity.

Everything here is user-visible (DESIGN.md, "Interface contract"), so the CLI, the
settings, the loop and the UI all read it from this one place.
"""

from __future__ import annotations

from typing import Final, Literal

Mode = Literal["step", "edits", "auto"]
"""An approval mode."""

MODES: Final[tuple[Mode, ...]] = ("step", "edits", "auto")
"""Approval modes, from the most to the least supervised."""

MODE_MEANINGS: Final[dict[Mode, str]] = {
    "step": "every action waits for your approval",
    "edits": "reads and file edits run; commands and questions wait",
    "auto": "everything runs, within the budget",
}
"""What each mode lets run, in one phrase (help screen, README)."""

ToolKind = Literal["read", "edit", "command", "ask", "finish"]
"""How a tool call is approved: the kind decides whether a mode asks first."""

RUNS_WITHOUT_APPROVAL: Final[dict[Mode, frozenset[ToolKind]]] = {
    "step": frozenset(),
    "edits": frozenset({"read", "edit", "finish"}),
    "auto": frozenset({"read", "edit", "command", "ask", "finish"}),
}
"""Which tool kinds run without approval in each mode (DESIGN.md, "Approval modes")."""

EXIT_OK: Final = 0
"""The command did what was asked (``run``: the agent called finish)."""
EXIT_ERROR: Final = 1
"""An error: the model unreachable after retries, a workspace that cannot be used, …"""
EXIT_USAGE: Final = 2
"""A usage error: bad flags or arguments, a revision that names no step."""
EXIT_BUDGET: Final = 3
"""``run``: a budget (steps, tokens or cost) ran out."""

AGENT_NAME: Final = "autogpt-tui agent"
"""The default author and committer name of agent step commits."""
AGENT_EMAIL: Final = "agent@autogpt-tui.invalid"
"""The default author and committer e-mail of agent step commits."""
FALLBACK_USER_NAME: Final = "autogpt-tui user"
"""The name for the user's own commits when git has no ``user.name``."""
FALLBACK_USER_EMAIL: Final = "user@autogpt-tui.invalid"
"""The e-mail for the user's own commits when git has no ``user.email``."""

DEFAULT_MAX_STEPS: Final = 50
"""The step budget when none is configured."""

SECRET_FILE_PATTERNS: Final[tuple[str, ...]] = (
    ".env*",
    "*.pem",
    "*.key",
    "id_rsa*",
    "id_ed25519*",
    "id_ecdsa*",
    "*.p12",
    "*.pfx",
    "credentials*",
    ".netrc",
    "*.keystore",
    ".npmrc",
    ".pypirc",
    "secrets.*",
)
"""Names of files that look like secrets (gitignore patterns, matched at any depth).

When the TUI or ``run`` makes a folder a repository, files matching these are kept out
of the first commit and listed in ``.git/info/exclude``.
"""
