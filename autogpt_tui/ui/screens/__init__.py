"""Modal screens the workstation opens over its panels: help, text prompts, rewards."""

from autogpt_tui.ui.screens.help import HelpScreen
from autogpt_tui.ui.screens.prompt import TextPrompt

__all__ = ["HelpScreen", "TextPrompt"]
