"""Every key of the workstation, declared once.

The app's and the diff viewer's ``BINDINGS`` (and so the footer), the help screen and the
command palette are all drawn from :data:`ACTIONS`; before this table the keys were
written three times and had drifted apart (the help screen did not mention 1–4, the
palette left out the split view). ``When`` says when an action applies: the app's
``check_action`` hides the keys that do not, so the footer shows only what works now.

The keys are the interface contract (DESIGN.md, "Keys in the TUI"; README).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Literal

from textual.binding import Binding

__all__ = [
    "ACTIONS",
    "ALWAYS_SHOWN",
    "SECTIONS",
    "Action",
    "Owner",
    "When",
    "action_name",
    "bindings_for",
    "footer_priority",
    "help_sections",
    "when_of",
]


class When(Enum):
    """When an action applies (keys that do not apply are hidden from the footer)."""

    ALWAYS = "always"
    """At any time."""
    PENDING = "pending"
    """An action waits for approval."""
    HUNKS = "hunks"
    """A file edit of several hunks waits for approval (its hunks can be chosen)."""
    IDLE = "idle"
    """The agent is not working."""
    HAS_STEPS = "has_steps"
    """The history holds a step to rate or comment on."""
    DIFF_FOCUSED = "diff_focused"
    """The diff viewer has the focus (its own binding)."""
    TEAM = "team"
    """A team of agents (``--agents``) works on a plan: there is a plan to steer."""


Owner = Literal["app", "diff", "textual"]
"""Who binds the key: the app, the diff viewer, or Textual itself (tab, ctrl+p)."""

SECTIONS = ("Steering the agent", "Reviewing steps", "Getting around")
"""The help screen's sections, in order."""


@dataclass(frozen=True)
class Action:
    """One key: what it does, where it is bound, and where it is shown."""

    key: str
    """The key as people read it: ``s``, ``+``, ``?``, ``ctrl+p``."""
    action: str
    """The Textual action it runs, with its arguments: ``rate(1)``."""
    label: str
    """The footer's short label."""
    description: str
    """One sentence: the help screen's row and the palette's help text."""
    section: str
    """The help screen section it is listed in (one of :data:`SECTIONS`)."""
    when: When = When.ALWAYS
    """When it applies."""
    owner: Owner = "app"
    """Who binds the key."""
    key_names: str | None = None
    """Textual's key names when they differ from ``key`` (``plus,+``)."""
    title: str | None = None
    """The palette's title, when it says more than the label."""
    footer: bool = True
    """Shown in the footer (when it applies)."""
    palette: bool = True
    """Listed in the command palette."""
    help_key: str | None = None
    """The help row's key when the row covers several keys (``u / U``)."""
    help_text: str | None = None
    """The help row's text when it differs from the description (a shared row)."""
    in_help: bool = True
    """Has a row of its own on the help screen (False: another action's row covers it)."""
    priority: int = 50
    """How long the footer keeps the key when it is short of room: the lowest go first,
    keys of equal priority together, and `ALWAYS_SHOWN` never goes."""
    anywhere: bool = False
    """A panel's key that works whatever has the focus: the app binds it too, hidden, so
    the footer shows it only while the panel has the focus. Its action is the app's."""

    @property
    def palette_title(self) -> str:
        """The title the command palette lists it under."""
        return self.title or self.label

    def binding(self, *, hidden: bool = False) -> Binding:
        """The Textual binding for this key (``hidden``: kept out of the footer)."""
        show = self.footer and not hidden
        # A panel's key for an app action names the app (Textual's ``app.`` namespace).
        action = f"app.{self.action}" if self.anywhere and not hidden else self.action
        if self.key_names is None:
            return Binding(self.key, action, self.label, show=show)
        return Binding(self.key_names, action, self.label, show=show, key_display=self.key)


_STEER, _REVIEW, _AROUND = SECTIONS

ALWAYS_SHOWN = 100
"""The priority of the keys the footer never drops: help and quit (the way to every other
key, and the way out)."""

