"""saylau.io."""
