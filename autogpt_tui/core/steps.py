"""Step commits and reading them back: what the agent did, one commit per action.

Every action the agent takes becomes exactly one commit on the workspace's current
branch, with ``Agent-*`` trailers naming its session, step number, tool and policy arm;
its record (thought, tool call, observation, usage) is a git note on it, written in
the same ref transaction as the commit, so there is never a step without its record.
Step commits are built by rewriting only the trees on the paths a step touched.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING

from autogpt_tui.core.constants import AGENT_EMAIL, AGENT_NAME, SECRET_FILE_PATTERNS
from autogpt_tui.core.errors import GitFailure, NotAnAgentStep
from autogpt_tui.core.git import (
    EMPTY_TREE,
    ZERO_SHA,
    Git,
    Notes,
    ObjectStore,
    WorkTree,
    read_log,
    run_git,
)
from autogpt_tui.core.journal import Intent, Journal, RefMove
from autogpt_tui.core.records import (
    TRAILER_POLICY,
    TRAILER_REDO,
    TRAILER_ROLE,
    TRAILER_SESSION,
    TRAILER_STEP,
    TRAILER_TOOL,
    TRAILER_UNDO,
    LogEntry,
    StepCommit,
    UserCommit,
    escape_surrogates,
    escaped_record,
    one_line,
)
from autogpt_tui.core.step_index import RANGE_CAP, Node, StepIndex, is_agent_commit
from autogpt_tui.core.step_labels import (
    AmbiguousStepLabel,
    find_labelled,
    no_such_step,
    parse_label,
)

if TYPE_CHECKING:  # pydantic: loaded when a record is read, not to list steps
    from autogpt_tui.core.record_models import StepRecord

RECORDS_REF = "refs/notes/autogpt-tui/records"
"""Notes ref holding each step's record (JSON)."""
RATINGS_REF = "refs/notes/autogpt-tui/ratings"
"""Notes ref holding each step's rating events (JSON list; the latest wins)."""
UNDONE_REFS = "refs/autogpt-tui/undone"
"""Refs that keep steps taken back by moving the branch reachable (for redo and history)."""


@dataclass
class AgentIdentity:
    """Who step commits are authored by; the user stays their committer."""

    name: str = AGENT_NAME
    """The author name ([history] agent_name in the config)."""
    email: str = AGENT_EMAIL
    """The author email ([history] agent_email in the config)."""

    def commit_env(self, user: dict[str, str]) -> dict[str, str]:
        """The user's commit environment with the agent as author."""
        return {**user, "GIT_AUTHOR_NAME": self.name, "GIT_AUTHOR_EMAIL": self.email}


