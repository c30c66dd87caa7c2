"""Modal screens the workstation opens over its panels: help, text prompts, confirmations."""

from autogpt_tui.ui.screens.confirm import Confirm
from autogpt_tui.ui.screens.help import HelpScreen
from autogpt_tui.ui.screens.prompt import TextPrompt

__all__ = ["Confirm", "HelpScreen", "TextPrompt"]
