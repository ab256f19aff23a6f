"""Blue Book bytecodes (ch. 28), one group at a time, from raw bytes.

Each test writes a tiny method by hand (see :mod:`blocktalk.sim.testing`), runs it
on a core booted from the kernel image and checks the answer or the stack.
"""

import pytest

from blocktalk.sim.testing import (RawRun, run_raw, run_doit, Sym, Str, Arr, Cls, Char,
                                   Assoc, New, Method)
from blocktalk.sim.traps import SmalltalkError, VMError

FIELDS = [100 + i for i in range(18)]


def fixture(fields=FIELDS):
    return New("BtFixture", list(fields))


# --- push receiver variable 0-15 ---------------------------------------------------------

def test_push_receiver_variable_all_16():
    r = RawRun()
    for b in range(16):
        assert r.py(r.run([b, 124], receiver=fixture())) == 100 + b


def test_push_receiver_variable_leaves_one_value_on_stack():
    r = RawRun()
    r.start([3, 7, 124], receiver=fixture())
    r.steps(2)
    assert r.stack() == [103, 107]


# --- push temporary 16-31 ------------------------------------------------------------------

def test_push_temporary_all_16():
    # temps 0-7 set with store-pop (104-111), temps 8-15 with extended store-pop
    code = []
    for t in range(16):
        code += [32 + t]
        code += [104 + t] if t < 8 else [130, (1 << 6) | t]
    r = RawRun()
    lits = [200 + t for t in range(16)]
    for t in range(16):
        assert r.py(r.run(code + [16 + t, 124], lits, temps=16, large=True)) == 200 + t


def test_temporaries_start_nil():
    assert run_raw([16, 124], temps=1) is None
    assert run_raw([31, 124], temps=16, large=True) is None


# --- push literal constant 32-63 -------------------------------------------------------------

def test_push_literal_constant_all_32():
    r = RawRun()
    lits = [1000 + i for i in range(32)]
    for i in range(32):
        assert r.py(r.run([32 + i, 124], lits)) == 1000 + i


def test_push_literal_constant_objects():
    assert run_raw([32, 124], [Str("abc")]) == "'abc'"
    assert run_raw([33, 124], [1, Sym("who")]) == "#who"
    assert run_raw([32, 124], [Char("z")]) == "$z"
    assert run_raw([32, 124], [None]) is None
    assert run_raw([32, 124], [True]) is True


# --- push literal variable 64-95 -------------------------------------------------------------

def test_push_literal_variable_first_and_last():
    lits = [Assoc(Sym("who"), 10 + i) for i in range(32)]
    r = RawRun()
    assert r.py(r.run([64, 124], lits)) == 10
    assert r.py(r.run([95, 124], lits)) == 41


def test_push_literal_variable_of_a_real_global():
    # a compiled doit that reads a global: its literal is the global's Association
    m, value = run_doit("Transcript class")
    assert value == "TextCollector"


# --- store and pop 96-111 ----------------------------------------------------------------

@pytest.mark.parametrize("k", range(8))
def test_pop_store_receiver_variable(k):
    r = RawRun()
    r.start([32, 96 + k, k, 124], [77], receiver=fixture())
    r.steps(2)
    assert r.stack() == []                 # stored and popped
    assert r.py(r.resume()) == 77


@pytest.mark.parametrize("k", range(8))
def test_pop_store_temporary(k):
    r = RawRun()
    r.start([32, 104 + k, 16 + k, 124], [55], temps=8)
    r.steps(2)
    stack = r.stack()
    assert len(stack) == 8 and stack[k] == 55          # only the temps remain
    assert r.py(r.resume()) == 55


def test_store_receiver_variable_far_value():
    # a Symbol of another block stored into a fresh object: export trap, OutPointer
    r = RawRun()
    before = r.core.stats.traps.get("export", 0)
    v = r.run([32, 96, 0, 124], [Sym("who")], receiver=Assoc(None, None))
    assert r.py(v) == "#who"
    assert r.core.stats.traps.get("export", 0) > before


# --- push self / constants 112-119 -----------------------------------------------------

@pytest.mark.parametrize("b, expected", [(113, True), (114, False), (115, None), (116, -1),
                                         (117, 0), (118, 1), (119, 2)])
def test_push_constant(b, expected):
    v = run_raw([b, 124])
    assert v == expected and type(v) is type(expected)


def test_push_self():
    assert run_raw([112, 124], receiver=42) == 42
    assert run_raw([112, 124], receiver=Str("me")) == "'me'"


