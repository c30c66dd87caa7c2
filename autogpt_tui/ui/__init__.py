"""The Textual user interface: the workstation app, its widgets and its stylesheet.

Nothing in ``autogpt_tui.core`` imports from here; the UI reads the core, never the
other way round.
"""
