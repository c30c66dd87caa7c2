"""An MCP tool's result as the observation the model reads.

Text is kept as it is; an image or audio clip is described (``[image image/png, 12 kB]``),
never sent on as base64; an embedded resource gives its text, or is described; structured
content is added as JSON when no text block already says the same. ``isError`` makes the
call a failed one.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcp.types import CallToolResult

__all__ = ["observation"]


def _size(data: str) -> str:
    size = len(data) * 3 // 4  # base64: four characters carry three bytes
    return f"{size / 1000:.0f} kB" if size >= 1000 else f"{size} bytes"


def _block(block: Any) -> str:
    # Imported here: the SDK's types take about a second to import, and only a session
    # with MCP servers needs them.
    from mcp.types import (
        AudioContent,
        EmbeddedResource,
        ImageContent,
        ResourceLink,
        TextContent,
    )

    if isinstance(block, TextContent):
        return block.text
    if isinstance(block, ImageContent):
        return f"[image {block.mime_type}, {_size(block.data)}]"
    if isinstance(block, AudioContent):
        return f"[audio {block.mime_type}, {_size(block.data)}]"
    if isinstance(block, EmbeddedResource):
        text = getattr(block.resource, "text", None)
        if isinstance(text, str):
            return text
        mime = getattr(block.resource, "mime_type", None) or "binary"
        return f"[resource {block.resource.uri} ({mime})]"
    if isinstance(block, ResourceLink):
        return f"[resource link {block.name}: {block.uri}]"
    return f"[{getattr(block, 'type', 'unknown')} content]"


def observation(result: CallToolResult, max_chars: int) -> tuple[bool, str]:
    """Whether the call succeeded, and what the model is told of it (at most about
    ``max_chars`` characters)."""
    parts = [_block(block) for block in result.content]
    structured = result.structured_content
    if structured is not None:
        said = json.dumps(structured, sort_keys=True, default=str)
        texts = {_json_or_none(p) for p in parts} | set(parts)
        # The SDK wraps a plain return value as {"result": value}, which its text says.
        wrapped = (
            structured.get("result")
            if isinstance(structured, dict) and len(structured) == 1
            else None
        )
        if said not in texts and not (wrapped is not None and str(wrapped) in texts):
            parts.append(json.dumps(structured, indent=2, default=str))
    text = "\n".join(parts) if parts else "[no content]"
    if len(text) > max_chars:
        text = text[:max_chars] + f"\n[truncated: showing {max_chars} of {len(text)} characters]"
    return not result.is_error, text


def _json_or_none(text: str) -> str | None:
    try:
        return json.dumps(json.loads(text), sort_keys=True, default=str)
    except ValueError:
        return None
