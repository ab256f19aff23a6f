"""become: when a copy has no room in its own block (sim/become.py): the
firmware collects that block (the collect:for: trap) and the send runs again."""

from pathlib import Path

from blocktalk.runner import Machine

PROGRAM = Path(__file__).resolve().parent.parent / "tests" / "programs" / "become.st"


def test_become_collects_a_full_block_and_answers_as_with_room():
    out = []
    machine = Machine([PROGRAM], block_size=4096, out=out.append)
    machine.run_doits()
    assert b"".join(out) == PROGRAM.with_suffix(".out").read_bytes()
    # at 4 KB the GrowingBuffers' become: meets a full block
    assert machine.stats.traps.get("collect", 0) >= 1
