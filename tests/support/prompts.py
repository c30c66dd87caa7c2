"""Reading what a recorded request told the model: the stable prefix and the rest."""

from __future__ import annotations

import json
from typing import Any

from tests.support.scripted_llm import RecordedRequest


def prompt_text(request: RecordedRequest) -> str:
    """Every message's text of ``request``, in order, one message a paragraph."""
    return "\n\n".join(_text(m) for m in request.messages)


def user_texts(request: RecordedRequest) -> list[str]:
    """The text of each user message of ``request``, in order."""
    return [_text(m) for m in request.messages if m.get("role") == "user"]


def prefix(request: RecordedRequest, n: int) -> str:
    """The first ``n`` messages of ``request`` exactly as sent (JSON, keys in order)."""
    return json.dumps(request.messages[:n], ensure_ascii=False)


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content or "")
