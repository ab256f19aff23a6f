"""blocktalk: a Smalltalk-80 machine with a block-structured object memory."""
