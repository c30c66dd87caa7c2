"""A small stdio MCP server for the tests, written with the same SDK as the client.

Its tools cover each approval kind and each way a server can fail:

* ``lookup`` is read-only (``readOnlyHint``) and answers with text, an image and
  structured content;
* ``write_note`` writes a file in the workspace (its working folder) and says it is not
  destructive and closed-world: an *edit*;
* ``send_mail`` declares nothing, so the spec's defaults make it destructive and
  open-world: a *command* whose effects are not undoable; it writes ``outbox.txt``
  next to the workspace, outside it;
* ``crash`` ends the server's process; ``hang`` never answers; ``fail`` reports a tool error;
  ``show_env`` and ``pid`` tell what the server was started with.

Run: ``python -m tests.support.mcp_server`` (stdio), or with ``--http PORT`` for streamable HTTP.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.utilities.types import Image
from mcp.types import ToolAnnotations

server = MCPServer("test-tools")

PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)
"""A 1x1 PNG."""


@server.tool(annotations=ToolAnnotations(read_only_hint=True), structured_output=False)
def lookup(term: str) -> list[object]:
    """Look a term up in the glossary."""
    return [f"{term}: a word worth knowing.", Image(data=PIXEL, format="png")]


@server.tool(annotations=ToolAnnotations(destructive_hint=False, open_world_hint=False))
def write_note(name: str, text: str) -> str:
    """Write a note into the workspace."""
    Path(name).write_text(text, encoding="utf-8")
    return f"Wrote {name}."


@server.tool()
def send_mail(to: str, body: str) -> str:
    """Send a mail (written to outbox.txt beside the workspace)."""
    with (Path.cwd().parent / "outbox.txt").open("a", encoding="utf-8") as outbox:
        outbox.write(f"{to}: {body}\n")
    return f"Sent to {to}."


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def crash() -> str:
    """End the server's process."""
    os._exit(3)


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def hang() -> str:
    """Never answer."""
    while True:
        time.sleep(0.05)


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def fail() -> str:
    """Report a tool error."""
    raise ToolError("the glossary is closed")


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def show_env(name: str) -> str:
    """The value of an environment variable, or "(unset)"."""
    return os.environ.get(name, "(unset)")


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def pid() -> int:
    """The server's process id."""
    return os.getpid()


def main() -> None:
    """Serve over stdio, or streamable HTTP on loopback with ``--http PORT``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", type=int, default=None)
    options = parser.parse_args()
    if options.http is None:
        server.run("stdio")
    else:
        server.run("streamable-http", host="127.0.0.1", port=options.http)
    sys.exit(0)


if __name__ == "__main__":
    main()
