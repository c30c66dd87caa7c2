"""One action the agent proposed: the tool, its arguments in brief, and what became of it."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

OUTPUT_LINES = 6
"""How many lines of a tool's output a card shows."""
SUMMARY_CHARS = 160
"""Longest argument summary a card shows; longer values are cut with an ellipsis."""
OUTPUT_LINE_CHARS = 240
"""Longest output line a card shows."""
OUTPUT_CHROME = 8
"""Columns a card spends around a line of output: its margins (2 + 1), border (1),
padding (1 + 1) and the line's indent (2). What is left of the log is the output's."""

UNDONE_LABEL = ("↶ undone", "$text-warning")
"""What the state line of a card whose step was undone says, and its style."""

STATES = ("waiting", "running", "rejected", "ok", "error")
"""The states a card can be in; each is also a CSS class with a dash (``-waiting``)."""

# CSI / OSC escape sequences and single-character escapes: tool output often carries
# colour codes, which must not reach the terminal (or the screen) as raw bytes.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_line(text: str, limit: int) -> str:
    """One displayable line: escapes and control characters removed, cut at ``limit``."""
    if "\r" in text:
        # A progress bar rewrites its line with \r: show what the terminal would show.
        text = text.rstrip("\r").rsplit("\r", 1)[-1]
    text = _CONTROL.sub("", _ANSI.sub("", text.replace("\t", "    ")))
    return clip(text, limit)


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in an ellipsis when cut."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def _one_line(value: object, limit: int = SUMMARY_CHARS) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    lines = text.splitlines() or [""]
    first = clean_line(lines[0], limit)
    if len(lines) > 1:
        first = clip(f"{first} ⏎ … (+{len(lines) - 1} lines)", limit + 20)
    return first


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def summarize_call(tool: str, arguments: Mapping[str, Any]) -> str:
    """Say in one line what a tool call does, leaving out bulky values such as file content."""
    path = str(arguments.get("path") or ".")
    if tool == "write_file":
        content = arguments.get("content")
        text = content if isinstance(content, str) else ""
        size = len(text.encode("utf-8", "replace"))
        lines = _count(len(text.splitlines()), "line")
        return f"{_one_line(path)} · {_count(size, 'byte')}, {lines}"
    if tool == "edit_file":
        old = arguments.get("old_text")
        new = arguments.get("new_text")
        old_n = len(old.splitlines()) if isinstance(old, str) else 0
        new_n = len(new.splitlines()) if isinstance(new, str) else 0
        return f"{_one_line(path)} · replaces {_count(old_n, 'line')} with {new_n:,}"
    if tool == "run_command":
        summary = f"$ {_one_line(arguments.get('command', ''))}"
        timeout = arguments.get("timeout_s")
        return summary if timeout is None else f"{summary}  (timeout {timeout} s)"
    if tool == "read_file":
        start, end = arguments.get("start_line"), arguments.get("end_line")
        if start is None and end is None:
            return _one_line(path)
        return f"{_one_line(path)}:{start or 1}-{'' if end is None else end}"
    if tool == "list_files":
        return _one_line(path)
    if tool == "search":
        return f"/{_one_line(arguments.get('pattern', ''))}/ in {_one_line(path)}"
    if tool == "ask_user":
        return _one_line(arguments.get("question", ""))
    if tool == "finish":
        return _one_line(arguments.get("summary", ""))
    if tool == "delegate":
        return _one_line(arguments.get("task", ""))
    # An unknown tool (or a malformed call): show every argument, each cut short.
    parts = [f"{key}={_one_line(value, 40)}" for key, value in arguments.items()]
    return clip(", ".join(parts), SUMMARY_CHARS)


def call_fingerprint(tool: str, arguments: Mapping[str, Any]) -> str:
    """A short digest identifying one tool call, so a card need not keep bulky arguments."""
    encoded = json.dumps([tool, arguments], sort_keys=True, default=str)
    return hashlib.blake2b(encoded.encode("utf-8", "replace"), digest_size=12).hexdigest()


