"""Putting an agent together from settings: history, model client, sandbox, tools, watcher.

Both front ends — the TUI and ``autogpt-tui run`` — build their agent here, so they
behave the same; each passes its own ``emit``, ``approve`` and ``ask``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from autogpt_tui.core.agent import Agent, Approval, Budget
from autogpt_tui.core.events import Event, Notice, PendingAction
from autogpt_tui.core.history import History
from autogpt_tui.core.llm import ModelClient
from autogpt_tui.core.sandbox import CommandRunner
from autogpt_tui.core.tools import ToolRunner

if TYPE_CHECKING:
    from autogpt_tui.config import Settings
    from autogpt_tui.core.watcher import WorkspaceWatcher


NO_MODEL_SENTENCE = (
    "No model is configured: set OPENAI_API_KEY, pass --base-url (for example "
    "http://localhost:11434/v1 for Ollama), or set [model] in "
    "~/.config/autogpt-tui/config.toml."
)


@dataclass
class AgentSession:
    """An agent and the resources it holds; close it when done."""

    history: History
    agent: Agent
    client: ModelClient
    commands: CommandRunner
    watcher: WorkspaceWatcher | None

    def close(self) -> None:
        """Stop the watcher, the HTTP pool and git's helper processes."""
        if self.watcher is not None:
            self.watcher.stop()
        self.client.close()
        self.history.close()


def open_session(
    workspace: Path | History,
    settings: Settings,
    *,
    goal: str,
    mode: str | None = None,
    emit: Callable[[Event], None] | None = None,
    approve: Callable[[PendingAction], Approval] | None = None,
    ask: Callable[[str], str] | None = None,
    budget: Budget | None = None,
    watch: bool = True,
) -> AgentSession:
    """Build an agent on ``workspace`` as ``settings`` say; resumes the branch's session.

    ``workspace`` may be an open History, which the session then owns (and closes).
    """
    emit = emit or (lambda _event: None)
    history = workspace if isinstance(workspace, History) else History.open(workspace)
    try:
        sandbox = settings.sandbox
        commands = CommandRunner(
            history.root,
            sandbox=sandbox.enabled,
            default_timeout_s=sandbox.command_timeout_s,
            max_timeout_s=sandbox.max_command_timeout_s,
            max_output_chars=sandbox.max_output_chars,
        )
        tools = ToolRunner(history.root, commands, max_read_chars=sandbox.max_output_chars)
        model = settings.model
        client = ModelClient(
            model=model.model,
            base_url=model.base_url,
            api_key=settings.api_key_value(),
            request_timeout_s=model.request_timeout_s,
            idle_timeout_s=model.idle_timeout_s,
            max_retries=model.max_retries,
        )
        watcher = _start_watcher(history.root) if watch else None
        agent = Agent(
            history=history,
            model=client,
            tools=tools,
            goal=goal,
            mode=mode or settings.agent.mode,
            emit=emit,
            approve=approve,
            ask=ask,
            budget=budget
            or Budget(
                max_steps=settings.agent.max_steps,
                max_tokens=settings.agent.max_tokens,
                max_cost_usd=settings.agent.max_cost_usd,
            ),
            price=lambda name, i, o: _cost(settings, name, i, o),
            context_window=model.context_window,
            changed_by_user=_user_changes(watcher),
            model_name=model.model,
        )
    except BaseException:
        history.close()
        raise
    status = commands.sandbox_status
    if not status.active:
        emit(Notice(status.notice))
    if watcher is not None and watcher.notice:
        emit(Notice(watcher.notice))
    return AgentSession(history, agent, client, commands, watcher)


def _cost(settings: Settings, model: str, prompt_tokens: int, completion_tokens: int) -> float:
    price = settings.agent.price_for(model)
    return price.cost(prompt_tokens, completion_tokens) if price else 0.0


def _start_watcher(root: Path) -> WorkspaceWatcher | None:
    from autogpt_tui.core.watcher import WorkspaceWatcher

    try:
        watcher = WorkspaceWatcher(root)
        watcher.start()
    except OSError:
        return None  # without a watcher every step scans the tree: slower, still right
    return watcher


def _user_changes(watcher: WorkspaceWatcher | None) -> Callable[[], list[str] | None]:
    """Which files changed since the last step, from the watcher; None means scan all."""
    first = [True]

    def changed() -> list[str] | None:
        if watcher is None:
            return None
        # No settle() here: waiting for the file system to go quiet would cost every
        # step a debounce period. An edit racing the step is caught by the next one.
        changes = watcher.drain()
        if first[0]:
            # Edits made before the watcher started are unknown: scan once.
            first[0] = False
            return None
        if changes.overflow:
            return None
        return sorted(changes.paths)

    return changed