class StepLog:
    """Writes step commits and the user's own commits, and reads steps back."""

    def __init__(
        self,
        git: Git,
        objects: ObjectStore,
        notes: Notes,
        worktree: WorkTree,
        agent: AgentIdentity,
    ) -> None:
        self._git = git
        self._objects = objects
        self._notes = notes
        self._worktree = worktree
        self._agent = agent
        self.index = StepIndex(git, objects)
        """The step index (see core/step_index.py): listing steps without walking history."""

    # ---------------------------------------------------------------- writing

    def make_first_commit(self, *, take_files: bool) -> list[str]:
        """Give a repository without commits its first one; returns the files kept out.

        A folder we just made a repository keeps its files in that commit, except the
        ones that look like secrets (SECRET_FILE_PATTERNS): those are listed in
        ``.git/info/exclude`` instead, so no later step takes them either, and left on
        disk as they are. In a repository the user made, the first commit is empty and
        the index is left as the user staged it.
        """
        tree = EMPTY_TREE
        kept_out: list[bytes] = []
        if take_files:
            kept_out = self._exclude_secret_files()
            self._git.run("add", "-A")
            tree = self._git.run("write-tree").strip()
        message = "Start the autogpt-tui workspace\n"
        sha = self._objects.write_commit(tree, None, message, self._git.user_identity())
        self._git.run("update-ref", "-m", "autogpt-tui: first commit", "HEAD", sha, "")
        # The step index starts here, empty, so every step from now on is added to it.
        self.index.store(self.index.ref(), self.index.build([], sha), None)
        return [path.decode("utf-8", "backslashreplace") for path in kept_out]

    def _exclude_secret_files(self) -> list[bytes]:
        """List the files `git add -A` would take that look like secrets in
        ``.git/info/exclude``; returns them (paths from the top, sorted)."""
        root = self._git.root
        # Git matches the patterns itself, with gitignore's rules (any depth, a matching
        # folder covers its files); files the user already ignores are left alone.
        patterns = [arg for pattern in SECRET_FILE_PATTERNS for arg in ("-x", pattern)]
        looks_secret = run_git(root, ["ls-files", "-z", "--others", "--ignored", *patterns])
        addable = run_git(root, ["ls-files", "-z", "--others", "--exclude-standard"])
        wanted = set(addable.stdout.split(b"\0"))
        secrets = sorted({p for p in looks_secret.stdout.split(b"\0") if p and p in wanted})
        if secrets:
            exclude = self._git.git_dir / "info" / "exclude"
            exclude.parent.mkdir(parents=True, exist_ok=True)
            old = exclude.read_bytes() if exclude.exists() else b""
            if old and not old.endswith(b"\n"):
                old += b"\n"
            lines = b"".join(_exclude_line(path) + b"\n" for path in secrets)
            header = b"# Kept out of the first commit by autogpt-tui: they look like secrets.\n"
            exclude.write_bytes(old + header + lines)
        return secrets

    def commit_step(
        self,
        *,
        session: str,
        step: int,
        tool: str,
        policy: str,
        summary: str,
        record: StepRecord,
        paths: Iterable[str] | None = None,
        role: str | None = None,
    ) -> StepCommit:
        """Commit one agent step: the files it changed (or none: an empty commit).

        ``paths`` names what the action changed; only those are staged, so the cost
        follows the change. ``None`` means "unknown" (a shell command): every change in
        the working tree is taken, as `git add -A` would.
        """
        # Lone surrogates (a name that is not UTF-8, say) are escaped once, here: the
        # record and the message are then safe to store, print and send to the model.
        record = escaped_record(record)
        summary = escape_surrogates(summary)
        head = self._git.head()
        files = (
            self._worktree.dirty_paths() if paths is None else self._worktree.expand(paths, head)
        )
        changes = self._worktree.changes(files, head) if files else []
        tree = (
            self._objects.rewrite_tree(
                self._objects.tree_of(head), {c.path: c.entry for c in changes}
            )
            or EMPTY_TREE
        )
        message = step_message(
            summary, session=session, step=step, tool=tool, policy=policy, role=role
        )
        env = self._agent.commit_env(self._git.user_identity())
        sha = self._objects.write_commit(tree, head, message, env)
        # The branch and the record move together (no step without its record), and
        # journalled: a crash anywhere is finished or rolled back by the next open. A
        # new action empties the redo stack, as in any editor.
        records = self._notes.stage(RECORDS_REF, sha, record.model_dump_json())
        # The index gains the step in the same transaction (when it is in use at all).
        branch = self._git.branch_key()
        ref, old, base = self.index_for(head, branch)
        index = [] if base is None else [index_move(ref, old, self.index.push(base, sha, sha))]
        Journal(self._git, self._objects, self._worktree).run(
            Intent(
                op="step",
                reason=f"step {step} ({tool})",
                refs=[RefMove("HEAD", head, sha), RefMove.parse(records), *index],
                paths=[c.path for c in changes],
                restore=False,
                branch=branch,
                redo_after=[],
            )
        )
        self._worktree.remember_files(changes, head, sha)
        return StepCommit(
            sha=sha,
            parent=head,
            session=session,
            step=step,
            tool=tool,
            policy=policy,
            role=role,
            summary=one_line(summary),
            timestamp=self._objects.commit_time(sha),
            record=record,
        )

    def commit_user_edits(self, paths: Iterable[str] | None = None) -> UserCommit | None:
        """Commit the user's own edits made since the last step as the user's commit.

        Returns None when there is nothing to commit. ``paths`` limits the commit to
        files a watcher saw change; None scans the whole working tree.
        """
        head = self._git.head()
        worktree = self._worktree
        dirty = worktree.dirty_paths() if paths is None else worktree.expand(paths, head)
        # Files exactly as our last commit left them (the agent's own writes, which the
        # watcher reports too) need no hashing to know they are unchanged.
        dirty = [p for p in dirty if not worktree.unchanged_since_commit(p, head)]
        if not dirty:
            return None
        changes = worktree.changes(dirty, head)
        # Only paths whose content differs from HEAD count as edits.
        real = [c for c in changes if c.entry != self._objects.entry_at(head, c.path)]
        if not real:
            return None
        tree = self._objects.rewrite_tree(
            self._objects.tree_of(head), {c.path: c.entry for c in real}
        )
        names = [c.path for c in real]
        message = "User edits: " + one_line(", ".join(names), 80) + "\n"
        sha = self._objects.write_commit(
            tree or EMPTY_TREE, head, message, self._git.user_identity()
        )
        # Journalled like a step: a crash between HEAD's move and the index update is
        # finished by the next open. The redo stack is left alone. The step index lists
        # no user commit, but says it holds for the new HEAD.
        branch = self._git.branch_key()
        ref, old, base = self.index_for(head, branch)
        index = [] if base is None else [index_move(ref, old, self.index.rehead(base, sha))]
        Journal(self._git, self._objects, worktree).run(
            Intent(
                op="user",
                reason="user edits",
                refs=[RefMove("HEAD", head, sha), *index],
                paths=names,
                restore=False,
                branch=branch,
                redo_after=None,
            )
        )
        worktree.remember_files(real, head, sha)
        return UserCommit(sha=sha, paths=names)

    # ---------------------------------------------------------------- reading

    def log_entries(
        self,
        *revs: str,
        records: bool = False,
        max_count: int | None = None,
        skip: int | None = None,
    ) -> Iterator[LogEntry]:
        """Stream commits newest first; stops reading git as soon as the caller stops.

        Each entry carries its ratings note and, with ``records``, its record note too:
        both are one-line JSON, a record an object and ratings an array, so the two
        notes refs can share git's single ``%N`` placeholder.
        """
        notes = [RATINGS_REF, RECORDS_REF] if records else [RATINGS_REF]
        return read_log(self._git, revs, notes=notes, max_count=max_count, skip=skip)

    def steps(self, limit: int | None = None) -> list[StepCommit]:
        """Agent steps newest first, with rating and undone mark (records not loaded).

        Steps on the current branch come with those that undo took off it, so the
        history shows what was undone too.
        """
        live: list[StepCommit] = []
        for step in self.steps_on_branch(expect=limit):
            live.append(step)
            if limit is not None and len(live) >= limit:
                break
        taken_off = list(self.steps_taken_off())
        merged = live + taken_off
        if taken_off:
            merged.sort(key=lambda s: (s.timestamp, s.step), reverse=True)
        return merged[:limit] if limit is not None else merged

    def last_step_number(self, session: str) -> int:
        """The highest step number ``session`` ever used on this branch: its live steps,
        those undone by a revert commit, and those undo took off the branch (0: none).

        Step numbers are never reused within a session, so that ``SESSION#N`` names one
        step for good: a step taken after undoing 8 to 10 is 11, not 8 again.
        """
        highest = 0
        seen = False
        for step in self.steps_on_branch():
            if step.session != session:
                if seen:
                    break  # an older session: ours starts after it
                continue
            seen = True
            highest = max(highest, step.step)
        for step in self.steps_taken_off():
            if step.session == session:
                highest = max(highest, step.step)
        return highest

    def steps_taken_off(self) -> Iterator[StepCommit]:
        """The steps undo took off the branch (kept for redo), newest first, all undone."""
        if not self._has_undone_refs():
            return
        for entry in self.log_entries(f"--glob={UNDONE_REFS}/*", "--not", "HEAD"):
            gone = entry.as_step(undone=True)
            if gone is not None:
                yield gone

    def _has_undone_refs(self) -> bool:
        # Looked up in the files rather than with a git process: this runs on every log.
        common = self._git.common_dir
        loose = common / UNDONE_REFS
        if loose.is_dir() and any(loose.iterdir()):
            return True
        try:
            return (UNDONE_REFS + "/") in (common / "packed-refs").read_text(errors="replace")
        except OSError:
            return False

    def steps_on_branch(
        self, *, records: bool = False, expect: int | None = None
    ) -> Iterator[StepCommit]:
        """Steps reachable from HEAD newest first, each marked undone if reverted.

        With ``records`` each step carries its record, read in the same git call.
        ``expect`` says how many steps the caller wants: the step index is read that
        far (and further only if the caller goes on), so the cost follows the steps
        asked, not the commits in the history. Without a usable index, git is asked for
        a bounded number of commits first, and a walk that reaches the root rebuilds
        the index on the way.
        """
        actions: dict[str, bool] = {}  # step sha -> undone, from the newest undo/redo commit
        head = self._git.head()
        ref, _, top, fresh = self.usable_index(head, records=records)
        if top is not None and fresh is not None:
            for entry in fresh:
                yield from _branch_step(entry, actions)
            shown = {entry.sha for entry in fresh}
            try:
                yield from self._indexed(top, actions, shown, records=records, expect=expect)
                return
            except LookupError:
                pass  # a damaged index: the walk below shows what it could not
        else:
            shown = set()
        window = expect * 2 + 20 if expect else None
        seen = 0
        agent: list[str] = []
        for entry in self.log_entries(head, records=records, max_count=window):
            seen += 1
            if is_agent_commit(entry):
                agent.append(entry.sha)
            if entry.sha not in shown:
                yield from _branch_step(entry, actions)
        if window is not None and seen >= window:
            for entry in self.log_entries(head, records=records, skip=window):
                if is_agent_commit(entry):
                    agent.append(entry.sha)
                if entry.sha not in shown:
                    yield from _branch_step(entry, actions)
        # The whole history was read: that is the index, ready for the next listing
        # (kept aside: a reader moves no ref; the next step or maintain() will).
        with contextlib.suppress(OSError, GitFailure):  # read-only: walk again next time
            self.index.remember(ref, self.index.build(agent, head))

    def _fresh(self, top: Node, head: str, *, records: bool) -> list[LogEntry] | None:
        """The commits made since the index's HEAD, newest first, or None when the index
        does not hold for ``head`` (the branch was reset, rebased, amended, merged)."""
        if top.head == head:
            return []
        fresh = list(
            self.log_entries(f"{top.head}..{head}", records=records, max_count=RANGE_CAP + 1)
        )
        # One straight line of commits on top of the index's HEAD, or nothing.
        if not fresh or len(fresh) > RANGE_CAP or any(len(e.parents) != 1 for e in fresh):
            return None
        return fresh if fresh[-1].parents[0] == top.head else None

    def _indexed(
        self,
        top: Node,
        actions: dict[str, bool],
        shown: set[str],
        *,
        records: bool,
        expect: int | None,
    ) -> Iterator[StepCommit]:
        """The steps the index lists, read from git in batches that grow as the caller
        goes on (one `git log --no-walk` each)."""
        chain = self.index.commits(top)
        batch = expect * 2 + 20 if expect else 500
        while taken := list(islice(chain, batch)):
            shas = [sha for sha in taken if sha not in shown]
            for entry in self.log_entries("--no-walk=unsorted", *shas, records=records):
                shown.add(entry.sha)
                yield from _branch_step(entry, actions)
            batch = min(batch * 4, 4000)

    def ensure_index(self) -> None:
        """Make the index ref hold for HEAD: rebuilt (one walk of the whole history) if
        neither the ref nor a reader's rebuild does."""
        head = self._git.head()
        ref, old, top, _ = self.usable_index(head, records=False)
        if top is None:
            for _ in self.steps_on_branch():
                pass  # walking to the end rebuilds it
            ref, old, top, _ = self.usable_index(head, records=False)
        if top is not None and top.sha != old:
            self.index.store(ref, top.sha, old)

    def usable_index(
        self, head: str, *, records: bool, branch: str | None = None
    ) -> tuple[str, str | None, Node | None, list[LogEntry] | None]:
        """The current branch's index ref and its value, and the index that holds for
        ``head`` with the commits made since it (None, None: no index holds).

        The ref is tried first, then what a reader last rebuilt (StepIndex.remember).
        """
        ref = self.index.ref(branch)
        old = self.index.ref_value(ref)
        for source in ("ref", "rebuilt"):
            # What a reader rebuilt is read only when the ref does not hold.
            sha = old if source == "ref" else self.index.rebuilt(ref)
            if sha is None or (source == "rebuilt" and sha == old):
                continue
            top = self.index.node(sha)
            if top is not None and (fresh := self._fresh(top, head, records=records)) is not None:
                return ref, old, top, fresh
        return ref, old, None, None

    def index_for(
        self, head: str, branch: str | None = None
    ) -> tuple[str, str | None, Node | None]:
        """The current branch's index ref, its value, and a node describing ``head``
        exactly (None when the index is missing or does not hold for ``head``).

        When the user committed outside this tool since the index was written, the agent
        commits among those (if any) are added to it here: a short walk of the new
        commits only.
        """
        ref, old, top, fresh = self.usable_index(head, records=False, branch=branch)
        if top is None or fresh is None:
            return ref, old, None
        node: Node | None = top
        for entry in reversed(fresh):
            if node is not None and is_agent_commit(entry):
                node = self.index.node(self.index.push(node, entry.sha, entry.sha))
        return ref, old, None if node is None else self.index.node(self.index.rehead(node, head))

    def resolve(self, rev: str) -> StepCommit:
        """The agent step ``rev`` names (with its record), or NotAnAgentStep.

        ``rev`` is a label `log` prints (``4``, ``#4``, ``SESSION#4``: see
        core/step_labels.py for which step each names) or any git revision naming an
        agent step commit.
        """
        if not rev or rev.startswith("-"):
            raise NotAnAgentStep(f"{rev!r} is not a revision.")
        label = parse_label(rev)
        labelled = None
        if label is not None:
            labelled = find_labelled(label, self.steps_on_branch(), self.steps_taken_off())
            if labelled is not None and not label.bare:
                return self._step_at(labelled.sha, rev)
        sha = self._commit_of(rev)
        if labelled is not None:
            # A plain number git reads too (a commit id of digits, a tag): only when both
            # name agent steps, and different ones, is it worth asking which was meant.
            other = self._agent_commit(sha) if sha and sha != labelled.sha else None
            if other is not None and sha is not None:
                raise AmbiguousStepLabel(
                    f"{rev!r} names both step {labelled.session}#{labelled.step} and commit "
                    f"{sha[:8]} (step {other.session}#{other.step}); write #{rev} for the "
                    "step, or more of the commit id."
                )
            return self._step_at(labelled.sha, rev)
        if sha is None:
            if label is not None:
                raise no_such_step(label)
            raise NotAnAgentStep(f"{rev!r} does not name a commit in this workspace.")
        return self._step_at(sha, rev)

    def _commit_of(self, rev: str) -> str | None:
        """The commit git reads ``rev`` as, or None."""
        result = self._git.try_run(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"
        )
        if result.returncode != 0:
            return None
        return result.stdout.decode().strip()

    def _agent_commit(self, sha: str) -> StepCommit | None:
        """The agent step commit ``sha`` is (no record, not marked undone), or None."""
        entry = next(self.log_entries("-n", "1", sha), None)
        return entry.as_step(undone=False) if entry else None

    def _step_at(self, sha: str, rev: str) -> StepCommit:
        """The agent step commit ``sha`` is, with its record and undone mark."""
        step = self._agent_commit(sha)
        if step is None:
            raise NotAnAgentStep(f"{rev!r} ({sha[:8]}) is not an agent step.")
        undone = self._is_undone(sha)
        record = self.record(sha)
        return StepCommit(**{**step.__dict__, "undone": undone, "record": record})

    def _is_undone(self, sha: str) -> bool:
        *_, top, fresh = self.usable_index(self._git.head(), records=False)
        if top is not None and fresh is not None:
            # The index lists every agent commit above the step: its undo or redo is
            # among them, and a step it does not list is not on the branch.
            actions: dict[str, bool] = {}
            try:
                later = (self._objects.read_commit(c) for c in self.index.commits(top))
                for entry in itertools.chain(fresh, later):
                    _note_action(entry, actions)
                    if entry.sha == sha:
                        return actions.get(sha, False)
                return True
            except LookupError:
                pass  # a damaged index: ask git
        on_branch = self._git.try_run("merge-base", "--is-ancestor", sha, "HEAD").returncode == 0
        if not on_branch:
            return True
        for entry in self.log_entries(f"{sha}..HEAD"):
            if entry.trailers.get(TRAILER_UNDO) == sha:
                return True
            if entry.trailers.get(TRAILER_REDO) == sha:
                return False
        return False

    def record(self, sha: str) -> StepRecord | None:
        """The step record stored for commit ``sha``, or None if it has none."""
        note = self._notes.read(RECORDS_REF, sha)
        if note is None:
            return None
        from pydantic import ValidationError

        from autogpt_tui.core.record_models import StepRecord

        try:
            return StepRecord.model_validate_json(note)
        except ValidationError:
            return None

    def diff(self, sha: str) -> str:
        """The patch a step made (against its parent)."""
        return self._git.run("diff-tree", "-p", "--root", "--no-color", "--no-commit-id", "-M", sha)


