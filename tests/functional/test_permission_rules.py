"""Permission rules in the real step loop, against the scripted model server.

Each rule kind through the agent: allow runs without asking even in step mode, ask asks
even in auto mode, deny refuses without asking and the model is told why; a chained
command never rides on an allow for its first part; "always allow" writes a rule that
the next identical proposal runs under.
"""

from __future__ import annotations

import os
import shutil
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from autogpt_tui.core.agent import Approval
from autogpt_tui.core.events import ActionRejected, Notice, PendingAction, RuleAdded
from autogpt_tui.core.permissions import PermissionRule, Permissions, SourcedRule
from autogpt_tui.core.sandbox import CommandRunner
from autogpt_tui.core.tools import ToolRunner
from tests.functional.test_agent import Harness, call, tool_messages
from tests.support.scripted_llm import ScriptedLLM


@pytest.fixture
def harness(workspace: Path, llm_server: ScriptedLLM) -> Iterator[Harness]:
    h = Harness(workspace, llm_server)
    yield h
    h.close()


def rules(root: Path, *specs: tuple[str, str, str], user_file: Path | None = None) -> Permissions:
    return Permissions(
        [
            SourcedRule(PermissionRule(tool=t, pattern=p, action=a), "user", user_file)  # type: ignore[arg-type]
            for t, p, a in specs
        ],
        root=root,
        user_file=user_file,
    )


class Asked:
    """An approval callback that records what it was asked, and answers ``answer``."""

    def __init__(self, answer: Approval | None = None) -> None:
        self.tools: list[str] = []
        self.actions: list[PendingAction] = []
        self.answer = answer or Approval.approve()

    def __call__(self, action: PendingAction) -> Approval:
        self.tools.append(action.tool)
        self.actions.append(action)
        return self.answer


def test_allow_runs_a_command_without_asking_in_step_mode(harness: Harness) -> None:
    h = harness
    h.server.script(
        call("run_command", command="echo allowed > out.txt"),
        call("finish", summary="ok"),
    )
    asked = Asked()
    perms = rules(h.root, ("run_command", "echo *", "allow"))
    result = h.agent(mode="step", approve=asked, permissions=perms).run()
    assert result.outcome == "finished"
    assert asked.tools == ["finish"]  # the command never waited; finish did, as step mode says
    assert (h.root / "out.txt").read_text() == "allowed\n"


def test_allow_runs_headless_in_step_mode_too(harness: Harness) -> None:
    h = harness
    h.server.script(
        call("write_file", path="docs/a.md", content="a\n"),
        call("finish", summary="ok"),
    )
    perms = rules(h.root, ("write_file", "docs", "allow"), ("finish", "*", "allow"))
    result = h.agent(mode="step", permissions=perms).run()
    assert result.outcome == "finished"
    assert (h.root / "docs" / "a.md").read_text() == "a\n"
    assert not h.of(ActionRejected)


def test_ask_asks_even_in_auto_mode(harness: Harness) -> None:
    h = harness
    h.server.script(
        call("write_file", path="a.txt", content="a\n"),
        call("run_command", command="git push origin main"),
        call("finish", summary="ok"),
    )
    asked = Asked(Approval.reject("Not today."))
    perms = rules(h.root, ("run_command", "git push*", "ask"))
    result = h.agent(mode="auto", approve=asked, permissions=perms).run()
    assert result.outcome == "finished"
    assert asked.tools == ["run_command"]  # the edit and finish ran as auto mode says
    assert asked.actions[0].permission == "ask"
    assert asked.actions[0].rule == "ask run_command `git push*` in your config"


def test_ask_headless_refuses_and_says_which_rule(harness: Harness) -> None:
    h = harness
    h.server.script(call("run_command", command="git push"), call("finish", summary="ok"))
    perms = rules(h.root, ("run_command", "git push*", "ask"))
    assert h.agent(mode="auto", permissions=perms).run().outcome == "finished"
    [rejected] = h.of(ActionRejected)
    assert "permission rule (ask run_command `git push*` in your config)" in rejected.reason
    assert "no user is available" in rejected.reason


