"""Masking secrets in text before it leaves for the model, a note, an event or an export.

Defence in depth: the sandbox keeps secrets away from commands, and whatever still gets
through (a key pasted into a file, a token in a remote URL) is masked here. Masked are:

- the values the caller names (the API key in use);
- values of the parent environment outside the allowlist commands get
  (:data:`ENV_ALLOWLIST`), except values that are plainly not secrets (short ones,
  paths, numbers, and well-known public variables such as ``PWD``);
- the password of credentials in URLs (``scheme://user:pass@host``);
- common token shapes (:data:`KEY_PATTERNS`) and private key blocks.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "ENV_ALLOWLIST",
    "KEY_PATTERNS",
    "REDACTED",
    "Redactor",
    "environment_secrets",
    "is_allowlisted",
    "scrub_keys",
]

REDACTED = "[redacted]"
"""What a secret becomes."""

KEY_PATTERNS = (
    r"sk-[A-Za-z0-9_-]{16,}",  # OpenAI (sk-..., sk-proj-...), Anthropic (sk-ant-...)
    r"Bearer\s+[A-Za-z0-9._~+/=-]{8,}",
    r"gh[pousr]_[A-Za-z0-9]{20,}",  # GitHub tokens
    r"github_pat_[A-Za-z0-9_]{20,}",
    r"AKIA[0-9A-Z]{16}",  # AWS access key ids
    r"xox[abposr]-[A-Za-z0-9-]{10,}",  # Slack
    r"AIza[0-9A-Za-z_-]{35}",  # Google API keys
    # A private key block, from its BEGIN line to its END line.
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY-----",
)
"""Regular expressions of things that look like credentials, whatever the caller said."""

_KEYS = re.compile("|".join(KEY_PATTERNS))
# The password part of scheme://user:password@host.
_URL_CREDENTIALS = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]*:)[^\s/@]+@")

ENV_ALLOWLIST = frozenset({"PATH", "HOME", "LANG", "TERM", "TZ", "USER", "SHELL", "TMPDIR"})
"""The variables commands get (plus ``LC_*``); every other value is presumed secret."""

_PUBLIC = frozenset(
    {
        "PWD", "OLDPWD", "HOSTNAME", "HOST", "SHLVL", "_", "LOGNAME", "MAIL", "DISPLAY",
        "COLUMNS", "LINES", "EDITOR", "VISUAL", "PAGER", "GIT_PAGER", "LESS", "TERM_PROGRAM",
        "TERM_PROGRAM_VERSION", "COLORTERM", "LS_COLORS", "LSCOLORS", "CI", "DEBIAN_FRONTEND",
        "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PYTHONHASHSEED", "VIRTUAL_ENV_PROMPT",
        "PS1", "PS2", "MANPATH", "INFOPATH", "HISTSIZE", "HISTFILESIZE", "HISTCONTROL",
    }
)  # fmt: skip
"""Variables whose values are never secrets (masking them would only garble output)."""

_MIN_ENV_SECRET = 8
"""Shorter environment values are not masked: "true" or "1000" would garble everything."""
_MIN_SECRET = 4
"""Shorter named secrets are ignored: masking every "ab" would ruin the text."""


def is_allowlisted(name: str) -> bool:
    """Whether a command may see the variable ``name``."""
    return name in ENV_ALLOWLIST or name.startswith("LC_")


def _plainly_public(value: str) -> bool:
    """A value that cannot be a secret worth masking: a number, a path or a path list."""
    if value.replace(".", "").replace("-", "").isdigit():
        return True
    parts = [p for p in value.split(os.pathsep) if p]
    return bool(parts) and all(p.startswith(("/", "~", "./")) and " " not in p for p in parts)


def environment_secrets(environ: Mapping[str, str]) -> list[str]:
    """The values of ``environ`` to mask: those commands do not get and that could be
    secrets."""
    found: list[str] = []
    for name, value in environ.items():
        if is_allowlisted(name) or name in _PUBLIC or name.startswith("XDG_"):
            continue
        if len(value) < _MIN_ENV_SECRET or _plainly_public(value):
            continue
        found.append(value)
    return found


def scrub_keys(text: str) -> str:
    """``text`` with everything that looks like a credential replaced by :data:`REDACTED`."""
    return _URL_CREDENTIALS.sub(rf"\g<head>{REDACTED}@", _KEYS.sub(REDACTED, text))


class Redactor:
    """Replaces secrets and credential-looking tokens in text and in JSON values."""

    def __init__(
        self, secrets: Iterable[str | None] = (), *, environ: Mapping[str, str] | None = None
    ) -> None:
        found = [s for s in secrets if s and len(s) >= _MIN_SECRET]
        if environ is not None:
            found += environment_secrets(environ)
        variants: set[str] = set()
        for secret in found:
            variants.add(secret)
            # As it appears inside a JSON string (tool call arguments are JSON text).
            variants.add(json.dumps(secret)[1:-1])
            variants.add(json.dumps(secret, ensure_ascii=False)[1:-1])
        literal = [re.escape(v) for v in sorted(variants, key=len, reverse=True)]
        self._pattern = re.compile("|".join([*literal, *KEY_PATTERNS]))

    def text(self, value: str) -> str:
        """``value`` with every secret replaced by :data:`REDACTED`."""
        masked = self._pattern.sub(REDACTED, value)
        return _URL_CREDENTIALS.sub(rf"\g<head>{REDACTED}@", masked)

    __call__ = text

    def value(self, value: Any) -> Any:
        """``value`` (any JSON value) with every secret in its strings replaced."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value
