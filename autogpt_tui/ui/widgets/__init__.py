"""The workstation's widgets, one per module, each named after its class."""
