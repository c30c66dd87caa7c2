"""What the model is doing while the agent waits for it, in a few words for the goal
panel: a spinner, how long it has been thinking, the tokens streamed so far, and when a
failed request will be tried again.

Everything is computed from a clock passed in (``time.monotonic`` in the app), never
read here, so a test can freeze it or move it on: the spinner's frame follows the
elapsed time, not a counter, and a snapshot taken at a fixed time is always the same.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
"""The spinner's frames, one every :data:`FRAME_S` seconds of elapsed time."""
FRAME_S = 0.125
"""How long each spinner frame shows (and how often the goal panel redraws it)."""


def format_elapsed(seconds: float) -> str:
    """A duration in whole units: ``12s``, ``2m05s``, ``1h02m``."""
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def format_count(value: int) -> str:
    """A token count in at most five characters: ``950``, ``12.3k``, ``123k``, ``4.5M``."""
    if value < 1000:
        return str(value)
    for scale, suffix in ((1_000, "k"), (1_000_000, "M"), (1_000_000_000, "G")):
        scaled = value / scale
        # Judge by the rounded value, so that 99,960 is "100k" and not "100.0k".
        if round(scaled, 1) < 100:
            return f"{scaled:.1f}{suffix}"
        if round(scaled) < 1000:
            return f"{scaled:.0f}{suffix}"
    return f"{value / 1_000_000_000:.0f}G"


def format_tokens(tokens: int) -> str:
    """A token count in words, compact: ``1 token``, ``340 tokens``, ``12.3k tokens``."""
    return f"{format_count(tokens)} token{'' if tokens == 1 else 's'}"


@dataclass
class ModelActivity:
    """One model request as the user waits for it (from the first thinking to the last)."""

    started: float | None = None
    """When the agent began waiting for the model (clock time); None when it is not."""
    tokens: int = 0
    """Tokens streamed so far in the current attempt (estimated)."""
    retry_at: float | None = None
    """When the next attempt starts (clock time), while a failed request waits."""
    attempt: int = 0
    """The attempt being made or waited for (1 for the first try); 0 when not known."""
    max_attempts: int | None = None
    """How many attempts the client makes in all, when it says."""

    @property
    def active(self) -> bool:
        """Whether the agent waits for the model now."""
        return self.started is not None

    def start(self, now: float) -> None:
        """The agent began waiting for the model at ``now``."""
        self.started = now
        self.tokens = 0
        self.retry_at = None
        self.attempt = 0
        self.max_attempts = None

    def stop(self) -> None:
        """The model answered, or the agent stopped waiting for it."""
        self.started = None
        self.retry_at = None

    def streamed(self, tokens: int) -> None:
        """About ``tokens`` tokens of the answer have arrived in this attempt."""
        self.tokens = tokens
        self.retry_at = None  # the new attempt is under way

    def retrying(self, now: float, delay_s: float, attempt: int, max_attempts: int | None) -> None:
        """A request failed; attempt ``attempt`` starts ``delay_s`` seconds after ``now``."""
        if self.started is None:
            self.started = now
        self.tokens = 0  # the failed attempt's text is void
        self.retry_at = now + max(delay_s, 0.0)
        self.attempt = attempt
        self.max_attempts = max_attempts

    def describe(self, now: float) -> str:
        """The status in words at ``now``: ``⠙ thinking 12s · 340 tokens``, ``⠙ retrying
        in 3s (attempt 2/5)``; empty when the agent does not wait for the model."""
        if self.started is None:
            return ""
        elapsed = max(0.0, now - self.started)
        frame = SPINNER[int(elapsed / FRAME_S) % len(SPINNER)]
        attempt = ""
        if self.attempt:
            attempt = f"attempt {self.attempt}"
            if self.max_attempts is not None:
                attempt += f"/{self.max_attempts}"
        if self.retry_at is not None and now < self.retry_at:
            # Rounded up: "in 0s" would say it is under way while it still waits.
            wait = math.ceil(self.retry_at - now)
            return f"{frame} retrying in {wait}s ({attempt})"
        text = f"{frame} thinking {format_elapsed(elapsed)}"
        if attempt:
            text += f" ({attempt})"
        if self.tokens:
            text += f" · {format_tokens(self.tokens)}"
        return text
