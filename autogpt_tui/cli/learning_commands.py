"""The subcommands that read what the ratings taught: ``rewards`` and ``export``."""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from autogpt_tui.cli.common import Command, open_history, workspace_argument
from autogpt_tui.core.constants import EXIT_OK
from autogpt_tui.core.errors import UserError

if TYPE_CHECKING:
    from autogpt_tui.core.history import History


def _rewards_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "What the ratings taught: per policy arm, and the top lessons."
    workspace_argument(parser)
    parser.add_argument("--json", action="store_true", help="print a JSON object")


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Export the rated history as OpenAI fine-tuning JSONL. Exit status 0, also when"
        " there is nothing to export: that is said on stderr, stdout stays empty and"
        " FILE is left as it was."
    )
    workspace_argument(parser)
    parser.add_argument("--format", required=True, choices=["sft", "dpo"])
    parser.add_argument(
        "--source",
        choices=["user", "reviewer", "all"],
        default="user",
        help=(
            "whose ratings the examples rest on: yours (the default; a reviewer model's"
            " ratings never become training data unless you ask), a reviewer agent's on"
            " steps you did not rate, or all; each line says which in metadata.source"
        ),
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write here, not stdout")


def cmd_rewards(options: argparse.Namespace) -> int:
    """``rewards [WORKSPACE] [--json]``."""
    from autogpt_tui.core.learning import RewardModel, reviewer_agreement
    from autogpt_tui.core.settings import load_settings

    with open_history(options.workspace) as history:
        settings = load_settings(history.root)
        weight = settings.rewards.reviewer_weight
        arms = [arm.name for arm in settings.policy.arms]
        model = RewardModel.load(history, arms, reviewer_weight=weight)
        goal = _last_goal(history)
        lessons = model.lessons(goal, [], k=10, token_budget=2_000)
        agreement = reviewer_agreement(history.steps())
    stats = model.arm_stats()
    if options.json:
        data = {
            "arms": [s.to_json() for s in stats],
            "lessons": [
                {"kind": x.kind, "text": x.text, "sha": x.sha, "reward": x.reward} for x in lessons
            ],
            "reviewer_weight": weight,
            "agreement": agreement.to_json(),
        }
        print(json.dumps(data, indent=2))
        return EXIT_OK
    reviewed = any(s.reviewer_rated for s in stats) or agreement.both
    print(
        "arm            steps  rated   mean"
        + ("  reviewed   mean" if reviewed else "")
        + "   posterior"
    )
    for s in stats:
        mean = _mean(s.mean_reward)
        extra = f"  {s.reviewer_rated:>8}  {_mean(s.reviewer_mean):>5}" if reviewed else ""
        bar = "█" * round(s.posterior_mean * 20)
        print(
            f"{s.name:<14} {s.steps:>5} {s.rated:>6}  {mean:>5}{extra}   "
            f"{s.posterior_mean:.2f} {bar}"
        )
    if reviewed:
        print(
            f"\n(rated: by you; reviewed: only a reviewer rated them, each weighing {weight:g}"
            " of your ratings)"
        )
        print(agreement.sentence())
        for d in agreement.disagreements:
            reason = f" ({d.reason})" if d.reason else ""
            print(f"  {d.session}#{d.step} you {d.user:+g}, reviewer {d.reviewer:+g}{reason}")
    if lessons:
        print("\nlessons" + (f" (for the goal: {goal})" if goal else ""))
        for lesson in lessons:
            mark = "note" if lesson.kind == "avoid" else "worked"
            print(f"  {mark:<6} {lesson.text}")
    else:
        print("\nNo lessons yet: rate steps with + and - (or autogpt-tui rate).")
    return EXIT_OK


def _mean(value: float | None) -> str:
    return f"{value:+.2f}" if value is not None else "  -  "


def _last_goal(history: History) -> str:
    latest = next(iter(history.steps_on_branch(records=True, expect=1)), None)
    if latest is None or latest.record is None:
        return ""
    return latest.record.goal


_NOTHING_TO_EXPORT = {
    "sft": (
        "Nothing to export as sft: no step qualifies (steps rated down, and undone steps not"
        " rated up, are left out)."
    ),
    "dpo": (
        "Nothing to export as dpo: no pair to prefer (a pair needs a rejected proposal, or a"
        " step rated down and one rated up at the same point of a session)."
    ),
}


def cmd_export(options: argparse.Namespace) -> int:
    """``export [WORKSPACE] --format {sft,dpo} [--source user|reviewer|all] [-o FILE]``.

    Nothing to export is not an error: one sentence on stderr, nothing on stdout, FILE
    left as it was (an earlier export in it is not emptied), and exit status 0.
    """
    from autogpt_tui.core.learning import export_dpo, export_sft
    from autogpt_tui.core.settings import load_settings

    chosen = export_sft if options.format == "sft" else export_dpo

    def export(history: History, out: TextIO, *, secrets: list[str]) -> int:
        return chosen(history, out, secrets=secrets, source=options.source)

    with open_history(options.workspace) as history:
        key = load_settings(history.root).api_key_value()
        secrets = [key] if key else []
        if options.output:
            # Written whole once it is known there is something to write.
            buffer = io.StringIO()
            count = export(history, buffer, secrets=secrets)
            if count:
                target = Path(options.output)
                try:
                    target.write_text(buffer.getvalue(), encoding="utf-8")
                except OSError as err:
                    raise UserError(f"Cannot write {target}: {err.strerror or err}.") from None
                plural = "s" if count != 1 else ""
                print(f"Wrote {count} {options.format} example{plural} to {target}.")
        else:
            count = export(history, sys.stdout, secrets=secrets)
        if not count:
            reason = _NOTHING_TO_EXPORT[options.format]
            if options.source == "reviewer":
                reason = (
                    f"Nothing to export as {options.format} resting on the reviewer's ratings"
                    " (they count only on steps you did not rate, clear or undo)."
                )
            if not history.steps(limit=1):
                reason = "Nothing to export: there are no agent steps yet."
            print(f"autogpt-tui: {reason}", file=sys.stderr)
    return EXIT_OK


COMMANDS = (
    Command("rewards", _rewards_arguments, cmd_rewards),
    Command("export", _export_arguments, cmd_export),
)
