"""Permission rules: which actions run without asking, which always ask, which never run.

A rule (``[[permissions]]`` in the config) names a tool (or ``"*"``), a glob and an action:
``allow`` runs a matching action without approval whatever the mode, ``ask`` makes it
wait for the user even in ``auto``, ``deny`` refuses it without asking and tells the
model why. ``deny`` beats ``ask``, which beats ``allow``.

What the glob is matched against, the action's *subject*:

- the path tools (``read_file``, ``write_file``, ``edit_file``, ``list_files``, and
  ``search``'s ``path``): the workspace-relative path, normalised (``./a/../b`` is ``b``)
  and also resolved through symlinks; a rule matches a path when it matches it or one of
  the folders above it (``secrets`` covers ``secrets/key.pem``). Deny and ask match if
  either form matches; allow only if both do, inside the workspace;
- ``run_command``: each simple command of the line, as ``bashlex`` parses it through
  ``&&``, ``||``, ``;``, pipes, subshells, ``$(…)``, backticks and process substitution.
  Allow matches only when *every* command matches an allow rule (``pytest && rm -rf ~``
  is not ``pytest*``); deny and ask match when *any* command, or the whole line,
  matches. A line bashlex cannot parse never matches an allow rule;
- ``ask_user`` and ``finish``: the empty string (so only ``"*"`` matches them).

Globs are ``fnmatch`` globs, case-sensitive, where ``*`` matches any characters,
``/`` and spaces included; a pattern ``prog *`` also matches ``prog`` alone.

Rules come from the user's config, and from a workspace's ``.autogpt-tui.toml``: all of
them once the user trusts that file, only its ``deny`` and ``ask`` rules before (they
only narrow what runs; a workspace can never allow anything by itself).

This module stays UI-free; ``bashlex`` is imported on the first command judged.
"""

from __future__ import annotations

import fnmatch
import glob
import json
import os
import posixpath
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "PATH_TOOLS",
    "RULE_TOOLS",
    "PermissionRule",
    "Permissions",
    "RuleError",
    "RuleSource",
    "SourcedRule",
    "Verdict",
    "append_rule",
    "derive_rules",
    "describe",
    "simple_commands",
    "tilde",
]

PermissionAction = Literal["allow", "ask", "deny"]
"""What a rule does to the actions it matches."""

PATH_TOOLS = ("read_file", "write_file", "edit_file", "list_files", "search")
"""The tools whose subject is a path (``search``'s optional ``path``, default ``.``)."""

RULE_TOOLS = (*PATH_TOOLS, "run_command", "ask_user", "delegate", "finish")
"""The tool names a rule may name (DESIGN.md's tools), besides ``"*"``."""

MAX_PARSED_CHARS = 20_000
"""A command line longer than this is not parsed: no allow rule matches it."""

_STRENGTH: dict[str, int] = {"allow": 0, "ask": 1, "deny": 2}


class PermissionRule(BaseModel):
    """One ``[[permissions]]`` table: a tool, a glob on its subject, and an action."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tool: str = Field(min_length=1)
    """A tool name, or ``"*"`` for every tool."""
    pattern: str = Field(min_length=1)
    """An fnmatch glob on the path or on each parsed command."""
    action: PermissionAction
    """allow | ask | deny; deny wins over ask, ask over allow."""

    @field_validator("tool")
    @classmethod
    def _known_tool(cls, value: str) -> str:
        # An MCP tool is named as offered (mcp__SERVER__TOOL); its pattern is matched
        # against nothing, so "*" is the one that applies.
        if value != "*" and value not in RULE_TOOLS and not value.startswith("mcp__"):
            raise ValueError(
                f'must be "*" or one of {", ".join(RULE_TOOLS)}, or an MCP tool\'s '
                f"mcp__SERVER__TOOL name (got {value!r})"
            )
        return value

    def applies_to(self, tool: str) -> bool:
        """Whether the rule is about ``tool``."""
        return self.tool in ("*", tool)

    def label(self) -> str:
        """The rule in a few words: ``allow run_command `pytest *```."""
        return f"{self.action} {self.tool} `{self.pattern}`"


RuleSource = Literal["user", "workspace"]
"""Where a rule was written: the user's config, or a workspace's own file."""


@dataclass(frozen=True)
class SourcedRule:
    """A rule, the file it came from, and whether it is in force (and if not, why)."""

    rule: PermissionRule
    source: RuleSource
    path: Path | None
    """The file it came from (None: the environment, or added in this session)."""
    ignored: str | None = None
    """Why the rule is not in force (None: it is)."""

    @property
    def where(self) -> str:
        """Whose file it came from, in words."""
        return "your config" if self.source == "user" else "the workspace's config"

    @property
    def origin(self) -> str:
        """Where it came from, in words, with the file (the home folder as ``~``)."""
        return f"{self.where} ({tilde(self.path)})" if self.path is not None else self.where


def tilde(path: Path) -> str:
    """``path`` as people write it: the home folder as ``~``."""
    home = os.path.expanduser("~")
    text = str(path)
    if home not in ("", "/") and (text == home or text.startswith(home + os.sep)):
        return "~" + text[len(home) :]
    return text


@dataclass(frozen=True)
class Verdict:
    """What the rules say about one action: allow, ask or deny, and the deciding rule."""

    action: PermissionAction
    rule: SourcedRule
    """The deciding rule (for allow on a command line: the one matching its first command)."""


class RuleError(Exception):
    """A rule could not be written to the user's config; the message is one sentence."""