def index_move(ref: str, old: str | None, new: str) -> RefMove:
    """The unchecked move of index ref ``ref`` (a cache: see RefMove.check)."""
    return RefMove(ref, old or ZERO_SHA, new, check=False)


def _note_action(entry: LogEntry, actions: dict[str, bool]) -> None:
    """Note which step ``entry`` undoes or redoes (the newest such commit wins)."""
    if undo := entry.trailers.get(TRAILER_UNDO):
        actions.setdefault(undo, True)
    if redo := entry.trailers.get(TRAILER_REDO):
        actions.setdefault(redo, False)


def _branch_step(entry: LogEntry, actions: dict[str, bool]) -> Iterator[StepCommit]:
    """The step ``entry`` is, if any, noting the undo/redo commits on the way."""
    _note_action(entry, actions)
    step = entry.as_step(undone=actions.get(entry.sha, False))
    if step is not None:
        yield step


def step_message(
    summary: str, *, session: str, step: int, tool: str, policy: str, role: str | None = None
) -> str:
    """A step commit's message: the one-line summary and the contract's trailers
    (``Agent-Role`` only when several agents work: ``role`` given)."""
    return (
        f"{one_line(summary)}\n\n"
        f"{TRAILER_SESSION}: {one_line(session, 80)}\n"
        f"{TRAILER_STEP}: {step}\n"
        f"{TRAILER_TOOL}: {one_line(tool, 80)}\n"
        f"{TRAILER_POLICY}: {one_line(policy, 80)}\n"
        + (f"{TRAILER_ROLE}: {one_line(role, 80)}\n" if role else "")
    )


def _exclude_line(path: bytes) -> bytes:
    """A gitignore line matching exactly the file ``path`` (relative to the top)."""
    escaped = bytearray(b"/")
    for byte in path:
        char = bytes([byte])
        if char in b"*?[]\\!# ":
            escaped += b"\\" + char
        elif char in b"\n\r":
            escaped += b"?"  # a line cannot hold a newline; `?` matches it
        else:
            escaped += char
    return bytes(escaped)
