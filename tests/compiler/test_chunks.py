"""The chunk-format reader: definitions, method sections, doits, escapes."""
import pytest

from blocktalk.compiler import (ClassDefinition, ClassInstanceVariables, ClassScope,
                                CompileError, Doit, MethodsFor, MethodSource,
                                compile_method, read_chunks)

FILE = """'demo file'!

Object subclass: #Animal
  instanceVariableNames: 'name sound '
  classVariableNames: 'Count'
  poolDictionaries: ''
  category: 'Demo'!

Animal variableSubclass: #Herd
\tinstanceVariableNames: ''
\tclassVariableNames: ''
\tpoolDictionaries: 'Pool1 Pool2'
\tcategory: 'Demo-Herds'!
nil subclass: #Root instanceVariableNames: '' classVariableNames: '' poolDictionaries: '' category: 'Kernel'!
Object variableByteSubclass: #Bytes instanceVariableNames: '' classVariableNames: '' poolDictionaries: '' category: 'X'!
Object variableWordSubclass: #Words instanceVariableNames: '' classVariableNames: '' poolDictionaries: '' category: 'X'!
Animal class instanceVariableNames: 'registry'!

!Animal methodsFor: 'speaking'!
speak
\t^'Hello!!'!
name
\t^name! !

!Animal class methodsFor: 'instance creation'!
named: aString
\t^self new setName: aString! !

Transcript show: 'done!!'; cr!
  !
Animal comment: 'an animal'"""


def test_read_chunks_kinds_and_positions():
    chunks = read_chunks(FILE, 'demo.st')
    assert [type(c).__name__ for c in chunks] == [
        'Doit', 'ClassDefinition', 'ClassDefinition', 'ClassDefinition', 'ClassDefinition',
        'ClassDefinition', 'ClassInstanceVariables', 'MethodsFor', 'MethodsFor', 'Doit', 'Doit']
    doit, animal, herd, root, byts, words, civ, inst, meta, show, comment = chunks
    assert doit == Doit("'demo file'", 1, 1)
    assert animal == ClassDefinition('Object', 'Animal', 'pointers', ['name', 'sound'],
                                     ['Count'], [], 'Demo', 3, 1)
    assert herd == ClassDefinition('Animal', 'Herd', 'variable', [], [], ['Pool1', 'Pool2'],
                                   'Demo-Herds', 9, 1)
    assert (root.superclass, root.name, root.kind, root.line) == (None, 'Root', 'pointers', 14)
    assert (byts.kind, words.kind) == ('bytes', 'words')
    assert civ == ClassInstanceVariables('Animal', ['registry'], 17, 1)
    assert (inst.class_name, inst.is_meta, inst.category, inst.line, inst.column) == (
        'Animal', False, 'speaking', 19, 2)
    assert inst.methods == [MethodSource("speak\n\t^'Hello!'", 20, 1),
                            MethodSource('name\n\t^name', 22, 1)]
    assert (meta.class_name, meta.is_meta, meta.category) == ('Animal', True, 'instance creation')
    assert meta.methods == [MethodSource('named: aString\n\t^self new setName: aString', 26, 1)]
    assert show == Doit("Transcript show: 'done!'; cr", 29, 1)
    # the final chunk has no terminating '!' but is kept
    assert comment == Doit("Animal comment: 'an animal'", 31, 1)


def test_method_sources_compile_with_file_positions():
    inst = read_chunks(FILE, 'demo.st')[7]
    scope = ClassScope('Animal', ['name', 'sound'])
    spec = compile_method(inst.methods[0].source, scope, line=inst.methods[0].line,
                          column=inst.methods[0].column, filename='demo.st')
    assert spec.literals == ['Hello!'] and spec.source_line == 20
    with pytest.raises(CompileError) as info:
        compile_method('speak\n\t^(1', scope, filename='demo.st', line=20, column=1)
    assert str(info.value) == "demo.st:21:5: expected ')' to close the parenthesis opened at 21:3"


def test_methods_for_needs_a_preceding_empty_chunk():
    chunks = read_chunks("Foo methodsFor: 'x'!\nbar ^1! !", 'f.st')
    assert chunks == [Doit("Foo methodsFor: 'x'", 1, 1), Doit('bar ^1', 2, 1)]


def test_unterminated_method_section_and_crlf():
    chunks = read_chunks("!Foo methodsFor: 'a'!\r\nbar\r\n\t^1!\r\nbaz ^2", 'f.st')
    assert chunks == [MethodsFor('Foo', False, 'a', [MethodSource('bar\r\n\t^1', 2, 1),
                                                      MethodSource('baz ^2', 4, 1)], 1, 2)]


def test_blank_chunks_are_skipped():
    assert read_chunks('  \n ! !\n\n', 'f.st') == []
    assert read_chunks('', 'f.st') == []


def test_consecutive_sections():
    text = "!A methodsFor: 'x'!\na ^1! !\n!B methodsFor: 'y'!\nb ^2! !\n"
    a, b = read_chunks(text, 'f.st')
    assert (a.class_name, [m.source for m in a.methods]) == ('A', ['a ^1'])
    assert (b.class_name, b.line, [m.source for m in b.methods]) == ('B', 3, ['b ^2'])


@pytest.mark.parametrize('text, line, column, message', [
    ("Object subclass: Foo instanceVariableNames: '' classVariableNames: '' "
     "poolDictionaries: '' category: 'X'!", 1, 18, "expected a symbol for the class name"),
    ("Object subclass: #Foo instanceVariableNames: 3 classVariableNames: '' "
     "poolDictionaries: '' category: 'X'!", 1, 46, "expected a string for the instance variable names"),
    ("\n  Object subclass: #Foo instanceVariableNames: '' classVariableNames: #a "
     "poolDictionaries: '' category: 'X'!", 2, 71, "expected a string for the class variable names"),
    ("Object subclass: #Foo instanceVariableNames: '' classVariableNames: '' "
     "poolDictionaries: x category: 'X'!", 1, 90, "expected a string for the pool dictionaries"),
    ("Object subclass: #Foo instanceVariableNames: '' classVariableNames: '' "
     "poolDictionaries: '' category: nil!", 1, 103, "expected a string for the category"),
    ("Object subclass: #Foo instanceVariableNames: 'a'!", 1, 8,
     "expected class definition message "
     "'subclass:instanceVariableNames:classVariableNames:poolDictionaries:category:', "
     "found 'subclass:instanceVariableNames:'"),
    ("Object subclass: #Foo instanceVariableNames: 'a!", 1, 46, "unterminated string"),
    ("true subclass: #Foo instanceVariableNames: '' classVariableNames: '' "
     "poolDictionaries: '' category: 'X'!", 1, 1, "expected a superclass name or nil"),
    ("Foo class instanceVariableNames: 3!", 1, 34,
     "expected a string for the instance variable names"),
    ("\n!Foo methodsFor: #x!", 2, 18, "expected a string for the method category"),
])
def test_malformed_definitions(text, line, column, message):
    with pytest.raises(CompileError) as info:
        read_chunks(text, 'bad.st')
    e = info.value
    assert (e.message, e.line, e.column, e.filename) == (message, line, column, 'bad.st')
