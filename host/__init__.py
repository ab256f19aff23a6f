"""blocktalk.host."""
