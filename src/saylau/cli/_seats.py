"""CLI commands: seats (filled in by its capability)."""