def test_push_constants_stack():
    r = RawRun()
    r.start(list(range(112, 120)) + [124], receiver=9)
    r.steps(8)
    assert r.stack() == [9, True, False, None, -1, 0, 1, 2]


# --- returns 120-125 ---------------------------------------------------------------------

@pytest.mark.parametrize("b, expected", [(120, "self"), (121, True), (122, False), (123, None)])
def test_return_from_base_method(b, expected):
    value = run_raw([b], receiver=31)
    assert value == (31 if expected == "self" else expected)


@pytest.mark.parametrize("b, expected", [(121, True), (122, False), (123, None)])
def test_return_to_sender(b, expected):
    r = RawRun()
    r.install("BtFixture", "who", Method([117, 117, b]))     # junk on the stack, then return
    r.start([33, 112, 208, 124], [Sym("who"), 5], receiver=fixture())
    caller = r.core.ctx
    r.steps(3)                 # push 5, push self, send: the callee is active
    assert r.core.ctx != caller and r.stack() == []
    r.steps(3)                 # push 0, push 0, return
    assert r.stack() == [5, expected]       # the caller's stack: its 5 and the answer
    assert r.py(r.resume()) is expected


def test_return_self_to_sender():
    r = RawRun()
    r.install("BtFixture", "who", Method([117, 120]))
    r.start([33, 112, 208, 124], [Sym("who"), 5], receiver=fixture())
    r.steps(5)
    words = r.stack(convert=False)
    assert r.py(words[0]) == 5 and words[1] == r.core.rcvr


def test_return_top_to_sender_restores_caller_stack():
    r = RawRun()
    r.install("BtFixture", "who", Method([32, 124], [66]))
    r.start([33, 112, 208, 124], [Sym("who"), 5], receiver=fixture())
    r.steps(3)                 # push 5, push self, send (the callee is active now)
    r.steps(2)                 # callee: push 66, return top
    assert r.stack() == [5, 66]


def test_block_return_125():
    # [42] value: thisContext, 0, blockCopy:, long jump over the body, body, value
    assert run_raw([137, 117, 200, 164, 2, 32, 125, 201, 124], [42]) == 42


def test_block_with_argument():
    # [:x | x * x] value: 7, the argument stored into home temp 0 as the Blue Book compiler does
    code = [137, 118, 200, 164, 5, 104, 16, 16, 184, 125, 33, 202, 124]
    assert run_raw(code, [None, 7], temps=1) == 49


def test_non_local_return_from_block():
    r = RawRun()
    # who: [^42] value. ^nil
    r.install("BtFixture", "who",
              Method([137, 117, 200, 164, 2, 32, 124, 201, 135, 123], [42]))
    assert r.py(r.run([112, 208, 124], [Sym("who")], receiver=fixture())) == 42


def test_non_local_return_from_dead_home_is_cannot_return():
    r = RawRun()
    # makeBlock: ^[^42]   (the block outlives its home)
    r.install("BtFixture", "who", Method([137, 117, 200, 164, 2, 32, 124, 124], [42]))
    with pytest.raises(SmalltalkError, match="cannotReturn"):
        r.run([112, 208, 201, 124], [Sym("who")], receiver=fixture())


# --- extended push / store 128-130 ----------------------------------------------------------

def test_extended_push_all_kinds():
    r = RawRun()
    assert r.py(r.run([128, 17, 124], receiver=fixture())) == 117          # rcvr var 17
    assert r.py(r.run([32, 104, 128, 0x40, 124], [8], temps=1)) == 8      # temp 0
    assert r.py(r.run([128, 0x80 | 40, 124], list(range(41)))) == 40      # literal 40
    lits = [0] * 40 + [Assoc(None, 12)]
    assert r.py(r.run([128, 0xC0 | 40, 124], lits)) == 12                 # literal var 40


def test_extended_store_keeps_value_on_stack():
    r = RawRun()
    r.start([32, 129, 16, 124], [3], receiver=fixture())
    r.steps(2)
    assert r.stack() == [3]
    assert r.py(r.resume()) == 3


def test_extended_store_into_receiver_variable_beyond_15():
    code = [32, 129, 17, 135, 128, 17, 124]
    assert run_raw(code, [6], receiver=fixture()) == 6


def test_extended_store_pop_temporary_and_literal_variable():
    assert run_raw([32, 130, 0x40 | 2, 18, 124], [4], temps=3) == 4
    # literal variable: store 9 into the Association, then read it back
    assert run_raw([33, 130, 0xC0, 64, 124], [Assoc(None, 1), 9]) == 9


