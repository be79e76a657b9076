"""saylau.survey."""
