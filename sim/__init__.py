"""blocktalk.sim."""
