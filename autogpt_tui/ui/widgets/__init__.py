"""The workstation's widgets, one per module, each named after its class (but for the
parts `ActionLog` is built from: `log_entries`, its data, and `log_window`, its base)."""