def test_extended_store_into_literal_constant_is_illegal():
    with pytest.raises(VMError, match="literal constant"):
        run_raw([32, 129, 0x80, 124], [1])


def test_store_literal_variable_without_pop():
    r = RawRun()
    r.start([33, 129, 0xC0, 135, 64, 124], [Assoc(None, 1), 9])
    r.steps(2)
    assert r.stack() == [9]
    assert r.py(r.resume()) == 9


# --- extended sends 131-134 --------------------------------------------------------------------

def test_single_extended_send():
    # self add: 3 to: 4
    code = [112, 33, 34, 131, (2 << 5) | 0, 124]
    assert run_raw(code, [Sym("add:to:"), 3, 4], receiver=fixture()) == 7


def test_single_extended_send_literal_31():
    lits = [0] * 31 + [Sym("who")]
    assert run_raw([112, 131, 31, 124], lits, receiver=fixture()) == "#fixture"


def test_double_extended_send_five_arguments():
    code = [112, 33, 34, 35, 36, 37, 132, 5, 0, 124]
    assert run_raw(code, [Sym("a:b:c:d:e:"), 1, 2, 3, 4, 5], receiver=fixture()) == 12345


def test_ordinary_send_finds_subclass_method():
    assert run_raw([112, 131, 0, 124], [Sym("who")], receiver=New("BtSub")) == "#sub"


def test_single_extended_super_send():
    # the method class (last literal's value) is BtSub: lookup starts in BtFixture
    lits = [Sym("who"), Assoc(Sym("BtSub"), Cls("BtSub"))]
    assert run_raw([112, 133, 0, 124], lits, receiver=New("BtSub")) == "#fixture"


def test_double_extended_super_send():
    lits = [Sym("whoAndArg:"), 8, Assoc(Sym("BtSub"), Cls("BtSub"))]
    assert run_raw([112, 33, 134, 1, 0, 124], lits, receiver=New("BtSub")) == 8
    lits = [Sym("who"), Assoc(Sym("BtSub"), Cls("BtSub"))]
    assert run_raw([112, 134, 0, 0, 124], lits, receiver=New("BtSub")) == "#fixture"


def test_compiled_super_send():
    assert run_raw([112, 208, 124], [Sym("superWho")], receiver=New("BtSub")) == "#fixture"


def test_does_not_understand():
    with pytest.raises(SmalltalkError, match="doesNotUnderstand: #who"):
        run_raw([32, 208, 124], [Sym("who"), 3])


# --- pop, dup, thisContext 135-137 ---------------------------------------------------------

def test_pop():
    r = RawRun()
    r.start([32, 33, 135, 124], [1, 2])
    r.steps(3)
    assert r.stack() == [1]
    assert r.py(r.resume()) == 1


def test_dup():
    r = RawRun()
    r.start([32, 136, 176, 124], [21])
    r.steps(2)
    assert r.stack() == [21, 21]
    assert r.py(r.resume()) == 42


def test_dup_of_object_is_identical():
    assert run_raw([32, 136, 198, 124], [Str("x")]) is True


def test_this_context():
    assert run_raw([137, 199, 124]) == "MethodContext"
    # thisContext receiver == self
    assert run_raw([137, 208, 112, 198, 124], [Sym("receiver")], receiver=fixture()) is True


# --- jumps 144-175 ------------------------------------------------------------------------

@pytest.mark.parametrize("k", range(8))
def test_short_jump(k):
    # jump over k+1 bytes of "push 0"
    assert run_raw([144 + k] + [117] * (k + 1) + [119, 124]) == 2


@pytest.mark.parametrize("k", range(8))
def test_short_jump_if_false(k):
    body = [117] * (k + 1)
    assert run_raw([114, 152 + k] + body + [119, 124]) == 2
    r = RawRun()
    r.start([113, 152 + k] + body + [119, 124])
    r.steps(3)
    assert r.stack() == [0]                # true: popped, fell through to push 0


def test_long_jump_forward():
    assert run_raw([164, 2, 117, 117, 118, 124]) == 1
    pad = [117, 135] * 150                 # 300 bytes: offset 256 + 44
    assert run_raw([165, 44] + pad + [118, 124]) == 1


