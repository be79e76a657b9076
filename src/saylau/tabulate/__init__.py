"""saylau.tabulate."""
