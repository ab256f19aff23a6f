"""build_image on small programs (no kernel): objects, bindings, errors."""

import pytest

from blocktalk.memory import format as F
from blocktalk.compiler import CompileError
from blocktalk.image.builder import build_image
from blocktalk.image.errors import ImageError

from imagecheck import check_image, symbol_name

FIRMWARE = """Object subclass: #Firmware
	instanceVariableNames: '%s'
	classVariableNames: 'Traps'
	poolDictionaries: ''
	category: 'Firmware'!

!Firmware methodsFor: 'handlers'!
lookup: selector in: aClass
	| dict |
	dict := aClass methodDict.
	^dict isNil ifTrue: [#(notFound 3 $x 'str' (nested #sym))] ifFalse: [Traps at: selector]
!
fault
	^Processor yourself
! !
""" % " ".join(F.FIRMWARE_FIELDS)

PROGRAM = """Object subclass: #Animal
	instanceVariableNames: 'name legs'
	classVariableNames: 'Count'
	poolDictionaries: ''
	category: 'Zoo'!

Animal subclass: #Dog
	instanceVariableNames: 'owner'
	classVariableNames: ''
	poolDictionaries: ''
	category: 'Zoo'!

Dog class instanceVariableNames: 'registry'!

!Animal methodsFor: 'access'!
name
	^name
!
legs: n
	legs := n. Count := Count + 1
!
big
	^100000000000000000000 negated + 70000
!
bytes
	^#[1 2 255]
! !

!Dog methodsFor: 'access'!
speak
	^super name , 'woof' , Count printString
! !

!Dog class methodsFor: 'creation'!
new
	^super new legs: 4
!
registry
	^registry
! !

Transcript show: Dog new speak!
Undeclared := 3!
"""


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    import os
    os.environ.setdefault("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    return {size: build_image([("fw.st", FIRMWARE), ("zoo.st", PROGRAM)], block_size=size,
                              include_kernel=False)
            for size in (4096, 65536)}


@pytest.mark.parametrize("size", [4096, 65536])
def test_invariants(images, size):
    image = images[size]
    m, nmethods = check_image(image)
    assert nmethods == 9
    assert len(image.meta["doits"]) == 2
    assert image.meta["doits"][0]["file"] == "zoo.st"
    assert image.meta["doits"][0]["line"] == 42
    assert any("Undeclared" in w for w in image.warnings)
    assert "Dog class>>new" in image.meta["methods"].values()


def class_named(image, m, name):
    fw = image.meta["firmware"]["offset"]
    tb, to = m.deref(0, m.field(0, fw, 0))
    index = [int(k) for k, v in image.meta["class_names"].items() if v == name][0]
    page, entry = F.class_table_slot(index)          # the two-level class table
    pb, po = m.deref(tb, m.fields(tb, to)[page])
    return m.deref(pb, m.fields(pb, po)[entry])


def method(m, cb, c, selector):
    db, d = m.deref(cb, m.field(cb, c, F.BEHAVIOR_METHOD_DICT))
    kb, keys = m.deref(db, m.field(db, d, 1))
    vb, vals = m.deref(db, m.field(db, d, 2))
    for i, k in enumerate(m.fields(kb, keys)):
        if k != F.NIL and symbol_name(m, *m.deref(kb, k)) == selector:
            return m.deref(vb, m.field(vb, vals, i))
    raise KeyError(selector)


def test_classes_and_metaclasses(images):
    image = images[65536]
    m, _ = check_image(image)
    db, dog = class_named(image, m, "Dog")
    ab, animal = class_named(image, m, "Animal")
    mb, dogm = class_named(image, m, "Dog class")
    assert m.deref(db, m.field(db, dog, 0)) == (ab, animal)
    assert m.field(db, dog, F.BEHAVIOR_FORMAT) == F.smallint(F.class_format(F.KIND_FIXED, 3))
    assert m.cls(db, dog) == m.field(mb, dogm, F.BEHAVIOR_CLASS_INDEX) >> 1
    assert m.deref(mb, m.field(mb, dogm, F.METACLASS_THIS_CLASS)) == (db, dog)
    # Dog class has Class's 9 fields + registry; its format says so
    assert m.nfields(db, dog) == 10
    assert m.field(mb, dogm, F.BEHAVIOR_FORMAT) == F.smallint(10)
    assert m.cls(mb, dogm) == F.CLASS_INDEX["Metaclass"]
    # Object class superclass == Class
    ob, objm = class_named(image, m, "Object class")
    assert m.deref(ob, m.field(ob, objm, 0)) == class_named(image, m, "Class")
    nb, name = m.deref(db, m.field(db, dog, F.CLASS_NAME))
    assert m.byte_data(nb, name) == b"Dog"
    ib, ivars = m.deref(db, m.field(db, dog, 4))
    assert [m.byte_data(*m.deref(ib, s)) for s in m.fields(ib, ivars)] == [b"owner"]
    # CompiledMethod's class format
    cb, cm = class_named(image, m, "CompiledMethod")
    assert m.field(cb, cm, F.BEHAVIOR_FORMAT) >> 1 == F.class_format(F.KIND_METHOD, 0)


