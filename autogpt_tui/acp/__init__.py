"""The Agent Client Protocol front end: ``autogpt-tui acp`` lets an editor drive the agent.

It uses the core only (sessions, settings, events), as the TUI and ``run`` do, so an
editor's session makes the same step commits; the core never imports it (an import
contract in pyproject.toml). ``server.py`` is the protocol server, ``session.py`` one
session's prompt turns, ``updates.py`` what the editor is shown, ``prompt.py`` what the
agent reads, ``replay.py`` a loaded session told again.
"""