def test_deny_refuses_without_asking_and_the_model_is_told(harness: Harness) -> None:
    h = harness
    h.server.script(
        call("run_command", command="ls && rm -rf src"),
        call("finish", summary="could not"),
    )
    asked = Asked()
    perms = rules(h.root, ("*", "*", "allow"), ("run_command", "rm *", "deny"))
    result = h.agent(mode="step", approve=asked, permissions=perms).run()
    assert result.outcome == "finished"
    assert asked.tools == []  # deny beat the allow-everything rule, and nobody was asked
    assert (h.root / "src" / "app.py").exists()
    [rejected] = h.of(ActionRejected)
    assert rejected.reason.startswith(
        "The user's permission rules refuse this run_command call "
        "(deny run_command `rm *` in your config)."
    )
    assert tool_messages(h.server.requests[1])[-1].endswith(rejected.reason)


def test_a_path_deny_is_not_escaped_with_dot_dot(harness: Harness) -> None:
    h = harness
    (h.root / "secrets").mkdir()
    (h.root / "secrets" / "token.txt").write_text("hush\n")
    h.server.script(
        call("read_file", path="src/../secrets/token.txt"),
        call("finish", summary="ok"),
    )
    perms = rules(h.root, ("read_file", "secrets/*", "deny"))
    assert h.agent(mode="auto", permissions=perms).run().outcome == "finished"
    assert len(h.of(ActionRejected)) == 1
    assert "hush" not in str(h.server.requests[1].messages)


def test_the_step_gives_up_when_the_rules_keep_refusing(harness: Harness) -> None:
    h = harness
    h.server.script(*[call("run_command", command=f"rm f{n}") for n in range(3)])
    perms = rules(h.root, ("run_command", "rm *", "deny"))
    result = h.agent(mode="auto", approve=Asked(), permissions=perms).run()
    assert result.outcome == "error"
    assert result.message.startswith("Your permission rules refused the agent's last 3 proposals")
    assert len(h.server.requests) == 3  # no request more than the three refused


@pytest.mark.parametrize(
    "line",
    [
        "pytest && rm -rf ~",
        "pytest; rm -rf ~",
        "pytest $(rm -rf ~)",
        "pytest `rm -rf ~`",
        "pytest | sh",
        "(pytest) || (rm -rf ~)",
    ],
)
def test_a_chained_command_does_not_ride_on_an_allow_for_pytest(
    harness: Harness, line: str
) -> None:
    h = harness
    h.server.script(call("run_command", command=line), call("finish", summary="ok"))
    asked = Asked(Approval.reject("No."))
    perms = rules(h.root, ("run_command", "pytest*", "allow"), ("finish", "*", "allow"))
    assert h.agent(mode="step", approve=asked, permissions=perms).run().outcome == "finished"
    assert asked.tools == ["run_command"]  # it waited for the user: the allow did not match
    assert asked.actions[0].permission == ""