def _count_loop(pad_pairs, n):
    """t0 := 0. [t0 := t0 + 1. <pad>. t0 < n] whileTrue. ^t0 -- with a backward long jump."""
    code = [117, 104]                       # 0: t0 := 0
    loop = len(code)
    code += [16, 118, 176, 104]             # t0 := t0 + 1
    code += [117, 135] * pad_pairs          # padding
    code += [16, 32, 178]                   # t0 < n
    code += [153]                           # jump if false over the back jump (2 bytes)
    at = len(code)
    offset = loop - (at + 2)
    code += [160 + (offset // 256) + 4, offset % 256]
    code += [16, 124]
    assert offset < 0
    return run_raw(code, [n], temps=1)


def test_long_jump_backward():
    assert _count_loop(0, 5) == 5


def test_long_jump_backward_beyond_256_bytes():
    assert _count_loop(200, 3) == 3        # offset about -416: bytecode 162


@pytest.mark.parametrize("b, cond, jumps", [(168, True, True), (168, False, False),
                                            (172, False, True), (172, True, False)])
def test_long_conditional_jump(b, cond, jumps):
    code = [113 if cond else 114, b, 2, 117, 124, 118, 124]
    assert run_raw(code) == (1 if jumps else 0)


def test_long_conditional_jump_high_offset():
    pad = [117, 135] * 129                  # 258 bytes
    assert run_raw([114, 173, 2] + pad + [118, 124]) == 1
    assert run_raw([113, 169, 2] + pad + [118, 124]) == 1


@pytest.mark.parametrize("code", [[32, 152, 117, 124], [32, 168, 1, 117, 124],
                                  [32, 172, 1, 117, 124]])
def test_non_boolean_condition_sends_must_be_boolean(code):
    with pytest.raises(SmalltalkError, match="NonBoolean"):
        run_raw(code, [3])


def test_must_be_boolean_on_nil():
    with pytest.raises(SmalltalkError, match="NonBoolean"):
        run_raw([115, 155, 117, 124])


# --- arithmetic special selectors 176-191 -------------------------------------------------------

@pytest.mark.parametrize("b, x, y, expected", [
    (176, 3, 4, 7), (177, 3, 4, -1), (178, 3, 4, True), (179, 3, 4, False),
    (180, 4, 4, True), (181, 3, 4, False), (182, 4, 4, True), (183, 4, 4, False),
    (184, -3, 4, -12), (185, 12, 4, 3), (186, -7, 2, 1), (188, 3, 2, 12),
    (189, -7, 2, -4), (190, 12, 10, 8), (191, 12, 3, 15),
    (186, 7, -2, -1), (189, 7, -2, -4), (188, -8, -2, -2),
])
def test_arithmetic_selector(b, x, y, expected):
    assert run_raw([32, 33, b, 124], [x, y]) == expected


def test_make_point_187():
    assert run_raw([32, 33, 187, 124], [3, 4]) == "3@4"
    assert run_raw([32, 33, 187, 206, 124], [3, 4]) == 3
    assert run_raw([32, 33, 187, 207, 124], [3, 4]) == 4


def test_inexact_division_answers_fraction():
    assert run_raw([32, 33, 185, 124], [7, 2]) == "7/2"


@pytest.mark.parametrize("b, x, y, expected, cls", [
    (176, 16383, 1, 16384, "LargePositiveInteger"),
    (177, -16384, 1, -16385, "LargeNegativeInteger"),
    (184, 200, 200, 40000, "LargePositiveInteger"),
    (184, -200, 200, -40000, "LargeNegativeInteger"),
    (188, 1, 14, 16384, "LargePositiveInteger"),
    (189, -16384, -1, 16384, "LargePositiveInteger"),
])
def test_arithmetic_overflow_to_large_integer(b, x, y, expected, cls):
    assert run_raw([32, 33, b, 124], [x, y]) == expected
    assert run_raw([32, 33, b, 199, 124], [x, y]) == cls


def test_large_integer_back_to_small_integer():
    # (16383 + 1) - 1 is a SmallInteger again
    assert run_raw([32, 33, 176, 33, 177, 199, 124], [16383, 1]) == "SmallInteger"
    assert run_raw([32, 33, 176, 33, 177, 124], [16383, 1]) == 16383


@pytest.mark.parametrize("b", [185, 186, 189])
def test_division_by_zero(b):
    with pytest.raises(SmalltalkError, match="ZeroDivide"):
        run_raw([32, 33, b, 124], [5, 0])


def test_arithmetic_on_non_integers_is_a_real_send():
    # 'abc' = 'abc' goes to String>>=
    assert run_raw([32, 33, 182, 124], [Str("abc"), Str("abc")]) is True
    assert run_raw([32, 33, 183, 124], [Str("abc"), Str("abd")]) is True


# --- other special selectors 192-207 ------------------------------------------------------------

def test_at_192_and_at_put_193():
    assert run_raw([32, 119, 192, 124], [Arr([7, 8])]) == 8
    assert run_raw([32, 119, 33, 193, 124], [Arr([7, 8]), 9]) == 9
    assert run_raw([32, 119, 33, 193, 135, 32, 124], [Arr([7, 8]), 9]) == "(7 9 )"


def test_size_194():
    assert run_raw([32, 194, 124], [Arr([1, 2, 3])]) == 3
    assert run_raw([32, 194, 124], [Str("abcd")]) == 4


def test_stream_selectors_195_196_197():
    # (ReadStream on: #(5 6)) next
    assert run_raw([32, 33, 226, 195, 124], [Cls("ReadStream"), Arr([5, 6]), Sym("on:")]) == 5
    # (ReadStream on: #()) atEnd
    assert run_raw([32, 33, 226, 197, 124], [Cls("ReadStream"), Arr([]), Sym("on:")]) is True
    # (WriteStream on: (String new: 0)) nextPut: $x; contents
    code = [32, 33, 226, 136, 36, 196, 135, 211, 124]
    lits = [Cls("WriteStream"), Str(""), Sym("on:"), Sym("contents"), Char("x")]
    assert run_raw(code, lits) == "'x'"


def test_identity_198():
    assert run_raw([32, 32, 198, 124], [Str("a")]) is True
    assert run_raw([32, 33, 198, 124], [Str("a"), Str("a")]) is False
    assert run_raw([32, 33, 198, 124], [5, 5]) is True


def test_class_199():
    assert run_raw([117, 199, 124]) == "SmallInteger"
    assert run_raw([115, 199, 124]) == "UndefinedObject"
    assert run_raw([113, 199, 124]) == "True"
    assert run_raw([32, 199, 124], [Arr([])]) == "Array"


def test_do_203():
    # t0 := 0. #(1 2 3 4) do: [:x | t0 := t0 + x]. ^t0
    code = [117, 104, 32, 137, 118, 200, 164, 7, 105, 16, 17, 176, 129, 0x40, 125,
            203, 135, 16, 124]
    assert run_raw(code, [Arr([1, 2, 3, 4])], temps=2) == 10


def test_new_204_and_new_205():
    assert run_raw([32, 204, 199, 124], [Cls("BtNode")]) == "BtNode"
    assert run_raw([32, 33, 205, 194, 124], [Cls("Array"), 3]) == 3
    assert run_raw([32, 33, 205, 194, 124], [Cls("String"), 5]) == 5


# --- literal sends 208-255 -----------------------------------------------------------------

@pytest.mark.parametrize("k", [0, 15])
def test_send_literal_0_args(k):
    lits = [0] * 16
    lits[k] = Sym("who")
    assert run_raw([112, 208 + k, 124], lits, receiver=fixture()) == "#fixture"


@pytest.mark.parametrize("k", [0, 15])
def test_send_literal_1_arg(k):
    lits = [3] * 16
    lits[k] = Sym("whoAndArg:")
    assert run_raw([112, 33, 224 + k, 124], lits,
                   receiver=fixture()) == 3


@pytest.mark.parametrize("k", [0, 15])
def test_send_literal_2_args(k):
    lits = [20] * 16
    lits[k] = Sym("add:to:")
    other = 1 if k == 0 else 0
    assert run_raw([112, 32 + other, 32 + other, 240 + k, 124], lits,
                   receiver=fixture()) == 40


def test_send_pops_arguments():
    r = RawRun()
    r.start([118, 112, 33, 34, 240, 119, 124], [Sym("add:to:"), 3, 4], receiver=fixture())
    r.steps(5)                 # 1, self, 3, 4, send: add:to: is active
    r.steps(4)                 # ^a + b
    assert r.stack() == [1, 7]


def test_quick_return_field_method():
    assert run_raw([112, 208, 124], [Sym("f0")], receiver=fixture()) == 100


def test_non_local_return_to_base_context_ends_the_run():
    # [^42] value. ^0   run as the base method: the home is alive
    assert run_raw([137, 117, 200, 164, 2, 32, 124, 201, 135, 117, 124], [42]) == 42
