"""A step's full transcript: its thought, each proposal, the call and all its output.

A card in the log shows the first lines of an action's output; this screen shows the
whole step as its record in git keeps it (the notes, the proposals rejected before it,
the thought, the call with every argument, the full output and the usage), scrollable.
A step not committed yet has no record: the screen then shows what its card knows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Static
from textual.worker import get_current_worker

from autogpt_tui.core.errors import UserError
from autogpt_tui.ui.widgets.action_card import ActionCard, clean_line

if TYPE_CHECKING:
    from autogpt_tui.core.record_models import DelegationRecord
    from autogpt_tui.core.records import StepCommit
    from autogpt_tui.ui.widgets.action_log import CardTranscript

LINE_CHARS = 4_000
"""Longest line of output shown (a minified file can hold one line of megabytes)."""
CLOSE_HINT = "escape · q to close"
"""What the border says about leaving the transcript."""
LOADING = "Reading the step's record…"
"""What the screen says until the record is read."""


class TranscriptScreen(ModalScreen[None]):
    """A step's full transcript, scrollable, over the workstation."""

    DEFAULT_CSS = """
    TranscriptScreen {
        align: center middle;
    }
    TranscriptScreen > #transcript {
        width: 100%;
        height: 100%;
        padding: 0 1;
        border: round $primary;
        border-title-color: $text-primary;
        border-title-style: bold;
        border-subtitle-color: $text-muted;
        background: $surface;
    }
    TranscriptScreen .transcript-section {
        margin-top: 1;
        color: $text-primary;
        text-style: bold;
    }
    TranscriptScreen .transcript-section.-first {
        margin-top: 0;
    }
    TranscriptScreen .transcript-thought {
        padding: 0;
        margin: 0;
    }
    TranscriptScreen .transcript-text {
        color: $foreground;
    }
    TranscriptScreen .transcript-muted {
        color: $foreground-muted;
    }
    TranscriptScreen .transcript-output {
        color: $foreground;
        background: $boost;
        padding: 0 1;
    }
    TranscriptScreen .transcript-output.-error {
        color: $text-error;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("q", "close", "Close", show=False),
    ]

    class Loaded(Message):
        """From the worker: the step with its record (None: it could not be read)."""

        def __init__(self, step: StepCommit | None, error: str | None = None) -> None:
            super().__init__()
            self.step = step
            self.error = error

    def __init__(self, workspace: Path, transcript: CardTranscript) -> None:
        super().__init__()
        self.workspace = workspace
        """The workspace whose history holds the step's record."""
        self.transcript = transcript
        """The card the user opened, its step and its commit."""
        self.ready = False
        """True once the transcript is on the screen (the record read, or the card's)."""

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="transcript"):
            yield Static(LOADING, classes="transcript-muted", markup=False)

    def on_mount(self) -> None:
        scroll = self.query_one("#transcript", VerticalScroll)
        t = self.transcript
        scroll.border_title = f"step {t.step} · {t.card.tool}" + (
            f" · {t.sha[:8]}" if t.sha else ""
        )
        scroll.border_subtitle = CLOSE_HINT
        scroll.focus()  # the arrow keys and page up/down scroll the transcript
        if t.sha is None:
            self.call_later(self._show, _from_card(t))
        else:
            self.load(t.sha)

    @work(thread=True, exclusive=True, exit_on_error=False, group="transcript")
    def load(self, sha: str) -> None:
        """Read the step's record off the UI thread (its own History: one per thread)."""
        from autogpt_tui.core.history import History

        try:
            with History.open(self.workspace, create=False) as history:
                step = history.resolve(sha)
        except UserError as err:
            self.post_message(self.Loaded(None, str(err)))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(self.Loaded(step))

    async def on_transcript_screen_loaded(self, message: Loaded) -> None:
        if message.step is None or message.step.record is None:
            why = message.error or "The step has no record in this workspace."
            await self._show([_muted(why), *_from_card(self.transcript)])
            return
        step = message.step
        if step.tool:
            # A step of several reads has a card per read: the commit names the step's tool.
            scroll = self.query_one("#transcript", VerticalScroll)
            scroll.border_title = f"step {step.step} · {step.tool} · {step.short_sha}"
        await self._show(_from_record(step))

    async def _show(self, widgets: list[Widget]) -> None:
        scroll = self.query_one("#transcript", VerticalScroll)
        await scroll.remove_children()
        if widgets:
            widgets[0].add_class("-first")
        await scroll.mount_all(widgets)
        self.ready = True

    def action_close(self) -> None:
        """Close the transcript and return to the log."""
        self.dismiss(None)


def _section(title: str) -> Static:
    return Static(Content(title), classes="transcript-section")


def _text(text: str) -> Static:
    return Static(Content(_printable(text)), classes="transcript-text", markup=False)


def _muted(text: str) -> Static:
    return Static(Content(_printable(text)), classes="transcript-muted", markup=False)


def _thought(text: str) -> Widget:
    """A thought, drawn as Markdown as in the log (every block of it)."""
    from autogpt_tui.ui.widgets.agent_thought import AgentThought

    return AgentThought(text, max_blocks=None, classes="transcript-thought")


def _output(text: str, *, ok: bool = True) -> Static:
    classes = "transcript-output" if ok else "transcript-output -error"
    return Static(Content(_printable(text) or "(no output)"), classes=classes, markup=False)


