"""The learning package stands apart from the agent loop it teaches."""

from __future__ import annotations

import subprocess
import sys

LOOP = ("autogpt_tui.core.agent", "autogpt_tui.core.session")


def test_learning_never_imports_the_loop() -> None:
    """Importing every learning module (in a fresh interpreter) loads no loop module."""
    code = (
        "import sys, autogpt_tui.core.learning as learning, pkgutil, importlib\n"
        "for m in pkgutil.iter_modules(learning.__path__):\n"
        "    importlib.import_module(f'autogpt_tui.core.learning.{m.name}')\n"
        f"print(sorted(set({LOOP!r}) & set(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
