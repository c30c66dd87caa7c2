"""Errors a user can cause, each carrying one clear sentence.

The CLI and the TUI show ``str(error)`` as it is; nothing here should ever surface as a
traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """An error caused by what the user asked for; its message is one clear sentence."""


class WorkspaceNotFound(UserError):
    """The workspace folder does not exist (or is not a folder)."""


class NotARepository(WorkspaceNotFound):
    """A command that only reads or edits an existing history was pointed at a folder
    that is not a git repository (only the TUI and ``run`` make one)."""


class NotAnAgentStep(UserError):
    """A revision does not exist or names a commit that is not an agent step."""


class NothingToUndo(UserError):
    """An undo asked for more steps than are there to take back."""


class NothingToRedo(UserError):
    """A redo found no undone step to bring back."""


class LocalChangesInTheWay(UserError):
    """The user's uncommitted changes touch files an undo or redo would have to change."""

    def __init__(self, message: str, paths: list[str]) -> None:
        super().__init__(message)
        self.paths = paths


class InvalidRating(UserError):
    """A rating outside {-1, 0, +1}."""


class GitFailure(UserError):
    """git itself failed in a way we did not foresee; the message carries git's own words."""


class PathOutsideWorkspace(UserError):
    """A path the agent may not use: outside the workspace (absolute, ``..`` or through a
    symlink), containing a NUL byte, or impossible to resolve (a symlink loop)."""


class GitDirectoryRefused(UserError):
    """A tool tried to reach into a ``.git`` folder, which only the history engine touches."""


class ToolError(UserError):
    """A tool call the agent made is malformed or cannot be carried out; the message is one
    sentence the model can act on."""


class WorkspaceLocked(UserError):
    """Another autogpt-tui agent holds the workspace (its lock); nothing was done."""


class RepositoryBusy(UserError):
    """The repository is in the middle of a merge, rebase, cherry-pick, revert, bisect or
    `git am`: the agent does not step, and undo and redo do not move HEAD under it."""

    def __init__(self, message: str, state: str) -> None:
        super().__init__(message)
        self.state = state


class LockUnavailable(UserError):
    """The workspace lock file cannot be made or opened (a read-only repository, say)."""


class SessionChoiceError(UserError):
    """``--session`` names no session or several, ``--continue`` finds none to resume, or
    ``--goal`` contradicts the session chosen; nothing was started."""
