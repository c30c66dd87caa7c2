"""A prompt's content blocks as the text the agent reads.

This agent takes what every ACP agent must: text, and links to files (an editor's
``@file`` mention). A link to a file in the workspace becomes ``@path``, relative to the
workspace, which the agent can read; anything else it was not offered (an image, a
file's embedded content) is refused in one sentence rather than silently dropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

EMPTY_PROMPT = "The prompt is empty: say what the agent should do."


def prompt_text(blocks: list[Any], root: Path) -> str:
    """The prompt as one text; ValueError (one sentence) for what this agent does not take."""
    parts: list[str] = []
    for block in blocks:
        kind = getattr(block, "type", None)
        if kind == "text":
            parts.append(str(block.text))
        elif kind == "resource_link":
            parts.append(_mention(str(block.uri), root))
        else:
            raise ValueError(
                f"This agent takes text and file links only, not {kind or 'this'} content."
            )
    text = "".join(parts).strip()
    if not text:
        raise ValueError(EMPTY_PROMPT)
    return text


def _mention(uri: str, root: Path) -> str:
    """``@src/app.py`` for a file in the workspace; the link as it is otherwise."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return uri
    path = Path(unquote(parsed.path))
    try:
        return "@" + path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return uri  # outside the workspace: the agent cannot read it, the user sees why
