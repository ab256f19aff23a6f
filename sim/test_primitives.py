"""Primitives of the core (Blue Book ch. 29) and their kernel fallbacks.

Receivers and arguments are method literals; the message is a literal send (a
real lookup of the kernel method and its primitive) unless a test says it uses
the special-selector bytecode.
"""

import pytest

from blocktalk.memory import format as F
from blocktalk.sim.testing import (RawRun, run_raw, run_send, send_code, Sym, Str, Arr, Cls,
                                   Char, New)
from blocktalk.sim.traps import SmalltalkError


def special(b, x, y):
    return run_raw([32, 33, b, 124], [x, y])


def cls_of_send(receiver, selector, *args):
    """The class name of the answer of a literal send."""
    code = send_code(len(args))
    return run_raw(code[:-1] + [199, 124], [Sym(selector), receiver, *args])


# --- SmallInteger arithmetic at the 15-bit boundaries ------------------------------------------

@pytest.mark.parametrize("sel, x, y, expected", [
    ("+", 16383, 1, 16384), ("+", 16382, 1, 16383), ("+", -16384, -1, -16385),
    ("-", -16384, 1, -16385), ("-", -16383, 1, -16384), ("-", 16383, -1, 16384),
    ("*", 128, 128, 16384), ("*", -128, 128, -16384), ("*", 127, 129, 16383),
    ("*", -16384, -1, 16384), ("*", 181, 181, 32761),
])
def test_boundary_arithmetic(sel, x, y, expected):
    assert run_send(x, sel, y) == expected
    kind = "SmallInteger" if F.fits_smallint(expected) else (
        "LargePositiveInteger" if expected > 0 else "LargeNegativeInteger")
    assert cls_of_send(x, sel, y) == kind


def test_boundary_arithmetic_special_selectors_agree():
    assert special(176, 16383, 1) == 16384
    assert special(177, -16384, 1) == -16385
    assert special(184, 128, 128) == 16384
    assert special(184, -128, 128) == -16384


@pytest.mark.parametrize("sel, x, y, expected", [
    ("//", -7, 2, -4), ("//", 7, -2, -4), ("//", -7, -2, 3), ("//", 7, 2, 3),
    ("\\\\", -7, 2, 1), ("\\\\", 7, -2, -1), ("\\\\", -7, -2, -1), ("\\\\", 7, 2, 1),
    ("quo:", -7, 2, -3), ("quo:", 7, -2, -3), ("rem:", -7, 2, -1), ("rem:", 7, -2, 1),
    ("//", -16384, 1, -16384), ("\\\\", -16384, 3, 2),
])
def test_division_with_negatives(sel, x, y, expected):
    assert run_send(x, sel, y) == expected


@pytest.mark.parametrize("sel", ["//", "\\\\", "/", "quo:"])
def test_division_by_zero_is_the_kernel_error(sel):
    with pytest.raises(SmalltalkError, match="ZeroDivide"):
        run_send(5, sel, 0)


def test_exact_and_inexact_division():
    assert run_send(12, "/", -4) == -3
    assert run_send(-6, "/", 4) == "-3/2"
    assert cls_of_send(-6, "/", 4) == "Fraction"


@pytest.mark.parametrize("x, y, expected", [
    (1, 13, 8192), (1, 14, 16384), (-1, 14, -16384), (-1, 15, -32768), (1, 16, 65536),
    (3, 0, 3), (5, -1, 2), (-5, -1, -3), (-16384, -1, -8192), (-16384, -14, -1),
    (16383, -13, 1), (3, -20, 0), (-3, -20, -1), (12345, -15, 0),
])
def test_bit_shift_both_ways(x, y, expected):
    assert run_send(x, "bitShift:", y) == expected
    assert special(188, x, y) == expected


@pytest.mark.parametrize("sel, x, y, expected", [
    ("bitAnd:", -1, 255, 255), ("bitAnd:", 12, 10, 8), ("bitOr:", 12, 3, 15),
    ("bitOr:", -16384, 1, -16383), ("bitXor:", 12, 10, 6), ("bitXor:", -1, 16383, -16384),
])
def test_bit_logic(sel, x, y, expected):
    assert run_send(x, sel, y) == expected


@pytest.mark.parametrize("sel, x, y, expected", [
    ("<", 3, 4, True), (">", 3, 4, False), ("<=", -16384, -16384, True),
    (">=", 16383, -16384, True), ("=", 7, 7, True), ("~=", 7, 7, False),
])
def test_comparisons(sel, x, y, expected):
    assert run_send(x, sel, y) is expected


def test_comparison_with_large_integer_falls_back():
    # 16383 < (16383 + 1): the argument is a LargePositiveInteger
    code = [33, 33, 34, 176, 224, 124]
    assert run_raw(code, [Sym("<"), 16383, 1]) is True


