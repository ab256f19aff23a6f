"""blocktalk.firmware."""