def test_literals_and_bindings(images):
    image = images[65536]
    m, _ = check_image(image)
    ab, animal = class_named(image, m, "Animal")
    # class variable binding: same Association as in Animal's classPool
    pb, pool = m.deref(ab, m.field(ab, animal, 7))
    parr = m.deref(pb, m.field(pb, pool, 1))
    pool_assocs = {m.deref(parr[0], a) for a in m.fields(*parr) if a != F.NIL}
    mb, legs = method(m, ab, animal, "legs:")
    lits = [m.deref(mb, v) for v in m.fields(mb, legs)[1:] if not v & 1 and v > 15]
    assert pool_assocs & set(lits)
    # large integer literal: negated magnitude bytes little-endian
    mb, big = method(m, ab, animal, "big")
    large = [m.deref(mb, v) for v in m.fields(mb, big)[1:] if not v & 1 and v > 15]
    lb, lo = [x for x in large if m.cls(*x) == F.CLASS_INDEX["LargePositiveInteger"]][0]
    assert int.from_bytes(m.byte_data(lb, lo), "little") == 10 ** 20
    # byte array literal -> Array of SmallIntegers
    mb, by = method(m, ab, animal, "bytes")
    arr = [m.deref(mb, v) for v in m.fields(mb, by)[1:] if not v & 1 and v > 15][0]
    assert m.fields(*arr) == [F.smallint(1), F.smallint(2), F.smallint(255)]
    # super in a class method: last literal = Association(#Dog -> Dog class)
    db, dog = class_named(image, m, "Dog")
    mb, new = method(m, *class_named(image, m, "Dog class"), "new")
    xb, assoc = m.deref(mb, m.fields(mb, new)[-1])
    assert m.deref(xb, m.field(xb, assoc, 1)) == class_named(image, m, "Dog class")
    assert symbol_name(m, *m.deref(xb, m.field(xb, assoc, 0))) == "Dog"
    # header word: literal count agrees with the fields
    hdr = m.field(mb, new, 0)
    assert F.method_literal_count(hdr) == m.nfields(mb, new) - 1


def test_globals_and_processor(images):
    image = images[4096]
    m, _ = check_image(image)
    pb, proc = image.meta["globals"]["Processor"]
    assert m.cls(pb, proc) == F.CLASS_INDEX["ProcessorScheduler"]
    lb, lists = m.deref(pb, m.field(pb, proc, F.SCHED_LISTS))
    assert m.nfields(lb, lists) == 8
    assert all(m.cls(*m.deref(lb, x)) == F.CLASS_INDEX["LinkedList"] for x in m.fields(lb, lists))
    ab, active = m.deref(pb, m.field(pb, proc, F.SCHED_ACTIVE))
    assert m.field(ab, active, F.PROCESS_PRIORITY) == F.smallint(4)
    cb, chars = image.meta["globals"]["CharacterTable"]
    assert m.nfields(cb, chars) == 256
    xb, x = m.deref(cb, m.field(cb, chars, 65))
    assert m.field(xb, x, 0) == F.smallint(65)
    tb, tr = image.meta["globals"]["Transcript"]
    assert m.cls(tb, tr) == F.CLASS_INDEX["TextCollector"]


def test_firmware_block(images):
    for image in images.values():
        m, _ = check_image(image)
        # the trap vector is in block 0; the tables are far (architecture.md section 5)
        fields = m.fields(0, image.meta["firmware"]["offset"])
        assert fields[F.FIRMWARE_FIELDS.index("handlers")] < m.op_start(0)
        assert all(o >= m.op_start(0) for o in fields[:3])


def test_deterministic():
    a = build_image([("fw.st", FIRMWARE), ("zoo.st", PROGRAM)], 8192, include_kernel=False)
    b = build_image([("fw.st", FIRMWARE), ("zoo.st", PROGRAM)], 8192, include_kernel=False,
                    use_cache=False)
    assert a.blocks == b.blocks and a.meta == b.meta


def build(text, **kw):
    return build_image([("bad.st", text)], 8192, include_kernel=False, use_cache=False, **kw)


DEF = """%s subclass: #%s
	instanceVariableNames: '%s'
	classVariableNames: ''
	poolDictionaries: ''
	category: 'X'!
"""


@pytest.mark.parametrize("text,message", [
    (DEF % ("Nope", "A", ""), "bad.st:1:1: unknown superclass Nope"),
    ("\n\n!Nope methodsFor: 'x'!\nfoo ^1\n! !\n", "bad.st:3:2: unknown class Nope"),
    (DEF % ("Object", "A", "a") + DEF % ("Object", "A", "b"),
     "bad.st:6:1: class A redefined with a different shape (first defined at bad.st:1:1)"),
    (DEF % ("Object", "A", "") + "!A methodsFor: 'x'!\nfoo\n  ^2.5\n! !\n",
     "bad.st:7:1: Float literals are not supported"),
])
def test_source_errors(text, message):
    with pytest.raises(ImageError) as e:
        build(text)
    assert str(e.value) == message


def test_compile_error_has_position():
    with pytest.raises(CompileError) as e:
        build(DEF % ("Object", "A", "") + "!A methodsFor: 'x'!\nfoo\n  ^(1\n! !\n")
    assert str(e.value).startswith("bad.st:")


def test_same_shape_redefinition_is_fine():
    image = build(DEF % ("Object", "A", "a") + DEF % ("Object", "A", "a"))
    assert "A" in image.meta["class_names"].values()


def test_bad_block_size():
    with pytest.raises(ImageError, match="block size"):
        build_image([], 1000, include_kernel=False)
