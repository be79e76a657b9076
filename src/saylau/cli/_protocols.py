"""CLI commands: validate, tabulate, demo."""