ACTIONS: tuple[Action, ...] = (
    Action(
        "s",
        "step",
        "Step",
        "Take one step (in step mode: propose it and wait for you).",
        _STEER,
        When.IDLE,
        priority=80,
    ),
    Action(
        "a", "approve", "Approve",
        "Approve the pending action: the agent carries it out (of an edit, the accepted "
        "hunks).",
        _STEER, When.PENDING,
        priority=90,
    ),
    Action(
        "A", "always_allow", "Always",
        "Approve the pending action, and always allow ones like it: writes a rule to your "
        "config.",
        _STEER, When.PENDING, title="Always allow",
        priority=65,
    ),
    Action(
        "r", "reject", "Reject", "Reject the pending action, with a reason the agent is told.",
        _STEER, When.PENDING,
        priority=90,
    ),
    Action(
        "space", "toggle_hunk", "Accept/reject hunk",
        "Accept or reject the current hunk of the proposed edit; a applies those accepted.",
        _STEER, When.HUNKS, title="Accept or reject the hunk",
        priority=88,
    ),
    Action(
        "]", "next_hunk", "Next hunk", "Go to the next hunk of the proposed edit.", _STEER,
        When.HUNKS, key_names="right_square_bracket", help_key="[ / ]",
        help_text="Go to the previous or next hunk of the proposed edit.",
        priority=87,
    ),
    Action(
        "[", "previous_hunk", "Prev hunk", "Go to the previous hunk of the proposed edit.",
        _STEER, When.HUNKS, key_names="left_square_bracket", title="Previous hunk",
        in_help=False,
        priority=44,
    ),
    Action(
        "m", "cycle_mode", "Mode", "Cycle the approval mode: step → edits → auto.", _STEER,
        title="Cycle mode",
        priority=40,
    ),
    Action(
        "p", "pause", "Pause/Run", "Pause the agent, or let it carry on until it is done.",
        _STEER, title="Pause / run",
        priority=70,
    ),
    Action(
        "u", "undo", "Undo", "Undo the last step. Your own files are kept.", _REVIEW, When.IDLE,
        help_key="u / U", help_text="Undo the last step, or redo it. Your own files are kept.",
        priority=60,
    ),
    Action(
        "U", "redo", "Redo", "Redo the last undone step.", _REVIEW, When.IDLE, in_help=False,
        priority=20,
    ),
    Action(
        "+", "rate(1)", "Rate +", "Rate the selected step (the latest by default) up.", _REVIEW,
        When.HAS_STEPS, key_names="plus,+", title="Rate +1", help_key="+ / -",
        help_text="Rate the selected step (the latest by default) up or down.",
        priority=50,
    ),
    Action(
        "-", "rate(-1)", "Rate -", "Rate the selected step (the latest by default) down.",
        _REVIEW, When.HAS_STEPS, key_names="minus,-", title="Rate -1", in_help=False,
        priority=50,
    ),
    Action(
        "0", "rate(0)", "Clear rating",
        "Clear the selected step's rating (the −1 an undo counted too).", _REVIEW,
        When.HAS_STEPS, footer=False,
    ),
    Action(
        "c", "comment", "Comment",
        "Comment on the selected step: what was good or wrong about it.", _REVIEW,
        When.HAS_STEPS,
        priority=35,
    ),
    Action(
        "i", "message", "Message",
        "Tell the agent something in your own words: it reads it with its next request.",
        _STEER, title="Message the agent", priority=48,
    ),
    Action(
        "g", "edit_goal", "Goal",
        "Set the goal: a new goal starts a new session (S resumes the old one).", _STEER,
        title="Edit goal",
        priority=30,
    ),
    Action(
        "n", "skip_subgoal", "Skip subgoal",
        "Skip the plan's current subgoal: the coder goes on with the next one (a team only).",
        _STEER, When.TEAM, help_key="n / N",
        help_text="A team: skip the current subgoal, or plan again.",
        priority=46,
    ),
    Action(
        "N", "replan", "Replan", "Have the planner write a new plan for what is left.",
        _STEER, When.TEAM, in_help=False, footer=False, title="Replan",
    ),
    Action(
        "S", "sessions", "Sessions",
        "Pick a session to resume: its goal, steps and meters come back.", _STEER,
        footer=False, title="Switch session",
    ),
    Action(
        "R", "rewards", "Rewards", "What your ratings taught: the policy arms and the lessons.",
        _REVIEW, footer=False,
    ),
    Action(
        "v", "toggle_split", "Split view",
        "Show the diff side by side (from 160 columns), or as one column.", _REVIEW,
        When.DIFF_FOCUSED, owner="diff", anywhere=True, priority=45,
    ),
    Action(
        "z", "toggle_full_diff", "Full screen",
        "Show the diff on the whole screen, or back among the panels.", _REVIEW,
        When.DIFF_FOCUSED, owner="diff", anywhere=True, title="Full-screen diff", priority=55,
    ),
    Action(
        "tab", "focus_next", "Next panel", "Move to the next panel; shift+tab goes back.",
        _AROUND, owner="textual", palette=False,
    ),
    Action(
        "ctrl+p", "command_palette", "Palette",
        "The command palette: search every command and theme.", _AROUND, owner="textual",
        palette=False,
        priority=25,
    ),
    Action(
        "?", "help", "Help", "Show this help: the keys and how the workstation works.",
        _AROUND, key_names="question_mark",
        priority=ALWAYS_SHOWN,
    ),
    # Textual's palette has its own Quit, which runs the same action.
    Action(
        "q", "quit", "Quit", "Quit. The workspace and its history stay as they are.", _AROUND,
        palette=False,
        priority=ALWAYS_SHOWN,
    ),
    Action(
        "1", "show_panel('log')", "Log", "Show the live thought and action log.", _AROUND,
        footer=False, title="Show log", help_key="1–4",
        help_text="Go to the log, diff, history or files (a narrow terminal shows one).",
    ),
    Action(
        "2", "show_panel('diff')", "Diff", "Show the diff viewer.", _AROUND, footer=False,
        title="Show diff", in_help=False,
    ),
    Action(
        "3", "show_panel('history')", "History", "Show the step history.", _AROUND,
        footer=False, title="Show history", in_help=False,
    ),
    Action(
        "4", "show_panel('files')", "Files", "Show the workspace files.", _AROUND, footer=False,
        title="Show files", in_help=False,
    ),
)  # fmt: skip
"""Every key, in the order the footer and the help screen show them."""


