"""The workstation in a browser: a textual-serve server that starts the TUI for each
browser connection, guarded so that only pages it served itself can drive it."""
