"""Putting an agent together from settings: history, model client, sandbox, tools, watcher.

Both front ends — the TUI and ``autogpt-tui run`` — build their agent here, so they
behave the same; each passes its own ``emit`` and, the TUI only, a ``UserChannel``.
The budget comes from the settings here too (``budget_from``), for both.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from autogpt_tui.core.agent import (
    Agent,
    Budget,
    ModelProfile,
    PolicyChoice,
    PolicySource,
    StepHooks,
    UserChannel,
)
from autogpt_tui.core.delegation import DelegateConfig
from autogpt_tui.core.events import CommandsNeedApproval, CostUnenforceable, Event, Notice
from autogpt_tui.core.history import History
from autogpt_tui.core.llm import ModelClient
from autogpt_tui.core.lock import WorkspaceLock
from autogpt_tui.core.mcp.toolbox import McpToolbox, open_toolbox, server_secrets
from autogpt_tui.core.pricing import Pricing, unpriced_sentence
from autogpt_tui.core.records import StepCommit
from autogpt_tui.core.redact import Redactor
from autogpt_tui.core.sandbox import CommandRunner
from autogpt_tui.core.tools import ToolRunner

if TYPE_CHECKING:
    from autogpt_tui.core.settings import Settings
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
    changes: UserChanges
    lock: WorkspaceLock | None = None
    """The workspace lock the session took itself (None: its caller holds one)."""
    mcp: McpToolbox | None = None
    """The MCP servers' connections, when the user declared any (core/mcp/)."""

    @property
    def watcher(self) -> WorkspaceWatcher | None:
        """The workspace watcher, once the session has started it."""
        return self.changes.watcher

    def close(self) -> None:
        """Stop the watcher, the HTTP pool and git's helper processes; give up the
        workspace lock if the session took it."""
        self.changes.stop()
        if self.mcp is not None:
            self.mcp.close()  # its servers' processes end with the session
        self.client.close()
        self.history.close()
        if self.lock is not None:
            self.lock.release()


class UserChanges:
    """Which files changed between steps, from a watcher started off the critical path.

    Starting the watcher (and probing the sandbox) costs tens of milliseconds that the
    first model request need not wait for, so both happen on a side thread. Until the
    watcher runs, and once right after it starts, the answer is None: "scan the whole
    working tree", which is always right, only slower.
    """

    def __init__(
        self,
        root: Path,
        *,
        watch: bool,
        warmup: Callable[[], None],
        notice: Callable[[str], None],
        watcher: WorkspaceWatcher | None = None,
    ) -> None:
        self._root = root
        # A watcher the caller owns and shares (the TUI's file tree subscribes to it).
        self._shared = watcher if watcher is not None and watcher.root == root.resolve() else None
        self._notice = notice
        self._watch = watch
        self._warmup = warmup
        self._watcher: WorkspaceWatcher | None = None
        self._scanned_since_start = False
        self._lock = threading.Lock()
        self._stopped = False
        self._thread = threading.Thread(target=self._start, name="session-warmup", daemon=True)

    def begin(self) -> None:
        """Start the watcher and the sandbox probe on a side thread (once).

        Called once the first model request is on its way: both are CPU work that would
        otherwise compete with that request for the interpreter.
        """
        with self._lock:
            if self._thread.ident is None and not self._stopped:
                self._thread.start()

    def _start(self) -> None:
        self._warmup()
        if not self._watch:
            return
        from autogpt_tui.core.watcher import WorkspaceWatcher

        try:
            watcher = self._shared or WorkspaceWatcher(self._root)
            watcher.start()
        except OSError:
            return  # without a watcher every step scans the tree: slower, still right
        with self._lock:
            if self._stopped:
                watcher.stop()
                return
            self._watcher = watcher
        if watcher.notice:
            self._notice(watcher.notice)  # e.g. polling because inotify ran out

    @property
    def watcher(self) -> WorkspaceWatcher | None:
        """The watcher, once started (None before, or when it could not start)."""
        with self._lock:
            return self._watcher

    def __call__(self) -> list[str] | None:
        with self._lock:
            watcher = self._watcher
        if watcher is None:
            return None
        changes = watcher.drain()
        if not self._scanned_since_start:
            # Edits made before the watcher started are unknown: scan once more.
            self._scanned_since_start = True
            return None
        # No waiting here for the file system to go quiet: it would cost every
        # step a debounce period. An edit racing the step is caught by the next one.
        if changes.overflow:
            return None
        return sorted(changes.paths)

    def stop(self) -> None:
        """Stop the watcher (waiting for the side thread to finish starting it)."""
        with self._lock:
            self._stopped = True
            started = self._thread.ident is not None
        if started:
            # No timeout: the thread's work is bounded (the sandbox probe times out after
            # 10 s, then the watcher starts), and a thread left running at interpreter
            # exit, perhaps mid-import, can crash the process as it ends.
            self._thread.join()
        with self._lock:
            watcher, self._watcher = self._watcher, None
        if watcher is not None and watcher is not self._shared:
            watcher.stop()


