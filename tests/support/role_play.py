"""The scripted server playing a team: each role has its own script, told apart by the
role's prompt in the request's system prompt (core/roles.py's built-in prompts)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

from tests.support.scripted_llm import Reply, ScriptedLLM, ToolCall, Turn

__all__ = ["RolePlay", "call"]

_MARKS = {
    "planner": "You are the planner",
    "coder": "You are the coder",
    "reviewer": "You are the reviewer",
}


def call(name: str, **arguments: Any) -> Reply:
    """A reply making one tool call."""
    return Reply(f"I will use {name}.", tool_calls=[ToolCall(name, arguments)])


class RolePlay:
    """Answers each request from the script of the role whose prompt it carries."""

    def __init__(self, server: ScriptedLLM) -> None:
        self.server = server
        self.scripts: dict[str, deque[Turn]] = {role: deque() for role in _MARKS}
        self.asked: list[str] = []
        """The role of each request, in order."""
        server.responder = self._respond

    def script(self, role: str, turns: Iterable[Turn]) -> None:
        """Queue ``turns`` for ``role``."""
        self.scripts[role].extend(turns)

    def _respond(self, request: Any) -> Turn:
        prompt = request.system_prompt
        roles = [role for role, mark in _MARKS.items() if mark in prompt]
        if len(roles) != 1:
            raise AssertionError(f"a request with no single role: {prompt[-300:]!r}")
        role = roles[0]
        self.asked.append(role)
        if not self.scripts[role]:
            raise AssertionError(f"the {role}'s script is used up")
        return self.scripts[role].popleft()