@dataclass(eq=False)
class DelegationData:
    """What a delegate card shows of its sub-agent: its steps so far, folded."""

    sub_steps: int = 0
    """The sub-agent's replies so far."""
    calls: list[str] = field(default_factory=list)
    """Each of its calls in one line (``tool  summary``, ``✗`` when refused), the
    newest last; the last few only (the record keeps them all)."""
    ended: str = ""
    """How it ended (``finished``, ``step_cap``, …); "" while it runs."""

    KEPT_CALLS: ClassVar[int] = 50

    def add_call(self, sub_step: int, tool: str, arguments: Mapping[str, Any], ok: bool) -> None:
        """The sub-agent's ``sub_step``-th reply ran (or was refused) a call."""
        self.sub_steps = max(self.sub_steps, sub_step)
        mark = "" if ok else "✗ "
        line = f"{mark}{clean_line(tool, 40)}  {summarize_call(tool, arguments)}"
        self.calls = [*self.calls, line][-self.KEPT_CALLS :]

    def fold_line(self) -> str:
        """The folded delegation in one line: its steps, and the key that opens them."""
        n = f"{self.sub_steps} step{'s' if self.sub_steps != 1 else ''}"
        if not self.ended:
            last = f" · {self.calls[-1]}" if self.calls else ""
            return clip(f"▸ {n} so far{last}", SUMMARY_CHARS)
        why = {
            "step_cap": " · no summary (step cap)",
            "stopped": " · stopped",
            "budget": " · budget ran out",
            "error": " · model failed",
        }.get(self.ended, "")
        return f"▸ {n}{why} · enter to expand"


@dataclass(eq=False)
class CardData:
    """What a card shows, kept apart from the widget: a log keeps this for entries that
    are not mounted (scrolled far away) and builds the widget again from it."""

    tool: str
    """The tool's name, as the model called it (cleaned for display)."""
    summary: str
    """The arguments in one line."""
    fingerprint: str
    """A digest of the call, to recognise the same call proposed again."""
    state: str = "running"
    """Where the action is: one of `STATES`."""
    reason: str = ""
    """Why the user rejected it."""
    output: list[str] = field(default_factory=list)
    """The first lines of its output, cleaned."""
    more_output: int = 0
    """How many lines of output are not kept."""
    commit: tuple[str, str] | None = None
    """The short sha and subject of its step commit, once made."""
    approved: bool = False
    """Whether the user approved it (it waited for them): its running line says so."""
    undone: bool = False
    """Its step was undone (and not redone since)."""
    rule: str = ""
    """The permission rule that let it run unasked or made it wait, in words."""
    note: str = ""
    """What approving it lets run beyond the call (a delegation's read-only steps)."""
    delegation: DelegationData | None = None
    """A delegate call's sub-agent, folded into the card (None for other calls)."""

    @classmethod
    def of_call(cls, tool: str, arguments: Mapping[str, Any], *, waiting: bool) -> CardData:
        """The data of a new card for a call of ``tool`` (``waiting`` for approval)."""
        return cls(
            tool=clean_line(tool, 60),
            summary=summarize_call(tool, arguments),
            fingerprint=call_fingerprint(tool, arguments),
            state="waiting" if waiting else "running",
        )

    def reject(self, reason: str) -> None:
        """The user rejected the action, for ``reason``."""
        self.reason = reason
        self.state = "rejected"

    def execute(self, ok: bool, output: str) -> None:
        """The action ran: ``ok`` or failed; only the head of ``output`` is kept."""
        text = output.rstrip("\n") if output.strip() else ""
        # Split off only the head: an output can be megabytes long.
        head = text.split("\n", OUTPUT_LINES)[:OUTPUT_LINES] if text else []
        self.output = [clean_line(line, OUTPUT_LINE_CHARS) for line in head]
        self.more_output = text.count("\n") + 1 - len(head) if text else 0
        self.state = "ok" if ok else "error"

    def commit_as(self, short_sha: str, summary: str) -> None:
        """The action's step was committed as ``short_sha`` with subject ``summary``."""
        self.commit = (clean_line(short_sha, 40), clean_line(summary, SUMMARY_CHARS))


