"""CLI commands: forensics (filled in by its capability)."""
