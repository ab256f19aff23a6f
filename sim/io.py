"""Input/output primitives (Blue Book ch. 29, "I/O primitives") served by the host.

The display, cursor and input devices are the host's: the core hands it the
objects (the Blue Book keeps them in the VM; here the host records which Form
is the display so that it can read its bitmap for a screenshot).
"""



def prim_be_cursor(core, nargs):
    """Blue Book ``primitiveBeCursor`` (101)."""
    core.host_io["cursor"] = core.top(0)


def prim_be_display(core, nargs):
    """Blue Book ``primitiveBeDisplay`` (102): this Form is the screen."""
    core.host_io["display"] = core.top(0)


from .bitblt import prim_copy_bits  # noqa: E402

IO_PRIMITIVES = {96: prim_copy_bits, 101: prim_be_cursor, 102: prim_be_display}