# --- matching -------------------------------------------------------------------------------


def glob_matches(pattern: str, text: str) -> bool:
    """Whether ``text`` matches the glob; ``prog *`` also matches ``prog`` alone."""
    if fnmatch.fnmatchcase(text, pattern):
        return True
    return pattern.endswith(" *") and fnmatch.fnmatchcase(text, pattern[:-2])


@dataclass(frozen=True)
class SimpleCommand:
    """One simple command of a command line: its text and its program."""

    text: str
    """The command as written (whitespace runs made one space), redirections included."""
    program: str
    """Its first word after any ``NAME=value`` assignments ("" when it has none)."""
    assigns: bool
    """Whether it starts with ``NAME=value`` assignments (an environment of its own)."""


def simple_commands(line: str) -> list[SimpleCommand] | None:
    """The simple commands of a shell line, nested ones included; None if bashlex
    cannot parse it (then no allow rule can match it)."""
    if len(line) > MAX_PARSED_CHARS:
        return None  # bashlex is pure Python: a huge line would hold up the step
    import bashlex

    try:
        trees = bashlex.parse(line)
    except Exception:  # bashlex raises its own errors, and others on odd input
        return None
    found: list[SimpleCommand] = []
    substitutions = 0

    def visit(node: Any) -> None:
        nonlocal substitutions
        if getattr(node, "kind", None) in ("commandsubstitution", "processsubstitution"):
            substitutions += 1
        if getattr(node, "kind", None) == "command":
            parts = list(getattr(node, "parts", []))
            words = [p for p in parts if getattr(p, "kind", None) == "word"]
            start, end = node.pos
            found.append(
                SimpleCommand(
                    text=" ".join(line[start:end].split()),
                    program=str(words[0].word) if words else "",
                    assigns=bool(parts) and getattr(parts[0], "kind", None) == "assignment",
                )
            )
        for value in vars(node).values():
            children = value if isinstance(value, list) else [value]
            for child in children:
                if hasattr(child, "kind") and hasattr(child, "pos"):
                    visit(child)

    try:
        for tree in trees:
            visit(tree)
    except (AttributeError, TypeError, ValueError, RecursionError):
        return None
    if _substitution_openers(line) > substitutions:
        # bashlex leaves some substitutions unparsed (in a here-document, inside ${…}):
        # a command hidden there would ride on the allow for the visible ones.
        return None
    return found


_OPENERS = re.compile(r"\$\((?!\()|[<>]\(")


def _substitution_openers(line: str) -> int:
    """How many ``$(``, ``<(``, ``>(`` and backtick pairs the raw text holds (quoted ones
    too: a line that only seems to hide a command is not allowed either)."""
    return len(_OPENERS.findall(line)) + line.count("`") // 2


