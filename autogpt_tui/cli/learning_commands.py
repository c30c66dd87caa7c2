"""The subcommands that read what the ratings taught: ``rewards`` and ``export``."""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

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
    parser.add_argument("-o", "--output", metavar="FILE", help="write here, not stdout")


def cmd_rewards(options: argparse.Namespace) -> int:
    """``rewards [WORKSPACE] [--json]``."""
    from autogpt_tui.core.learning import RewardModel
    from autogpt_tui.core.settings import load_settings

    with open_history(options.workspace) as history:
        settings = load_settings(history.root)
        model = RewardModel.load(history, [arm.name for arm in settings.policy.arms])
        goal = _last_goal(history)
        lessons = model.lessons(goal, [], k=10, token_budget=2_000)
    stats = model.arm_stats()
    if options.json:
        data = {
            "arms": [s.to_json() for s in stats],
            "lessons": [
                {"kind": x.kind, "text": x.text, "sha": x.sha, "reward": x.reward} for x in lessons
            ],
        }
        print(json.dumps(data, indent=2))
        return EXIT_OK
    print("arm            steps  rated   mean   posterior")
    for s in stats:
        mean = f"{s.mean_reward:+.2f}" if s.mean_reward is not None else "  -  "
        bar = "█" * round(s.posterior_mean * 20)
        print(f"{s.name:<14} {s.steps:>5} {s.rated:>6}  {mean:>5}   {s.posterior_mean:.2f} {bar}")
    if lessons:
        print("\nlessons" + (f" (for the goal: {goal})" if goal else ""))
        for lesson in lessons:
            mark = "note" if lesson.kind == "avoid" else "worked"
            print(f"  {mark:<6} {lesson.text}")
    else:
        print("\nNo lessons yet: rate steps with + and - (or autogpt-tui rate).")
    return EXIT_OK


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
    """``export [WORKSPACE] --format {sft,dpo} [-o FILE]``.

    Nothing to export is not an error: one sentence on stderr, nothing on stdout, FILE
    left as it was (an earlier export in it is not emptied), and exit status 0.
    """
    from autogpt_tui.core.learning import export_dpo, export_sft
    from autogpt_tui.core.settings import load_settings

    export = export_sft if options.format == "sft" else export_dpo
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
            if not history.steps(limit=1):
                reason = "Nothing to export: there are no agent steps yet."
            print(f"autogpt-tui: {reason}", file=sys.stderr)
    return EXIT_OK


COMMANDS = (
    Command("rewards", _rewards_arguments, cmd_rewards),
    Command("export", _export_arguments, cmd_export),
)