def action_name(action: str) -> str:
    """The action without its arguments: ``rate(1)`` → ``rate``."""
    return action.partition("(")[0]


_WHEN: dict[tuple[Owner, str], When] = {(a.owner, action_name(a.action)): a.when for a in ACTIONS}


def when_of(action: str, owner: Owner = "app") -> When:
    """When the action named ``action`` (arguments left out) applies; ALWAYS if unknown."""
    return _WHEN.get((owner, action_name(action)), When.ALWAYS)


_PRIORITY: dict[str, int] = {action_name(a.action): a.priority for a in ACTIONS}


def footer_priority(action: str) -> int:
    """How long the footer keeps the key of ``action`` when short of room (see `Action`)."""
    return _PRIORITY.get(action_name(action).removeprefix("app."), 50)


def bindings_for(owner: Owner) -> list[Binding]:
    """The bindings ``owner`` declares, in table order; the app's end with the panel keys
    that work anywhere, hidden (see `Action.anywhere`)."""
    own = [a.binding() for a in ACTIONS if a.owner == owner]
    if owner == "app":
        own += [a.binding(hidden=True) for a in ACTIONS if a.anywhere]
    return own


def help_sections() -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """The help screen's rows by section: (section, [(key, what it does)])."""
    for section in SECTIONS:
        rows = [
            (a.help_key or a.key, a.help_text or a.description)
            for a in ACTIONS
            if a.section == section and a.in_help
        ]
        yield section, rows