def _path_forms(root: Path | None, raw: str) -> tuple[str, str | None]:
    """The path as written, normalised against the workspace, and as resolved through
    symlinks (None when it leaves the workspace or cannot be resolved)."""
    text = raw.strip() or "."
    if root is not None and os.path.isabs(text):
        try:
            text = os.path.relpath(text, root)
        except ValueError:
            return posixpath.normpath(text), None
    lexical = posixpath.normpath(text.replace(os.sep, "/"))
    if root is None or lexical == ".." or lexical.startswith("../") or lexical.startswith("/"):
        return lexical, None
    try:
        real_root = root.resolve()
        resolved = (real_root / lexical).resolve(strict=False)
    except (OSError, RuntimeError):
        return lexical, None
    if resolved != real_root and not resolved.is_relative_to(real_root):
        return lexical, None
    return lexical, resolved.relative_to(real_root).as_posix() or "."


def _path_matches(pattern: str, path: str) -> bool:
    """The glob matches the path or one of the folders above it."""
    pattern = posixpath.normpath(pattern.strip().rstrip("/") or ".")
    if pattern.startswith("./"):
        pattern = pattern[2:]
    candidate = path
    while True:
        if fnmatch.fnmatchcase(candidate, pattern):
            return True
        parent = posixpath.dirname(candidate)
        if not parent or parent == candidate:
            return False
        candidate = parent


def describe(tool: str, arguments: dict[str, Any]) -> str:
    """The subject of an action as rules see it (for messages): path, command or ""."""
    if tool in PATH_TOOLS:
        return str(arguments.get("path") or ".")
    if tool == "run_command":
        return str(arguments.get("command", ""))
    return ""


@dataclass
class Permissions:
    """The rules that judge a workspace's actions, with those ignored and why."""

    rules: list[SourcedRule] = field(default_factory=list)
    root: Path | None = None
    """The workspace, to normalise and resolve paths against."""
    user_file: Path | None = None
    """The user's config file, where ``A`` (always allow) writes (None: nowhere)."""

    @property
    def in_force(self) -> list[SourcedRule]:
        """The rules that apply."""
        return [r for r in self.rules if r.ignored is None]

    @property
    def ignored(self) -> list[SourcedRule]:
        """The rules that do not apply, each with why."""
        return [r for r in self.rules if r.ignored is not None]

    def add(self, rule: SourcedRule) -> None:
        """Put one more rule in force (the ``A`` key's, once written)."""
        self.rules = [*self.rules, rule]

    def judge(self, tool: str, arguments: dict[str, Any]) -> Verdict | None:
        """What the rules say about this call; None when no rule matches (the mode
        decides)."""
        rules = [r for r in self.in_force if r.rule.applies_to(tool)]
        if not rules:
            return None
        if tool in PATH_TOOLS:
            return self._judge_path(rules, str(arguments.get("path") or "."))
        if tool == "run_command":
            return self._judge_command(rules, str(arguments.get("command", "")))
        return _strongest(r for r in rules if glob_matches(r.rule.pattern, ""))

    def _judge_path(self, rules: list[SourcedRule], raw: str) -> Verdict | None:
        lexical, resolved = _path_forms(self.root, raw)
        forms = [lexical] if resolved is None else [lexical, resolved]
        narrowing = [
            r
            for r in rules
            if r.rule.action != "allow" and any(_path_matches(r.rule.pattern, f) for f in forms)
        ]
        if narrowing:
            return _strongest(narrowing)
        if resolved is None:
            return None  # outside the workspace (the tools refuse it anyway): never allowed
        allows = [
            r
            for r in rules
            if r.rule.action == "allow" and all(_path_matches(r.rule.pattern, f) for f in forms)
        ]
        return Verdict("allow", allows[0]) if allows else None

    def _judge_command(self, rules: list[SourcedRule], line: str) -> Verdict | None:
        whole = " ".join(line.split())
        commands = simple_commands(line)
        texts = [whole] + ([c.text for c in commands] if commands else [])
        narrowing = [
            r
            for r in rules
            if r.rule.action != "allow" and any(glob_matches(r.rule.pattern, t) for t in texts)
        ]
        if narrowing:
            return _strongest(narrowing)
        if not commands:
            return None  # unparsable (or empty): no allow rule can vouch for it
        allows = [r for r in rules if r.rule.action == "allow"]
        deciding: list[SourcedRule] = []
        for command in commands:
            match = next((r for r in allows if glob_matches(r.rule.pattern, command.text)), None)
            if match is None:
                return None
            deciding.append(match)
        return Verdict("allow", deciding[0])


