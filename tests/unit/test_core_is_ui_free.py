"""The headless core never loads the UI toolkit (DESIGN.md's one hard line)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import autogpt_tui.core


def test_importing_every_core_module_loads_neither_textual_nor_rich() -> None:
    modules = [
        f"autogpt_tui.core.{m.name}" for m in pkgutil.iter_modules(autogpt_tui.core.__path__)
    ]
    assert "autogpt_tui.core.history" in modules
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
        + "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