def test_arithmetic_with_non_integer_argument_fails_to_kernel():
    with pytest.raises(SmalltalkError):
        run_send(3, "+", Str("x"))


def test_make_point_primitive():
    assert run_send(3, "@", 4) == "3@4"
    assert cls_of_send(3, "@", 4) == "Point"


# --- at:, at:put:, size -------------------------------------------------------------------

def test_array_at_and_size():
    a = Arr([5, Str("s"), None])
    assert run_send(a, "at:", 1) == 5
    assert run_send(Arr([5, Str("s"), None]), "at:", 2) == "'s'"
    assert run_send(Arr([5, 6, None]), "at:", 3) is None
    assert run_send(Arr([5, 6, 7]), "size") == 3
    assert run_send(Arr([]), "size") == 0


def test_array_at_put_answers_value_and_stores():
    assert run_send(Arr([1, 2]), "at:put:", 2, 9) == 9
    # a at: 2 put: 9. ^a
    code = [33, 35, 36, 240, 135, 33, 124]
    assert run_raw(code, [Sym("at:put:"), Arr([1, 2]), None, 2, 9]) == "(1 9 )"


def test_array_at_put_far_object():
    # storing a Symbol of another block into a fresh Array: export trap
    code = [33, 35, 36, 240, 135, 33, 119, 192, 124]
    assert run_raw(code, [Sym("at:put:"), Arr([1, 2]), None, 2, Sym("who")]) == "#who"


@pytest.mark.parametrize("index", [0, 4, -1])
def test_array_index_out_of_bounds(index):
    with pytest.raises(SmalltalkError, match=f"index out of bounds: {index}"):
        run_send(Arr([1, 2, 3]), "at:", index)
    with pytest.raises(SmalltalkError, match=f"index out of bounds: {index}"):
        run_send(Arr([1, 2, 3]), "at:put:", index, 0)


def test_array_at_non_integer_index():
    with pytest.raises(SmalltalkError, match="index must be an integer"):
        run_send(Arr([1]), "at:", Str("x"))


def test_at_special_selector_bounds_failure():
    with pytest.raises(SmalltalkError, match="index out of bounds: 3"):
        run_raw([32, 33, 192, 124], [Arr([1, 2]), 3])


def test_at_on_non_indexable_object():
    with pytest.raises(SmalltalkError, match="not indexable"):
        run_send(New("BtNode"), "at:", 1)


def test_string_at_answers_characters():
    assert run_send(Str("abc"), "at:", 2) == "$b"
    assert cls_of_send(Str("abc"), "at:", 2) == "Character"
    assert run_send(Str("abc"), "size") == 3
    assert run_send(Str(""), "size") == 0


def test_string_at_put():
    code = [33, 35, 36, 240, 135, 33, 124]
    assert run_raw(code, [Sym("at:put:"), Str("abc"), None, 1, Char("z")]) == "'zbc'"
    # odd length: the last byte
    assert run_raw(code, [Sym("at:put:"), Str("abc"), None, 3, Char("\xff")]) == "'ab\xff'"


def test_string_at_put_non_character():
    with pytest.raises(SmalltalkError, match="Strings can only hold Characters"):
        run_send(Str("abc"), "at:put:", 1, 65)


def test_string_bounds():
    with pytest.raises(SmalltalkError, match="index out of bounds: 4"):
        run_send(Str("abc"), "at:", 4)
    with pytest.raises(SmalltalkError, match="index out of bounds: 0"):
        run_send(Str("abc"), "at:put:", 0, Char("a"))


def test_symbol_is_read_only():
    with pytest.raises(SmalltalkError, match="Symbols cannot be modified"):
        run_send(Sym("who"), "at:put:", 1, Char("x"))
    assert run_send(Sym("who"), "at:", 1) == "$w"


def test_basic_at_on_string_answers_byte():
    assert run_send(Str("A"), "basicAt:", 1) == 65


# --- basicNew, basicNew:, instVarAt: -----------------------------------------------------------

def test_basic_new_fixed_class():
    assert cls_of_send(Cls("BtNode"), "basicNew") == "BtNode"
    # BtNode basicNew value -> nil
    code = [33, 208, 210, 124]
    assert run_raw(code, [Sym("basicNew"), Cls("BtNode"), Sym("value")]) is None


def test_basic_new_on_indexable_class_is_empty():
    code = [33, 208, 210, 124]
    assert run_raw(code, [Sym("basicNew"), Cls("Array"), Sym("size")]) == 0


@pytest.mark.parametrize("cls, n", [("Array", 5), ("String", 3), ("String", 0),
                                    ("Array", 0)])
