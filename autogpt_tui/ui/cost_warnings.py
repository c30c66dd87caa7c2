"""A cost budget on a model nobody prices can stop nothing: say so when the workstation
opens, not only when the agent's session opens at its first step.

The price lookup may import genai-prices (~0.4 s), so it runs on a thread after the
first frame; the warning reaches the screen as the loop's own ``CostUnenforceable``
event would, and each model is warned about once (the session warns again when it
opens, and that second one is dropped).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from autogpt_tui.core.events import CostUnenforceable
from autogpt_tui.ui.messages import AgentEventMessage

if TYPE_CHECKING:
    from autogpt_tui.ui.app import WorkstationApp


def warn_unpriced_at_launch(app: WorkstationApp) -> None:
    """Look up the configured models' prices off the event loop; warn about unpriced ones."""
    settings = app.settings
    if settings.agent.max_cost_usd is None:
        return

    def look_up() -> None:
        from autogpt_tui.core.session import cost_warnings

        for warning in cost_warnings(settings):
            app.post_message(AgentEventMessage(warning))  # thread-safe

    app.run_worker(look_up, thread=True, group="cost-warnings", exit_on_error=False)


def first_warning(warned: set[str], event: CostUnenforceable) -> bool:
    """Whether ``event`` is the first warning about its model (and note that it was)."""
    if event.model in warned:
        return False
    warned.add(event.model)
    return True
