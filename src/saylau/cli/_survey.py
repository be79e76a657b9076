"""CLI commands: survey (filled in by its capability)."""
