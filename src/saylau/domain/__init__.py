"""saylau.domain."""