def _strongest(matches: Iterable[SourcedRule]) -> Verdict | None:
    best: SourcedRule | None = None
    for rule in matches:
        if best is None or _STRENGTH[rule.rule.action] > _STRENGTH[best.rule.action]:
            best = rule
    return Verdict(best.rule.action, best) if best is not None else None


# --- "always allow" ------------------------------------------------------------------------


def derive_rules(tool: str, arguments: dict[str, Any], root: Path | None) -> list[PermissionRule]:
    """The allow rules the ``A`` key writes for this action; [] when none can be made.

    A command line of one simple command gives ``program *``; a line of several gives
    each command exactly as written, so approving ``make && rm -rf build`` once never
    allows every ``rm`` for ever. A path tool gives the normalised path.
    """
    if tool in PATH_TOOLS:
        _lexical, resolved = _path_forms(root, str(arguments.get("path") or "."))
        if resolved is None:
            return []
        return [PermissionRule(tool=tool, pattern=glob.escape(resolved), action="allow")]
    if tool == "run_command":
        commands = simple_commands(str(arguments.get("command", "")))
        if not commands:
            return []
        first = commands[0]
        if len(commands) == 1 and first.program and not first.assigns:
            pattern = glob.escape(first.program) + " *"
            return [PermissionRule(tool=tool, pattern=pattern, action="allow")]
        patterns = dict.fromkeys(glob.escape(c.text) for c in commands)
        return [PermissionRule(tool=tool, pattern=p, action="allow") for p in patterns]
    if tool in RULE_TOOLS:
        return [PermissionRule(tool=tool, pattern="*", action="allow")]
    return []


def _toml_string(text: str) -> str:
    # JSON's escapes are TOML's, but for DEL, which TOML wants escaped too.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def rule_table(rules: Sequence[PermissionRule]) -> str:
    """The rules as ``[[permissions]]`` tables of TOML."""
    return "".join(
        "\n[[permissions]]\n"
        f"tool = {_toml_string(r.tool)}\n"
        f"pattern = {_toml_string(r.pattern)}\n"
        f"action = {_toml_string(r.action)}\n"
        for r in rules
    )


def append_rule(path: Path, rules: Sequence[PermissionRule]) -> None:
    """Add the rules at the end of the user's config file, keeping every byte of it.

    The text is appended (comments and layout stay as they are), checked to parse with
    the new tables last, and written through a temporary file and a rename, to the file a
    symlinked config points at. Raises :class:`RuleError` in one sentence when the file
    cannot be read or parsed, or the rules would not fit in it (a ``permissions`` key of
    another shape): nothing is written then.
    """
    from autogpt_tui.core.settings_sources import ConfigError, read_config_bytes, read_toml

    try:
        read_toml(path)  # a broken file says so in its own words, and is left alone
        old = (read_config_bytes(path) or b"").decode("utf-8")
    except ConfigError as error:
        raise RuleError(str(error)) from None
    addition = "\n# Added by autogpt-tui (A, always allow).\n" + rule_table(rules).lstrip("\n")
    if not old.strip():
        addition = addition.lstrip("\n")
    new = old + ("" if not old or old.endswith("\n") else "\n") + addition
    try:
        parsed = tomllib.loads(new)
        tables: Any = parsed.get("permissions")
        written = [PermissionRule.model_validate(t) for t in tables[-len(rules) :]]
    except (tomllib.TOMLDecodeError, TypeError, ValueError, AttributeError, KeyError) as error:
        what = str(error).split("\n")[0]
        by_hand = "; ".join(
            f"tool = {_toml_string(r.tool)}, pattern = {_toml_string(r.pattern)}, "
            f'action = "{r.action}"'
            for r in rules
        )
        raise RuleError(
            f"The rule could not be added to {path} ({what}); add it by hand as a "
            f"[[permissions]] table: {by_hand}."
        ) from None
    if written != list(rules):
        raise RuleError(f"The rule could not be added to {path} as written.")
    target = path.resolve()
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        mode = target.stat().st_mode & 0o7777 if target.exists() else 0o600
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(new)
        os.chmod(temp, mode)
        os.replace(temp, target)  # a crash never leaves half a config file
    except OSError as error:
        temp.unlink(missing_ok=True)
        raise RuleError(
            f"The rule could not be written to {path} ({error.strerror or error})."
        ) from None
