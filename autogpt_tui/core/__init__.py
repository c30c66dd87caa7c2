"""The headless domain of autogpt-tui.

Nothing in this package imports textual or rich: the agent loop, the history engine and
the tools are usable (and tested) without the terminal UI.
"""
