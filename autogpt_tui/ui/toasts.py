"""Toasts that cover nothing essential and last as long as they mean something.

Textual puts toasts at the bottom right, for 5 seconds each: there they hid the action
card's "waiting for approval" line at 80×24 and the last lines of the diff, and the
"step N waits" toast outlived the wait it announced. Here they sit at the top right,
one line each where the text allows (app.tcss), over the goal panel's meters; an
information toast lasts `TIMEOUTS` seconds, a warning or an error longer; and a toast
about a state (`notify_while`) is withdrawn as soon as the state ends.
"""

from __future__ import annotations

from textual.app import App
from textual.notifications import Notification, Notify, SeverityLevel

TIMEOUTS: dict[SeverityLevel, float] = {"information": 4.0, "warning": 8.0, "error": 12.0}
"""How long a toast stays when its caller says nothing: long enough to read its sentence,
longer for what went wrong."""
STATE_TIMEOUT = 30.0
"""Longest a toast about a state stays when nobody withdraws it."""


class Toasts(App[None]):
    """The app's toasts: default timeouts by severity, and toasts tied to a state."""

    SUSPENDED_SCREEN_CLASS = "-suspended"
    """Set on a screen while a dialog lies over it: its own toast rack is hidden then
    (app.tcss), or a dialog over the see-through workstation showed each toast twice,
    once on each screen."""

    def __init__(self) -> None:
        super().__init__()
        self._state_toasts: dict[str, Notification] = {}

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Show a toast; without a ``timeout``, for as long as its severity deserves."""
        super().notify(
            message,
            title=title,
            severity=severity,
            timeout=TIMEOUTS.get(severity, TIMEOUTS["information"]) if timeout is None else timeout,
            markup=markup,
        )

    def notify_while(self, state: str, message: str) -> None:
        """Show ``message`` until `withdraw` (``state``) says the state it announces ended
        (or `STATE_TIMEOUT`); a newer toast for the same state replaces it."""
        self.withdraw(state)
        notification = Notification(message, "", "information", STATE_TIMEOUT, markup=False)
        self._state_toasts[state] = notification
        self.post_message(Notify(notification))

    def withdraw(self, state: str) -> None:
        """Take down the toast announcing ``state``, if it is still up."""
        notification = self._state_toasts.pop(state, None)
        if notification is not None and notification in self._notifications:
            self._unnotify(notification)