def budget_from(settings: Settings) -> Budget:
    """The run's limits as the settings say (command-line flags are among their sources)."""
    agent = settings.agent
    return Budget(
        max_steps=agent.max_steps, max_tokens=agent.max_tokens, max_cost_usd=agent.max_cost_usd
    )


def cost_warnings(
    settings: Settings, budget: Budget | None = None, pricing: Pricing | None = None
) -> list[CostUnenforceable]:
    """One warning per model (the configured one and the policy arms') that has no known
    price while a cost budget is set: that budget cannot stop anything.

    May import genai-prices (~0.4 s): a UI calls it off its event loop.
    """
    budget = budget or budget_from(settings)
    if budget.max_cost_usd is None:
        return []
    pricing = pricing or Pricing(settings.agent, settings.model.base_url)
    models = [settings.model.model, *(arm.model for arm in settings.policy.arms if arm.model)]
    models += [settings.agent.delegate_model] if settings.agent.delegate_model else []
    return [
        CostUnenforceable(unpriced_sentence(name, budget.max_cost_usd), model=name)
        for name in dict.fromkeys(models)
        if not pricing.is_priced(name)
    ]


def open_session(
    workspace: Path | History,
    settings: Settings,
    *,
    goal: str,
    mode: str | None = None,
    emit: Callable[[Event], None] | None = None,
    user: UserChannel | None = None,
    budget: Budget | None = None,
    watch: bool = True,
    watcher: WorkspaceWatcher | None = None,
    lock: WorkspaceLock | None = None,
    session: str | None = None,
) -> AgentSession:
    """Build an agent on ``workspace`` as ``settings`` say; resumes the branch's session.

    ``session`` resumes that session (an id: core/sessions.py chooses it); None keeps the
    loop's rule: the branch's latest session when it is unfinished and has this goal.

    ``workspace`` may be an open History, which the session then owns (and closes).
    ``user`` None runs headless; ``budget`` None takes the settings' (``budget_from``).
    ``watcher``, when it watches the repository's root, is used instead of a watcher of
    the session's own; its owner stops it.

    One agent works in a workspace at a time: ``lock`` is the workspace lock its caller
    holds; without one the session takes it (WorkspaceLocked, naming the holder, when
    another agent has it) and gives it up on close. A repository in the middle of a
    merge, rebase, … is refused (RepositoryBusy) before anything is built.
    """
    from autogpt_tui.core.settings import permissions_for

    emit = emit or (lambda _event: None)
    history = workspace if isinstance(workspace, History) else History.open(workspace)
    history.agent_name = settings.history.agent_name
    history.agent_email = settings.history.agent_email
    owned: WorkspaceLock | None = None
    mcp: McpToolbox | None = None
    try:
        if lock is None:
            owned = WorkspaceLock.acquire(history.common_dir, command="agent")
        history.ensure_quiet()
        sandbox = settings.sandbox
        commands = CommandRunner(
            history.root,
            sandbox=sandbox.enabled,
            default_timeout_s=sandbox.command_timeout_s,
            max_timeout_s=sandbox.max_command_timeout_s,
            max_output_chars=sandbox.max_output_chars,
            capture=sandbox.capture,
            allow_read=sandbox.allow_read,
            env=sandbox.env,
        )
        runner = ToolRunner(history.root, commands, max_read_chars=sandbox.max_output_chars)
        tools = open_toolbox(runner, settings.mcp.servers, lambda text: emit(Notice(text)))
        mcp = tools if isinstance(tools, McpToolbox) else None
        model = settings.model
        client = ModelClient(
            model=model.model,
            base_url=model.base_url,
            api_key=settings.api_key_value(),
            request_timeout_s=model.request_timeout_s,
            idle_timeout_s=model.idle_timeout_s,
            max_retries=model.max_retries,
            max_tool_args_bytes=model.max_tool_args_bytes,
        )

        def warmup() -> None:
            status = commands.sandbox_status  # probes bubblewrap once: a process or two
            # Copy capture under auto is said in the status sentence; only a configured
            # overlay that cannot work here is worth a warning of its own.
            if not status.active or status.capture_fallback:
                emit(Notice(status.notice))
            if status.approval_reason is not None:
                emit(CommandsNeedApproval(status.approval_reason))
            # The model's price (genai-prices takes ~0.4 s to import) is looked up while
            # the first request is under way, not when its reply has to be costed.
            pricing.price(model.model)

        pricing = Pricing(settings.agent, model.base_url)
        budget = budget or budget_from(settings)
        # Said before the first request, so no money is spent on a budget that can't work.
        for warning in cost_warnings(settings, budget, pricing):
            emit(warning)
        rewards = _Rewards(history, settings, commands)
        changes = UserChanges(
            history.root,
            watch=watch,
            warmup=warmup,
            notice=lambda message: emit(Notice(message)),
            watcher=watcher,
        )
        agent = Agent(
            history=history,
            model=client,
            tools=tools,
            goal=goal,
            mode=mode or settings.agent.mode,
            emit=emit,
            user=user,
            budget=budget,
            profile=ModelProfile(
                name=model.model,
                context_window=model.context_window,
                price=pricing,
            ),
            policy=PolicySource(
                choose=rewards.choose, resume=rewards.arm, lessons=rewards.prompt_section
            ),
            redactor=Redactor(
                [settings.api_key_value(), *server_secrets(settings.mcp.servers)],
                environ=os.environ,
            ),
            permissions=permissions_for(settings, history.root),
            hooks=StepHooks(
                changed_by_user=changes,
                on_first_request=changes.begin,
                after_step=rewards.after_step,
            ),
            session=session,
            delegation=DelegateConfig(
                settings.agent.delegate_max_steps, settings.agent.delegate_model
            ),
        )
    except BaseException:
        if mcp is not None:
            mcp.close()
        history.close()
        if owned is not None:
            owned.release()
        raise
    return AgentSession(history, agent, client, commands, changes, owned, mcp)


