"""blocktalk.hw."""