def test_basic_new_with_size(cls, n):
    code = [33, 34, 224, 211, 124]
    assert run_raw(code, [Sym("basicNew:"), Cls(cls), n, Sym("size")]) == n


def test_basic_new_array_is_nil_filled_string_zero_filled():
    code = [33, 34, 224, 119, 227, 124]       # (cls basicNew: 3) at: 2
    assert run_raw(code, [Sym("basicNew:"), Cls("Array"), 3, Sym("at:")]) is None
    code = [33, 34, 224, 119, 227, 212, 124]   # ((String basicNew: 3) at: 2) value
    assert run_raw(code, [Sym("basicNew:"), Cls("String"), 3, Sym("at:"), Sym("value")]) == 0


def test_basic_new_with_size_errors():
    with pytest.raises(SmalltalkError, match="cannot be sent new:"):
        run_send(Cls("BtNode"), "basicNew:", 3)
    with pytest.raises(SmalltalkError, match="non-negative"):
        run_send(Cls("Array"), "basicNew:", -1)


def test_inst_var_at():
    node = New("BtNode", [None, 5])
    assert run_send(node, "instVarAt:", 2) == 5
    assert run_send(New("BtNode", [7, 5]), "instVarAt:", 1) == 7
    with pytest.raises(SmalltalkError, match="instance variable index out of bounds: 3"):
        run_send(New("BtNode", [None, 5]), "instVarAt:", 3)
    with pytest.raises(SmalltalkError, match="instance variable index out of bounds: 0"):
        run_send(New("BtNode", [None, 5]), "instVarAt:", 0)


def test_inst_var_at_put():
    code = [33, 35, 36, 240, 135, 33, 213, 124]    # (n instVarAt: 2 put: 9). n value
    assert run_raw(code, [Sym("instVarAt:put:"), New("BtNode"), None, 2, 9,
                          Sym("value")]) == 9


# --- identity ------------------------------------------------------------------------

def test_identity_hash_range_and_spread():
    r = RawRun()
    hashes = []
    for i in range(12):
        v = r.run([33, 208, 124], [Sym("identityHash"), Arr([i])])
        hashes.append(r.py(v))
    assert all(F.SMALLINT_MIN <= h <= F.SMALLINT_MAX for h in hashes)   # 15 bits, as asOop
    assert len(set(hashes)) == len(hashes)


def test_identity_hash_of_constants_and_small_integers():
    assert run_send(None, "identityHash") in range(F.SMALLINT_MIN, F.SMALLINT_MAX + 1)
    assert run_send(True, "identityHash") in range(F.SMALLINT_MIN, F.SMALLINT_MAX + 1)
    assert run_send(5000, "identityHash") == 5000 & 2047
    assert run_send(-1, "identityHash") == 2047


def test_identity_hash_is_stable():
    # x identityHash = x identityHash
    r = RawRun()
    code = [33, 208, 33, 208, 182, 124]
    assert r.py(r.run(code, [Sym("identityHash"), Str("x")])) is True


def test_equivalence_primitive():
    assert run_send(3, "==", 3) is True
    assert run_send(Str("a"), "==", Str("a")) is False
    assert run_send(Sym("who"), "==", Sym("who")) is True
    assert run_send(None, "==", False) is False


def test_class_primitive():
    assert run_send(3, "class") == "SmallInteger"
    assert run_send(Sym("who"), "class") == "Symbol"
    assert run_send(Cls("Array"), "class") == "Array class"
    assert run_send(False, "class") == "False"


# --- blocks ---------------------------------------------------------------------------

def block_code(nargs, body):
    """thisContext blockCopy: nargs, then the long jump over ``body``."""
    return [137, 117 + nargs, 200, 164, len(body)] + body


ADD_BLOCK = block_code(2, [105, 104, 16, 17, 176, 125])     # [:a :b | a + b]


def test_block_value_with_arguments():
    code = ADD_BLOCK + [32, 225, 124]          # valueWithArguments: #(3 4)
    assert run_raw(code, [Arr([3, 4]), Sym("valueWithArguments:")], temps=2) == 7


def test_block_value_value():
    code = ADD_BLOCK + [32, 33, 242, 124]
    assert run_raw(code, [3, 4, Sym("value:value:")], temps=2) == 7


def test_block_wrong_argument_count():
    with pytest.raises(SmalltalkError, match="wrong number of arguments"):
        run_raw(ADD_BLOCK + [201, 124], temps=2)
    with pytest.raises(SmalltalkError, match="wrong number of arguments"):
        run_raw(ADD_BLOCK + [32, 225, 124], [Arr([1]), Sym("valueWithArguments:")], temps=2)