def test_always_allow_writes_the_rule_and_the_next_identical_proposal_runs(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    config = tmp_path / "user" / "config.toml"
    config.parent.mkdir()
    config.write_text('# mine\n[ui]\ntheme = "autogpt-dark"\n')
    h.server.script(
        call("run_command", command="echo one >> out.txt"),
        call("run_command", command="echo two >> out.txt"),
        call("finish", summary="ok"),
    )
    asked = Asked(Approval.always())
    perms = rules(h.root, user_file=config)
    result = h.agent(mode="edits", approve=asked, permissions=perms).run()
    assert result.outcome == "finished"
    assert asked.tools == ["run_command"]  # asked once; the second echo ran under the rule
    assert (h.root / "out.txt").read_text() == "one\ntwo\n"
    [added] = h.of(RuleAdded)
    assert added.message == f"Always allowed: run_command `echo *` (written to {config})."
    text = config.read_text()
    assert text.startswith('# mine\n[ui]\ntheme = "autogpt-dark"\n')
    assert tomllib.loads(text)["permissions"] == [
        {"tool": "run_command", "pattern": "echo *", "action": "allow"}
    ]


def test_always_allow_that_cannot_write_approves_once_and_says_why(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    config = tmp_path / "config.toml"
    config.write_text("permissions = 3\n")
    h.server.script(
        call("run_command", command="echo one"),
        call("run_command", command="echo two"),
        call("finish", summary="ok"),
    )
    asked = Asked(Approval.always())
    perms = rules(h.root, user_file=config)
    h.agent(mode="edits", approve=asked, permissions=perms).run()
    assert asked.tools == ["run_command", "run_command"]  # no rule: the second asked too
    assert config.read_text() == "permissions = 3\n"
    notices = [e.message for e in h.of(Notice)]
    assert any("add it by hand" in n and "approved this once" in n for n in notices)


def test_always_allow_on_what_an_ask_rule_holds_writes_nothing_and_says_so(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    config = tmp_path / "config.toml"
    h.server.script(call("run_command", command="git push"), call("finish", summary="ok"))
    asked = Asked(Approval.always())
    perms = rules(h.root, ("run_command", "git push*", "ask"), user_file=config)
    h.agent(mode="auto", approve=asked, permissions=perms).run()
    assert asked.tools == ["run_command"]
    assert not config.exists()
    assert not h.of(RuleAdded)
    assert any("so no rule was written" in e.message for e in h.of(Notice))


def test_allow_never_overrides_the_sandbox_that_cannot_hide_the_key(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("needs Linux")
    h = harness
    real = shutil.which
    monkeypatch.setattr(
        shutil, "which", lambda name, *a, **k: None if name == "bwrap" else real(name, *a, **k)
    )
    runner = CommandRunner(h.history.root, sandbox=True, user_namespaces=False)
    assert runner.sandbox_status.approval_reason is not None
    h.tools = ToolRunner(h.history.root, runner)
    h.server.script(call("run_command", command="echo hi"), call("finish", summary="ok"))
    asked = Asked(Approval.reject("No."))
    perms = rules(h.root, ("run_command", "echo *", "allow"))
    h.agent(mode="auto", approve=asked, permissions=perms).run()
    assert asked.tools == ["run_command"]


def test_always_allow_where_the_sandbox_cannot_hide_the_key_says_commands_still_ask(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("needs Linux")
    h = harness
    real = shutil.which
    monkeypatch.setattr(
        shutil, "which", lambda name, *a, **k: None if name == "bwrap" else real(name, *a, **k)
    )
    h.tools = ToolRunner(
        h.history.root, CommandRunner(h.history.root, sandbox=True, user_namespaces=False)
    )
    config = tmp_path / "config.toml"
    h.server.script(call("run_command", command="echo hi"), call("finish", summary="ok"))
    asked = Asked(Approval.always())
    h.agent(mode="auto", approve=asked, permissions=rules(h.root, user_file=config)).run()
    [added] = h.of(RuleAdded)
    assert added.message.endswith(
        "Commands still ask here: the sandbox cannot hide the API key from them."
    )


def test_run_applies_the_users_rules_headless(workspace: Path, llm_server: ScriptedLLM) -> None:
    """`autogpt-tui run --mode step`: what the rules allow runs, what they deny is refused."""
    from tests.functional.test_run_cli import events, run

    config = Path(os.environ["AUTOGPT_TUI_CONFIG"])
    config.write_text(
        '[[permissions]]\ntool = "write_file"\npattern = "docs/*"\naction = "allow"\n'
        '[[permissions]]\ntool = "finish"\npattern = "*"\naction = "allow"\n'
        '[[permissions]]\ntool = "run_command"\npattern = "rm *"\naction = "deny"\n'
    )
    llm_server.script(
        call("write_file", path="docs/notes.md", content="notes\n"),
        call("run_command", command="rm -rf src"),
        call("finish", summary="Notes written."),
    )
    result = run(
        str(workspace), "--goal", "Notes", "--mode", "step", "--base-url", llm_server.base_url,
        "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (workspace / "docs" / "notes.md").read_text() == "notes\n"
    assert (workspace / "src" / "app.py").exists()
    [refused] = [e for e in events(result) if e["type"] == "action_rejected"]
    assert "(deny run_command `rm *` in your config)" in refused["reason"]
