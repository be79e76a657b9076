"""CLI commands: exitpoll (filled in by its capability)."""
