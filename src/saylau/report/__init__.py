"""saylau.report."""