class _Rewards:
    """What the user's ratings teach the agent: the arm it works with and its lessons.

    Built on the agent's own History (same thread); refreshed before each request, so a
    rating given meanwhile (in the TUI or with `autogpt-tui rate`) counts at once.
    """

    def __init__(self, history: History, settings: Settings, commands: CommandRunner) -> None:
        from autogpt_tui.core.learning import RewardModel

        self._history = history
        self._arms = {arm.name: arm for arm in settings.policy.arms}
        self._model = RewardModel.load(
            history, list(self._arms), reviewer_weight=settings.rewards.reviewer_weight
        )
        self._commands = commands
        self._check = settings.rewards.check
        # The check's result before the next step: the baseline is taken once, up front.
        self._passing: bool | None = self._run_check() if self._check else None

    def choose(self) -> PolicyChoice:
        """Thompson-sample the arm for a new session (the ratings so far count)."""
        self._model.refresh(self._history)
        name = self._model.choose_arm()
        arm = self.arm(name)
        assert arm is not None  # choose_arm picks among the configured arms
        return arm

    def arm(self, name: str) -> PolicyChoice | None:
        """The configured arm called ``name``; None when there is none (any more)."""
        arm = self._arms.get(name)
        if arm is None:
            return None
        return PolicyChoice(arm.name, arm.temperature, arm.instructions, arm.model)

    def prompt_section(self, goal: str, recent: list[str]) -> str:
        """The lessons most relevant to the goal and the recent actions.

        The model is refreshed first, so a rating given meanwhile counts at once."""
        self._model.refresh(self._history)
        return self._model.prompt_section(goal, recent)

    def after_step(self, step: StepCommit, changed: list[str] | None) -> None:
        """Run the workspace's check after a step that changed files; reward the change."""
        if not self._check or changed == []:
            return
        from autogpt_tui.core.learning import rate_check

        passing = self._run_check()
        if self._passing is not None and passing != self._passing:
            detail = "the check now passes" if passing else "the check now fails"
            rate_check(self._history, step.sha, passing, f"{detail}: {self._check}")
        self._passing = passing

    def _run_check(self) -> bool:
        assert self._check is not None
        # On an overlay (or a copy), then dropped: the check never leaves changes behind.
        with self._commands.run_captured(self._check) as run:
            return run.result.exit_code == 0