def test_value_with_arguments_needs_array():
    with pytest.raises(SmalltalkError, match="needs an Array"):
        run_raw(ADD_BLOCK + [32, 225, 124], [3, Sym("valueWithArguments:")], temps=2)


def test_block_copy_answers_block_context():
    assert run_raw([137, 117, 200, 199, 124]) == "BlockContext"


def test_block_copy_via_literal_send():
    # thisContext blockCopy: 0 as a literal send: same start pc rule
    code = [137, 117, 224, 164, 2, 32 + 1, 125, 201, 124]
    assert run_raw(code, [Sym("blockCopy:"), 42]) == 42


def test_block_reentered():
    # b := [t0 := t0 + 1]. b value. b value. ^t0
    code = [117, 104] + block_code(0, [16, 118, 176, 129, 0x40, 125]) + \
        [105, 17, 201, 135, 17, 201, 135, 16, 124]
    assert run_raw(code, temps=2) == 2


# --- perform ------------------------------------------------------------------------------

def test_perform():
    assert run_send(New("BtSub"), "perform:", Sym("who")) == "#sub"
    assert run_send(3, "perform:", Sym("class")) == "SmallInteger"


def test_perform_with_arguments():
    code = [33, 34, 35, 131, (2 << 5) | 0, 124]
    assert run_raw(code, [Sym("perform:with:"), New("BtFixture"), Sym("whoAndArg:"), 6]) == 6
    code = [33, 34, 35, 36, 131, (3 << 5) | 0, 124]
    assert run_raw(code, [Sym("perform:with:with:"), New("BtFixture"), Sym("add:to:"),
                          3, 4]) == 7


def test_perform_with_arguments_array():
    assert run_send(New("BtFixture"), "perform:withArguments:", Sym("add:to:"),
                    Arr([30, 12])) == 42
    assert run_send(4, "perform:withArguments:", Sym("+"), Arr([5])) == 9


def test_perform_wrong_argument_count():
    with pytest.raises(SmalltalkError, match="wrong number of arguments"):
        run_send(New("BtFixture"), "perform:withArguments:", Sym("add:to:"), Arr([1]))
    with pytest.raises(SmalltalkError, match="wrong number of arguments"):
        run_send(New("BtFixture"), "perform:", Sym("add:to:"))


def test_perform_with_arguments_needs_array():
    with pytest.raises(SmalltalkError, match="must be an Array"):
        run_send(New("BtFixture"), "perform:withArguments:", Sym("who"), 3)


def test_perform_not_understood():
    with pytest.raises(SmalltalkError, match="doesNotUnderstand: #who"):
        run_send(3, "perform:", Sym("who"))


def test_perform_keeps_caller_stack():
    # 1, (fixture perform: #add:to: with: 3 with: 4) -> stack [1, 7]
    r = RawRun()
    code = [37, 33, 34, 35, 36, 131, (3 << 5) | 0, 119, 124]
    r.start(code, [Sym("perform:with:with:"), New("BtFixture"), Sym("add:to:"), 3, 4, 1])
    r.steps(6)          # pushes and the perform (add:to: is active)
    r.steps(4)          # ^a + b
    assert r.stack() == [1, 7]


def test_perform_of_a_primitive_method():
    assert run_send(3, "perform:with:", Sym("+"), 4) == 7
    assert run_send(Arr([5, 6]), "perform:with:", Sym("at:"), 2) == 6


def test_perform_of_a_quick_return_method():
    assert run_send(New("BtNode", [None, 8]), "perform:", Sym("value")) == 8
    assert run_send(New("BtNode"), "perform:", Sym("yourself")) == "a BtNode"


def test_nested_blocks():
    # [[42] value] value: the inner blockCopy: is sent to a BlockContext
    inner = block_code(0, [32, 125]) + [201, 125]
    assert run_raw(block_code(0, inner) + [201, 124], [42]) == 42


@pytest.mark.parametrize("cls, n", [("Array", 5000), ("String", 9000)])
def test_large_object_at_put_size(cls, n):
    # a chunked object (architecture.md section 10) at 8 KB blocks
    x = 7 if cls == "Array" else Char("q")
    lits = [Sym("at:put:"), Cls(cls), n, x, Sym("at:"), Sym("size"), Sym("new:")]
    setup = [33, 34, 230, 104,            # t0 := cls new: n
             16, 34, 35, 240, 135]        # t0 at: n put: x
    assert run_raw(setup + [16, 34, 228, 124], lits, temps=1) == \
        (7 if cls == "Array" else "$q")                       # ^t0 at: n
    assert run_raw(setup + [16, 213, 124], lits, temps=1) == n          # ^t0 size
    assert run_raw(setup + [16, 118, 228, 124], lits, temps=1) == \
        (None if cls == "Array" else "$\x00")                 # ^t0 at: 1
