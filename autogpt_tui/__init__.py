"""autogpt-tui: a terminal workstation for an autonomous coding agent.

Every action the agent takes on a workspace becomes one git commit, so each step can be
reviewed as a diff, rated, undone and redone.
"""

__version__ = "0.1.0"