def _printable(text: str) -> str:
    """Every line of ``text``, with terminal escapes and control characters taken out."""
    return "\n".join(clean_line(line, LINE_CHARS) for line in text.rstrip("\n").split("\n"))


def _call(tool: str, arguments: Any) -> list[Widget]:
    """A tool call: its name and every argument, in full.

    A text of several lines (a file's new content, a script) is shown as written, under
    its name, rather than as one JSON string full of ``\\n``.
    """
    if not isinstance(arguments, dict):
        return [_text(tool), _output(str(arguments))]  # the model's text, not JSON
    texts = {k: v for k, v in arguments.items() if isinstance(v, str) and "\n" in v}
    rest = {k: v for k, v in arguments.items() if k not in texts}
    widgets: list[Widget] = [_text(tool)]
    if rest or not texts:
        shown = json.dumps(rest, indent=2, ensure_ascii=False) if rest else "(no arguments)"
        widgets.append(_output(shown))
    for name, text in texts.items():
        widgets += [_muted(f"{name}:"), _output(text)]
    return widgets


def _from_record(step: StepCommit) -> list[Widget]:
    """The whole step as its record keeps it."""
    record = step.record
    assert record is not None
    widgets: list[Widget] = [
        _muted(f"{step.summary} · session {step.session} · commit {step.short_sha}"),
    ]
    if step.undone:
        widgets.append(_muted("↶ This step was undone."))
    if record.notes:
        widgets.append(_section("Told before the step"))
        widgets += [_text(note) for note in record.notes]
    for number, rejected in enumerate(record.rejected, start=1):
        widgets.append(_section(f"Proposal {number}, rejected"))
        if rejected.thought:
            widgets.append(_thought(rejected.thought))
        widgets += _call(rejected.tool, rejected.arguments)
        widgets.append(_muted(f"Rejected: {rejected.reason or 'no reason given'}"))
    widgets.append(_section("Thought"))
    widgets.append(_thought(record.thought) if record.thought else _muted("(no thought)"))
    if record.calls:
        # A reply of several calls (reads run as one step): each call and its output.
        count = len(record.calls)
        for n, call in enumerate(record.calls, start=1):
            how = "" if call.outcome == "ran" else f", {call.outcome.replace('_', ' ')}"
            widgets.append(_section(f"Call {n} of {count}{how}"))
            widgets += _call(call.tool, call.arguments)
            widgets.append(_output(call.observation, ok=call.ok))
    else:
        widgets.append(_section("Call"))
        widgets += _call(record.tool, record.arguments)
        widgets.append(_section("Output" if record.ok else "Output (the tool reported an error)"))
        widgets.append(_output(record.observation, ok=record.ok))
    if record.delegation is not None:
        widgets += _delegation(record.delegation)
    usage = record.usage
    estimated = " (estimated)" if usage.estimated else ""
    widgets.append(
        _muted(
            f"{usage.prompt_tokens:,} prompt + {usage.completion_tokens:,} completion "
            f"tokens{estimated} · ${record.cost_usd:.4f} · model {record.model or '?'} "
            f"· policy {record.policy or step.policy}"
        )
    )
    return widgets


DELEGATION_ENDS = {
    "finished": "it called finish",
    "step_cap": "it used all its steps without a summary",
    "stopped": "you stopped it",
    "budget": "a budget ran out",
    "error": "its model failed",
}
"""How a delegation ended, in words."""


def _delegation(delegation: DelegationRecord) -> list[Widget]:
    """A delegate step's sub-agent: each of its steps, its calls and their output."""
    count = len(delegation.steps)
    ended = DELEGATION_ENDS.get(delegation.outcome, delegation.outcome)
    widgets: list[Widget] = [
        _section(
            f"Delegated: {count} step{'s' if count != 1 else ''} of at most "
            f"{delegation.max_steps}, read-only"
        ),
        _muted(f"Task: {delegation.task} · model {delegation.model or '?'} · ended: {ended}"),
    ]
    for n, step in enumerate(delegation.steps, start=1):
        widgets.append(_section(f"Sub-step {n} of {count}"))
        if step.thought:
            widgets.append(_thought(step.thought))
        if not step.calls:
            widgets.append(_muted("(no tool call: it was asked for one)"))
        for call in step.calls:
            how = "" if call.outcome == "ran" else f" ({call.outcome.replace('_', ' ')})"
            widgets += _call(call.tool + how, call.arguments)
            widgets.append(_output(call.observation, ok=call.ok))
    return widgets


def _from_card(transcript: CardTranscript) -> list[Widget]:
    """What the card shows, for a step that has no record yet."""
    card = transcript.card
    label, _style = ActionCard.STATE_LABELS.get(card.state, (card.state, ""))
    widgets: list[Widget] = [
        _muted("Not committed yet: the full record is kept once the step is committed."),
        _section("Thought"),
        _thought(transcript.thought) if transcript.thought else _muted("(no thought)"),
        _section("Call"),
        _text(f"{card.tool}  {card.summary}"),
        _muted(label + (f": {card.reason}" if card.reason else "")),
    ]
    if card.delegation is not None and card.delegation.calls:
        widgets.append(_section(f"Delegated so far: {card.delegation.sub_steps} steps"))
        widgets += [_text(line) for line in card.delegation.calls]
    if card.output:
        widgets.append(_section("Output (the first lines)"))
        widgets.append(_output("\n".join(card.output), ok=card.state != "error"))
        if card.more_output:
            widgets.append(_muted(f"… {card.more_output:,} more lines, kept once committed"))
    return widgets
