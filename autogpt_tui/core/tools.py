"""The agent's tools at work: reading, writing, listing, searching and running commands.

The calls themselves (argument models, schemas, :func:`parse_call`) live in
:mod:`autogpt_tui.core.tool_calls` and are re-exported here. :class:`ToolRunner` carries out
the file and command tools inside the workspace; every failure the model can cause comes
back as a :class:`ToolResult` with ``ok=False``, never as an exception. ``ask_user`` and
``finish`` are the agent loop's business, not the runner's.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from autogpt_tui.core.constants import ToolKind
from autogpt_tui.core.errors import GitDirectoryRefused, ToolError, UserError
from autogpt_tui.core.file_text import (
    MAX_TEXT_FILE_BYTES,
    check_utf8,
    cut_at_line,
    decode_text,
    digest,
    occurrences,
    replace_file,
    split_lines,
)
from autogpt_tui.core.git.worktree import enclosing_repository
from autogpt_tui.core.sandbox import (
    CommandResult,
    CommandRunner,
    display_path,
    is_git_internal,
    resolve_in_workspace,
)
from autogpt_tui.core.search import (
    RipgrepFailed,
    candidates,
    python_search,
    render,
    ripgrep_binary,
    ripgrep_search,
)
from autogpt_tui.core.tool_calls import (
    LOOP_READS,
    TOOLS,
    AskUserArgs,
    EditFileArgs,
    FinishArgs,
    ListFilesArgs,
    ReadFileArgs,
    RunCommandArgs,
    SearchArgs,
    ToolSpec,
    WriteFileArgs,
    parse_call,
    tool_schemas,
)

__all__ = [
    "TOOLS",
    "AskUserArgs",
    "EditFileArgs",
    "FilePreview",
    "FinishArgs",
    "ListFilesArgs",
    "ReadFileArgs",
    "RunCommandArgs",
    "SearchArgs",
    "ToolError",
    "ToolKind",
    "ToolResult",
    "ToolRunner",
    "ToolSpec",
    "WriteFileArgs",
    "parse_call",
    "tool_schemas",
]


# ---------------------------------------------------------------------------------------
# Results


@dataclass
class ToolResult:
    """The outcome of one tool call.

    ``output`` is the observation the model sees. When the call failed (``ok`` is false)
    ``error`` is one sentence saying why; for file tools ``output`` is that same sentence,
    for ``run_command`` it is the full observation (the command's output says more).
    """

    ok: bool
    output: str
    changed_paths: list[str] | None
    """Workspace-relative paths written or deleted; [] for none; None when unknown (no
    tool of this runner leaves it unknown: run_command's changes are captured exactly)."""
    error: str | None = None
    command_result: CommandResult | None = None
    clashes: list[str] = field(default_factory=list)
    """Paths the user changed while a command ran: the user's version was kept and the
    command's version of them was not applied."""

    @classmethod
    def failure(cls, message: str) -> ToolResult:
        """A call that failed and changed nothing."""
        return cls(ok=False, output=message, changed_paths=[], error=message)


@dataclass(frozen=True)
class FilePreview:
    """What write_file or edit_file would do to a file, computed without writing.

    ``old_text`` is None when the file does not exist yet (``exists`` false) or is not
    text; ``new_text`` and ``old_text`` are None when the call would fail, and ``error``
    is then the sentence the model would get.
    """

    path: str
    old_text: str | None
    new_text: str | None
    exists: bool = False
    error: str | None = None
    digest: str | None = None
    """What the file held when the change was computed (a hash of its bytes), so that
    the change can be refused once the file holds something else."""

    @property
    def ok(self) -> bool:
        """Whether the change would succeed."""
        return self.error is None


@dataclass(frozen=True)
class _WritePlan:
    target: Path
    rel: str
    old_text: str | None
    new_text: str
    existed: bool
    message: str
    digest: str | None = None


# ---------------------------------------------------------------------------------------
# Execution


class ToolRunner:
    """Carries out the file and command tools inside one workspace.

    Paths are confined with :func:`resolve_in_workspace`; ``.git`` is off limits to reads
    as well as writes (it can hold credentials in remote URLs, and observations end up in
    git notes). Use ``run_command`` with git commands to look at the repository.
    """

    def __init__(
        self,
        root: Path,
        runner: CommandRunner,
        *,
        max_read_chars: int = 20000,
        max_list_entries: int = 2000,
        max_search_matches: int = 200,
        before_change: Callable[[list[str]], None] | None = None,
        ripgrep: str | None = "auto",
    ) -> None:
        self.root = root.resolve()
        self.ripgrep = ripgrep_binary() if ripgrep == "auto" else ripgrep
        """The ``rg`` that search runs, or None for Python's ``re`` only ("auto": the
        one the ``ripgrep`` package installed, else one on PATH)."""
        self.runner = runner
        self.before_change = before_change
        """Called with the workspace-relative paths a tool is about to change, right before
        it changes them; a UserError it raises fails the tool and nothing is changed."""
        self.max_read_chars = max_read_chars
        self.max_list_entries = max_list_entries
        self.max_search_matches = max_search_matches

    # -- public ----------------------------------------------------------------------

    def execute(
        self, name: str, args: BaseModel, *, expected: FilePreview | None = None
    ) -> ToolResult:
        """Run tool ``name`` with validated ``args`` (from :func:`parse_call`).

        ``expected`` is the preview the user approved: a file edit whose file no longer
        holds what that preview was computed against changes nothing and fails.

        Raises ValueError for ``ask_user`` and ``finish`` (the agent loop handles those),
        for an unknown tool, or for arguments of the wrong model; everything else,
        including every mistake the model can make, comes back as a ToolResult.
        """
        self._check(name, args)
        try:
            if isinstance(args, ReadFileArgs):
                return self._read_file(args)
            if isinstance(args, WriteFileArgs | EditFileArgs):
                return self._apply(self._plan(args), expected)
            if isinstance(args, ListFilesArgs):
                return self._list_files(args)
            if isinstance(args, SearchArgs):
                return self._search(args)
            if isinstance(args, RunCommandArgs):
                return self._run_command(args)
        except UserError as error:
            return ToolResult.failure(str(error))
        except OSError as error:
            # Anything the checks above did not foresee (a permission, a full disk).
            return ToolResult.failure(f"{name} failed: {error.strerror or error}.")
        raise ValueError(f"{name} is not a tool the ToolRunner executes.")  # pragma: no cover

    def preview(self, name: str, args: BaseModel) -> FilePreview | None:
        """For write_file and edit_file, the file's old and proposed new text (nothing is
        written); None for other tools."""
        if not isinstance(args, WriteFileArgs | EditFileArgs):
            return None
        self._check(name, args)
        try:
            plan = self._plan(args)
        except UserError as error:
            return FilePreview(path=args.path, old_text=None, new_text=None, error=str(error))
        return FilePreview(
            path=plan.rel,
            old_text=plan.old_text,
            new_text=plan.new_text,
            exists=plan.existed,
            digest=plan.digest,
        )

    # -- helpers ---------------------------------------------------------------------

    @staticmethod
    def _check(name: str, args: BaseModel) -> None:
        spec = TOOLS.get(name)
        if spec is None:
            raise ValueError(f"Unknown tool {name!r}.")
        if spec.kind in ("ask", "finish") or name in LOOP_READS:
            raise ValueError(f"{name} is handled by the agent loop, not the ToolRunner.")
        if not isinstance(args, spec.args_model):
            raise ValueError(f"{name} takes {spec.args_model.__name__}, not {type(args)!r}.")

    def _resolve(self, path: str, *, write: bool) -> tuple[Path, str]:
        """The absolute target of ``path`` and its workspace-relative POSIX form."""
        target = resolve_in_workspace(self.root, path)
        rel = target.relative_to(self.root).as_posix()
        if is_git_internal(rel):
            if write:
                raise GitDirectoryRefused(
                    f"Writing into .git is not allowed ('{display_path(path)}')."
                )
            raise GitDirectoryRefused(
                f"Reading .git is not allowed ('{display_path(path)}'); "
                "use run_command with git commands to inspect the repository."
            )
        other = enclosing_repository(self.root, rel)
        if other is not None:
            kind, where = other
            inside = "is" if where == rel else f"is inside {where}, which is"
            raise ToolError(
                f"'{display_path(rel)}' {inside} a {kind} with its own history; the agent "
                "works only in this repository's own files."
            )
        return target, rel

    def _load_text(self, target: Path, rel: str, *, purpose: str) -> str:
        """The file's text, or ToolError when it is missing, a folder, huge or binary."""
        try:
            info = target.stat()
        except FileNotFoundError:
            raise ToolError(f"{rel} does not exist.") from None
        except OSError as error:
            raise ToolError(f"{rel} cannot be read ({error.strerror}).") from None
        if stat.S_ISDIR(info.st_mode):
            raise ToolError(f"{rel} is a folder; use list_files to see what it holds.")
        if not stat.S_ISREG(info.st_mode):
            raise ToolError(f"{rel} is not a regular file.")
        if info.st_size > MAX_TEXT_FILE_BYTES:
            raise ToolError(
                f"{rel} is too large to {purpose} ({info.st_size:,} bytes); "
                "use run_command with head, sed or grep instead."
            )
        try:
            data = target.read_bytes()
        except OSError as error:
            raise ToolError(f"{rel} cannot be read ({error.strerror}).") from None
        text = decode_text(data)
        if text is None:
            raise ToolError(f"{rel} is a binary file of {len(data):,} bytes.")
        return text

    # -- read_file -------------------------------------------------------------------

    def _read_file(self, args: ReadFileArgs) -> ToolResult:
        target, rel = self._resolve(args.path, write=False)
        if (
            args.start_line is not None
            and args.end_line is not None
            and args.end_line < args.start_line
        ):
            raise ToolError(
                f"read_file: end_line ({args.end_line}) is before start_line ({args.start_line})."
            )
        text = self._load_text(target, rel, purpose="read")
        lines = split_lines(text)
        if not lines:
            return ToolResult(ok=True, output=f"[{rel} is empty]", changed_paths=[])
        ranged = args.start_line is not None or args.end_line is not None
        first = args.start_line or 1
        last = min(args.end_line or len(lines), len(lines))
        if first > len(lines):
            raise ToolError(
                f"{rel} has only {len(lines)} lines; start_line {first} is past the end."
            )
        selected = lines[first - 1 : last]
        body = "".join(selected)
        notes: list[str] = []
        if len(body) > self.max_read_chars:
            shown, shown_lines = cut_at_line(selected, self.max_read_chars)
            end = first + shown_lines - 1
            where = f"lines {first}–{end} of {len(lines)}" if shown_lines else "part of a line"
            notes.append(
                f"[truncated: showing {len(shown)} of {len(body)} characters ({where}); "
                "use start_line/end_line]"
            )
            body = shown
        elif ranged:
            notes.append(f"[lines {first}–{last} of {len(lines)}]")
        if notes:
            body = body + ("" if body.endswith("\n") or not body else "\n") + "\n".join(notes)
        return ToolResult(ok=True, output=body, changed_paths=[])

    # -- write_file / edit_file ------------------------------------------------------

    def _plan(self, args: WriteFileArgs | EditFileArgs) -> _WritePlan:
        target, rel = self._resolve(args.path, write=True)
        if rel == ".":
            raise ToolError(f"'{display_path(args.path)}' is the workspace folder, not a file.")
        if isinstance(args, WriteFileArgs):
            return self._plan_write(target, rel, args.content)
        return self._plan_edit(target, rel, args.old_text, args.new_text)

    def _plan_write(self, target: Path, rel: str, content: str) -> _WritePlan:
        if target.is_dir():
            raise ToolError(f"{rel} is a folder; write_file needs a file path.")
        check_utf8(content, "content")
        existed = target.exists()
        old_text: str | None = None
        if existed and target.stat().st_size <= MAX_TEXT_FILE_BYTES:
            try:
                old_text = decode_text(target.read_bytes())
            except OSError:
                old_text = None
        size = len(content.encode("utf-8"))
        verb = "Overwrote" if existed else "Created"
        message = f"{verb} {rel} ({size} bytes)."
        return _WritePlan(target, rel, old_text, content, existed, message, digest(target))

    def _plan_edit(self, target: Path, rel: str, old: str, new: str) -> _WritePlan:
        text = self._load_text(target, rel, purpose="edit")
        check_utf8(new, "new_text")
        positions = occurrences(text, old)
        if not positions and "\r\n" in text and "\n" in old and "\r\n" not in old:
            # The model writes "\n"; a file with Windows line endings should still match.
            old, new = old.replace("\n", "\r\n"), new.replace("\n", "\r\n")
            positions = occurrences(text, old)
        if not positions:
            raise ToolError(f"old_text was not found in {rel}.")
        if len(positions) > 1:
            raise ToolError(
                f"old_text occurs {len(positions)} times in {rel}; "
                "include more surrounding lines so it is unique."
            )
        at = positions[0]
        result = text[:at] + new + text[at + len(old) :]
        first = text.count("\n", 0, at) + 1
        count = new.count("\n") + (0 if new.endswith("\n") or not new else 1)
        if count == 0:
            where = f"removed text at line {first}"
        elif count == 1:
            where = f"new text at line {first}"
        else:
            where = f"new text at lines {first}–{first + count - 1}"
        return _WritePlan(
            target, rel, text, result, True, f"Edited {rel}: {where}.", digest(target)
        )

    def _apply(self, plan: _WritePlan, expected: FilePreview | None = None) -> ToolResult:
        data = plan.new_text.encode("utf-8")
        if expected is not None and (
            expected.digest != plan.digest or expected.new_text != plan.new_text
        ):
            raise ToolError(
                f"{plan.rel} changed after the change to it was approved; nothing was "
                "written. Read it again and propose the change anew."
            )
        if plan.existed and plan.old_text == plan.new_text:
            return ToolResult(
                ok=True, output=f"{plan.rel} already had this content; nothing changed.",
                changed_paths=[],
            )  # fmt: skip
        if self.before_change is not None:
            self.before_change([plan.rel])
        try:
            plan.target.parent.mkdir(parents=True, exist_ok=True)
            replace_file(plan.target, data)
        except OSError as error:
            reason = error.strerror or str(error)
            if isinstance(error, FileExistsError | NotADirectoryError):
                reason = "a parent of it is a file, not a folder"
            raise ToolError(f"Could not write {plan.rel}: {reason}.") from None
        return ToolResult(ok=True, output=plan.message, changed_paths=[plan.rel])

    # -- list_files ------------------------------------------------------------------

    def _list_files(self, args: ListFilesArgs) -> ToolResult:
        target, rel = self._resolve(args.path, write=False)
        if not target.exists():
            raise ToolError(f"{rel} does not exist.")
        if not target.is_dir():
            return ToolResult(ok=True, output=rel, changed_paths=[])
        ignored = self._ignored(rel)
        entries: list[str] = []
        total = 0
        for entry in self._walk(target, ignored):
            total += 1
            if len(entries) < self.max_list_entries:
                entries.append(entry)
        if not entries:
            where = "the workspace" if rel == "." else f"{rel}/"
            return ToolResult(ok=True, output=f"[{where} is empty]", changed_paths=[])
        output = "\n".join(entries)
        if total > len(entries):
            output += (
                f"\n[truncated: showing {len(entries)} of {total} entries; "
                "list a subfolder to see more]"
            )
        return ToolResult(ok=True, output=output, changed_paths=[])

    def _walk(self, folder: Path, ignored: set[str]) -> Iterator[str]:
        """Workspace-relative entries under ``folder``, sorted, each folder followed by its
        contents; ``.git`` and ignored paths are skipped, symlinks are not followed."""
        try:
            with os.scandir(folder) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
        except OSError:
            return
        for entry in entries:
            if entry.name == ".git":
                continue
            rel = Path(entry.path).relative_to(self.root).as_posix()
            if rel in ignored:
                continue
            if entry.is_dir(follow_symlinks=False):
                if rel + "/" in ignored:
                    continue
                yield rel + "/"
                yield from self._walk(Path(entry.path), ignored)
            else:
                yield rel

    def _ignored(self, rel: str) -> set[str]:
        """Git-ignored, untracked paths under ``rel`` (folders with a trailing "/")."""
        listed = self._git_ls(["--others", "--ignored", "--exclude-standard", "--directory"], rel)
        if listed is None:
            return set()
        # Listing an ignored folder by name shows it anyway: the model asked for it.
        return {path for path in listed if path.rstrip("/") != rel}

    def _git_ls(self, options: list[str], rel: str) -> list[str] | None:
        """``git ls-files`` output for ``rel``, or None when this is not a git repository."""
        if not (self.root / ".git").exists():
            return None
        try:
            result = subprocess.run(
                # Literal: a folder named "*" or ":x" must not act as a glob or pathspec magic.
                ["git", "--literal-pathspecs", "ls-files", "-z", *options, "--", rel],
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=60,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        if result.returncode != 0:
            return None
        return [p for p in result.stdout.decode("utf-8", "surrogateescape").split("\0") if p]

    # -- search ----------------------------------------------------------------------

    def _search(self, args: SearchArgs) -> ToolResult:
        try:
            regex = re.compile(args.pattern)
        except re.error as error:
            raise ToolError(
                f"The pattern '{display_path(args.pattern)}' is not a valid regular "
                f"expression: {error}."
            ) from None
        target, rel = self._resolve(args.path, write=False)
        if not target.exists():
            raise ToolError(f"{rel} does not exist.")
        if target.is_file():
            # A file named outright is searched even if git ignores it (or the glob would
            # leave it out); a binary one is an error rather than a silent "no matches".
            self._load_text(target, rel, purpose="search")
            chosen = candidates(self.root, [rel], glob=None, walked=False)
        else:
            listed = self._searchable_files(target, rel)
            chosen = candidates(self.root, listed, glob=args.glob, walked=True)
        found = None
        if self.ripgrep is not None:
            try:
                found = ripgrep_search(
                    self.ripgrep, self.root, chosen.files, regex, self.max_search_matches
                )
            except RipgrepFailed:
                found = None  # the same answer, the slower way
        if found is None:
            found = python_search(self.root, chosen.files, regex, self.max_search_matches)
        matches = render(found, args.context or 0)
        notes: list[str] = []
        if found.more:
            notes.append(
                f"[truncated: showing the first {found.count} matches; "
                "narrow the pattern or the path]"
            )
        if chosen.skipped_large:
            notes.append(f"[skipped {chosen.skipped_large} files larger than 8 MiB]")
        if not found.files:
            where = "the workspace" if rel == "." else rel
            notes.insert(0, f"No matches for '{display_path(args.pattern)}' in {where}.")
        return ToolResult(ok=True, output="\n".join(matches + notes), changed_paths=[])

    def _searchable_files(self, target: Path, rel: str) -> list[str]:
        """Files under ``target`` that git would list (tracked or untracked, not ignored)."""
        listed = self._git_ls(["--cached", "--others", "--exclude-standard"], rel)
        if listed is not None:
            # Only a path with ".git" in it can be git's (PurePath per path is slow on a
            # big tree); the case-insensitive test is is_git_internal's.
            return sorted(
                set(p for p in listed if ".git" not in p.casefold() or not is_git_internal(p))
            )
        found: list[str] = []
        for dirpath, dirnames, filenames in os.walk(target):
            dirnames[:] = sorted(d for d in dirnames if d != ".git")
            base = Path(dirpath)
            found += [(base / f).relative_to(self.root).as_posix() for f in sorted(filenames)]
        return found

    # -- run_command -----------------------------------------------------------------

    def _run_command(self, args: RunCommandArgs) -> ToolResult:
        try:
            run = self.runner.run_captured(args.command, args.timeout_s)
        except ValueError as error:
            return ToolResult.failure(f"run_command: {str(error).rstrip('.')}.")
        except OSError as error:
            return ToolResult.failure(f"The command could not be started: {error}.")
        with run:
            result = run.result
            # Even a command that failed or timed out keeps what it did, as it would
            # have in the live workspace. A UserError from before_change propagates:
            # execute() turns it into a failure that changed nothing.
            applied = run.apply(self.before_change)
        error_text: str | None = None
        if result.timed_out:
            error_text = f"The command timed out after {result.timeout_s:g} s."
        elif result.exit_code != 0:
            error_text = f"The command failed with exit status {result.exit_code}."
        output = "\n".join([result.observation(), *applied.notes()])
        return ToolResult(
            ok=error_text is None,
            output=output,
            changed_paths=applied.paths,
            error=error_text,
            command_result=result,
            clashes=applied.clashes,
        )