class ActionCard(Widget):
    """A compact card for one proposed action: tool, arguments in brief, state and output.

    The card keeps only what it shows (its `CardData`: a summary and the first lines of
    output), never the arguments or the full output, so thousands of cards stay cheap.
    All text is shown as plain text, never interpreted as markup.
    """

    DEFAULT_CSS = """
    ActionCard {
        height: auto;
        margin: 0 1 1 2;
        padding: 0 1;
        background: $boost;
        border-left: wide $primary;
        &.-waiting { border-left: wide $warning; }
        &.-running { border-left: wide $primary; }
        &.-rejected { border-left: wide $foreground-muted; color: $foreground-muted; }
        &.-ok { border-left: wide $success; }
        &.-error { border-left: wide $error; }
        &.-undone {
            border-left: wide $foreground-muted;
            color: $foreground-muted;
            text-opacity: 80%;
        }
    }
    """

    STATE_LABELS: ClassVar[dict[str, tuple[str, str]]] = {
        "waiting": ("◌ waiting for approval  (a approve · r reject)", "$text-warning"),
        "running": ("▶ running…", "$text-primary"),
        "approved": ("▶ approved · running…", "$text-primary"),
        "rejected": ("✗ rejected", "$text-error"),
        "ok": ("✓ done", "$text-success"),
        "error": ("✗ failed", "$text-error"),
    }
    """What the state line says in each state, and its style (``approved``: the running
    line of an action the user approved)."""

    state: reactive[str] = reactive("running", layout=True, init=False)
    """Where the action is: waiting, running, rejected, ok or error (see `STATES`)."""

    def __init__(
        self,
        tool: str | CardData,
        arguments: Mapping[str, Any] | None = None,
        *,
        waiting: bool = False,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Create a card for a call of ``tool``; ``waiting`` when it awaits the user's approval.

        ``tool`` may instead be a card's `CardData` (``arguments`` and ``waiting`` are then
        not used): the card shows that data and keeps it up to date.
        """
        super().__init__(name=name, id=id, classes=classes)
        if isinstance(tool, CardData):
            self.data = tool
        else:
            self.data = CardData.of_call(tool, arguments or {}, waiting=waiting)
        """What the card shows (shared with the log that made it)."""
        self.set_reactive(ActionCard.state, self.data.state)
        if self.data.commit is not None:
            self.add_class("-committed")
        self.set_class(self.data.undone, "-undone")
        self._show_state()

    @property
    def tool(self) -> str:
        """The tool's name, as the model called it (cleaned for display)."""
        return self.data.tool

    @property
    def summary(self) -> str:
        """The arguments in one line."""
        return self.data.summary

    @property
    def fingerprint(self) -> str:
        """A digest of the call, to recognise the same call proposed again."""
        return self.data.fingerprint

    @property
    def committed(self) -> bool:
        """True once the action's step commit was made."""
        return self.data.commit is not None

    def mark_running(self, *, approved: bool = False) -> None:
        """The action is running: ``approved`` by the user, or it needed no approval."""
        self.data.state = "running"
        self.data.approved = self.data.approved or approved
        self.state = "running"
        self.refresh(layout=True)

    def mark_rejected(self, reason: str) -> None:
        """The user rejected the action, for ``reason`` (told to the agent)."""
        self.data.reject(reason)
        self.state = self.data.state
        self.refresh(layout=True)

    def mark_executed(self, ok: bool, output: str) -> None:
        """The action ran: ``ok`` or failed, with the first lines of ``output`` shown."""
        self.data.execute(ok, output)
        self.state = self.data.state
        self.refresh(layout=True)

    def mark_committed(self, short_sha: str, summary: str) -> None:
        """The action's step was committed as ``short_sha`` with subject ``summary``."""
        self.data.commit_as(short_sha, summary)
        self.add_class("-committed")
        self.refresh(layout=True)

    def mark_undone(self, undone: bool = True) -> None:
        """Its step was undone (``undone``), or redone (not ``undone``)."""
        self.data.undone = undone
        self.set_class(undone, "-undone")
        self.refresh(layout=True)

    def watch_state(self) -> None:
        """Keep the state classes (``-waiting`` …) in step with `state`."""
        self.data.state = self.state
        self._show_state()

    def _show_state(self) -> None:
        for state in STATES:
            self.set_class(state == self.state, f"-{state}")

    def render(self) -> Content:
        """The card's lines: tool and summary, the state line, then any output."""
        data = self.data
        label_key = "approved" if self.state == "running" and data.approved else self.state
        label, style = self.STATE_LABELS.get(label_key, (self.state, ""))
        if data.undone and data.commit is not None:
            label, style = UNDONE_LABEL  # a rejected proposal of the step stays "rejected"
        state_line: list[Content | tuple[str, str] | str] = [(label, style)]
        if self.state == "rejected" and data.reason:
            state_line.append((f": {clean_line(data.reason, SUMMARY_CHARS)}", style))
        if data.commit is not None:
            sha, subject = data.commit
            state_line += [
                ("  · was " if data.undone else "  · committed ", "$foreground-muted"),
                (sha, "bold"),
                (f" {subject}", "$foreground-muted"),
            ]
        parts: list[Content | tuple[str, str] | str] = [
            (data.tool, "bold"),
            "  ",
            data.summary,
            "\n",
            *state_line,
        ]
        if data.rule:
            parts += ["\n", (f"rule: {clean_line(data.rule, SUMMARY_CHARS)}", "$foreground-muted")]
        if data.note and (self.state == "waiting" or data.delegation is None):
            parts += ["\n", (clean_line(data.note, SUMMARY_CHARS), "$foreground-muted")]
        if data.delegation is not None:
            parts += ["\n", (data.delegation.fold_line(), "$text-accent")]
        output_style = "$text-error" if self.state == "error" else "$foreground-muted"
        for line in data.output:
            parts += ["\n", ("  " + line, output_style)]
        if data.more_output:
            more = f"  … {_count(data.more_output, 'more line')} · enter or click to see all"
            parts += ["\n", (more, "$foreground-muted")]
        return Content.assemble(*parts)
