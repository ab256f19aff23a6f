"""Blue Book bytecode numbers (Smalltalk-80, chapter 28).

Ranges (first value named here; the low bits hold an index or offset):

=========  ==========================================================
0-15       push receiver variable #n
16-31      push temporary location #n
32-63      push literal constant #n
64-95      push literal variable #n (value of the Association)
96-103     pop and store receiver variable #n
104-111    pop and store temporary location #n
112-119    push self, true, false, nil, -1, 0, 1, 2
120-123    return self, true, false, nil from the method
124/125    return stack top from method / from block to its caller
128        extended push   (next byte: 2-bit kind, 6-bit index;
           kinds: 0 receiver var, 1 temp, 2 literal constant, 3 literal var)
129        extended store  (same operand; kind 2 is illegal)
130        extended pop and store (same operand)
131        single extended send (next byte: 3-bit arg count, 5-bit literal)
132        double extended send (next bytes: arg count, literal index)
133/134    single / double extended super send
135 pop, 136 duplicate top, 137 push thisContext
144-151    jump forward 1-8
152-159    pop and jump forward 1-8 if false
160-167    jump (low 3 bits - 4) * 256 + next byte
168-171    pop and jump (low 2 bits) * 256 + next byte if true
172-175    pop and jump (low 2 bits) * 256 + next byte if false
176-207    send special selector #n (see SPECIAL_SELECTOR_LIST)
208-255    send literal selector #n with 0, 1 or 2 arguments
=========  ==========================================================
"""

PUSH_RECEIVER_VARIABLE = 0
PUSH_TEMP = 16
PUSH_LITERAL_CONSTANT = 32
PUSH_LITERAL_VARIABLE = 64
POP_STORE_RECEIVER_VARIABLE = 96
POP_STORE_TEMP = 104
PUSH_SELF, PUSH_TRUE, PUSH_FALSE, PUSH_NIL = 112, 113, 114, 115
PUSH_MINUS_ONE, PUSH_ZERO, PUSH_ONE, PUSH_TWO = 116, 117, 118, 119
RETURN_SELF, RETURN_TRUE, RETURN_FALSE, RETURN_NIL = 120, 121, 122, 123
RETURN_TOP = 124
BLOCK_RETURN_TOP = 125
EXTENDED_PUSH = 128
EXTENDED_STORE = 129
EXTENDED_POP_STORE = 130
SINGLE_EXTENDED_SEND = 131
DOUBLE_EXTENDED_SEND = 132
SUPER_SEND = 133
DOUBLE_EXTENDED_SUPER_SEND = 134
POP = 135
DUP = 136
PUSH_THIS_CONTEXT = 137
SHORT_JUMP = 144
SHORT_JUMP_IF_FALSE = 152
LONG_JUMP = 160
LONG_JUMP_IF_TRUE = 168
LONG_JUMP_IF_FALSE = 172
SEND_SPECIAL = 176
SEND_LITERAL_SELECTOR = 208

#: Bytecodes 176-207 in order: 176-191 are the arithmetic selectors.
SPECIAL_SELECTOR_LIST = (
    '+', '-', '<', '>', '<=', '>=', '=', '~=',
    '*', '/', '\\\\', '@', 'bitShift:', '//', 'bitAnd:', 'bitOr:',
    'at:', 'at:put:', 'size', 'next', 'nextPut:', 'atEnd', '==', 'class',
    'blockCopy:', 'value', 'value:', 'do:', 'new', 'new:', 'x', 'y',
)
SPECIAL_SELECTORS = {sel: SEND_SPECIAL + i for i, sel in enumerate(SPECIAL_SELECTOR_LIST)}
