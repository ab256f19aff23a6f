"""The block object memory format: every constant the builder, the software core,
the firmware and (later) the RTL core agree on.  ``docs/architecture.md`` explains
each choice; this module is the executable form of that document.

Words are 16 bits.  A block is a power of two between 4 KB and 64 KB.  Inside a
block every pointer is a *near* pointer: the byte offset of the object's header
within the block.  Byte order inside a word is big-endian (Blue Book ch. 26: the
high-order byte of a word comes first), so byte ``i`` of an object body is the
high byte of body word ``i // 2`` when ``i`` is even.
"""

# --- words and oops --------------------------------------------------------

WORD_BITS = 16
WORD_MASK = 0xFFFF

#: SmallIntegers are tagged with bit 0 = 1 and carry 15 signed bits.
SMALLINT_MIN = -(1 << 14)
SMALLINT_MAX = (1 << 14) - 1

#: Immediate constants live in the block header's address range (< 32), where no
#: object can start, so they cannot collide with a near pointer.
NIL = 0
FALSE = 2
TRUE = 4
IMMEDIATE_LIMIT = 16


def is_smallint(oop):
    return oop & 1


def smallint(value):
    """The tagged 16-bit oop of a SmallInteger value (Blue Book ``integerObjectOf:``)."""
    if not SMALLINT_MIN <= value <= SMALLINT_MAX:
        raise OverflowError(f"{value} is not a 15-bit SmallInteger")
    return ((value << 1) | 1) & WORD_MASK


def smallint_value(oop):
    """Blue Book ``integerValueOf:``: arithmetic shift right of the tagged word."""
    v = oop >> 1
    return v - 0x8000 if v & 0x4000 else v


def fits_smallint(value):
    return SMALLINT_MIN <= value <= SMALLINT_MAX


# --- blocks ----------------------------------------------------------------

MIN_BLOCK_SIZE = 4096
MAX_BLOCK_SIZE = 65536
DEFAULT_BLOCK_SIZE = 8192


def check_block_size(size):
    """Raise ValueError unless ``size`` is a power of two in [4 KB, 64 KB]."""
    if not isinstance(size, int) or size < MIN_BLOCK_SIZE or size > MAX_BLOCK_SIZE \
            or size & (size - 1):
        raise ValueError(
            f"block size must be a power of two from {MIN_BLOCK_SIZE} to "
            f"{MAX_BLOCK_SIZE} bytes, not {size!r}")
    return size


def default_sram_size(block_size):
    """The SRAM of a simulated core: 128 KB, or 16 frames for large blocks.

    A trapped bytecode keeps the frames its translations name until it
    completes, and a lookup walks classes in several blocks; with 8 frames of
    16 KB the v2-style workloads thrashed (4,193 block loads against 16 at
    8 KB), so large blocks get 16 frames (docs/architecture.md section 5).
    """
    return max(128 * 1024, 16 * block_size)


#: Block header: 16 words at offset 0.  Word indices:
BH_BLOCK_NUMBER = 0   # this block's number (raw)
BH_LOG2_SIZE = 1      # log2 of the block size
BH_ALLOC = 2          # byte offset of the bump-allocation pointer
BH_FREE_LIST = 3      # byte offset of the first free chunk, 0 = none
BH_INPOINTERS = 4     # near pointer to the InPointer table (an Array), 0 = none
BH_OP_START = 5       # byte offset of the lowest OutPointer entry (0 means block end = 65536)
BH_OP_HASH = 6        # near pointer to the OutPointer hash table (an Array), 0 = none
BH_OP_FREE = 7        # byte offset of the first free OutPointer entry, 0 = none
BH_LIVE_WORDS = 8     # words live after the last collection
BH_GC_COUNT = 9       # collections of this block so far
BH_FLAGS = 10         # BF_* bits
BH_FREE_SMALL_CONTEXTS = 11   # byte offset of the first recycled small MethodContext, 0 = none
BH_FREE_LARGE_CONTEXTS = 12   # ... large MethodContext (each links the next by its first field)
HEADER_WORDS = 16
HEADER_BYTES = 32
FIRST_OBJECT = HEADER_BYTES

BF_SEALED = 1         # too full of live objects: no new allocation here
BF_PINNED = 2         # never evicted (the firmware block)

# --- objects ---------------------------------------------------------------

#: Object header, 3 words: [size in words incl. header,
#: hash high 4 bits | class index (12 bits), format | mark | exported | hash low 11 bits].
#: The identity hash has 15 bits, the SmallInteger range of ``asOop`` (Blue Book
#: primitive 75), so an imported Smalltalk-80 image keeps every hash it had.
OBJ_HEADER_WORDS = 3
OH_SIZE = 0
OH_CLASS = 1
OH_FLAGS = 2

FMT_SHIFT = 13
FMT_MASK = 0x7
MARK_BIT = 1 << 12
EXPORTED_BIT = 1 << 11
HASH_MASK = 0x7FF          # low 11 bits of the identity hash, in the flags word
CLASS_INDEX_MASK = 0x0FFF  # the class word's low 12 bits
HASH_HIGH_SHIFT = 12       # the identity hash's high 4 bits sit above the class index
IDENTITY_HASH_MASK = 0x7FFF


def class_word(class_index, hash_):
    """Header word 1: the class index and the identity hash's high 4 bits."""
    return (class_index & CLASS_INDEX_MASK) | (((hash_ >> 11) & 0xF) << HASH_HIGH_SHIFT)


def identity_hash(class_w, flags_w):
    """The 15-bit identity hash from header words 1 and 2."""
    return ((class_w >> HASH_HIGH_SHIFT) << 11) | (flags_w & HASH_MASK)


def hash_oop(hash_):
    """The SmallInteger ``asOop``/``identityHash`` answers: the 15 hash bits
    under the tag, read as a signed 15-bit value (-16384..16383) as the Blue
    Book's ``primitiveAsOop`` does with an object pointer."""
    return ((hash_ << 1) | 1) & WORD_MASK

FMT_POINTERS = 0      # every field is an oop
FMT_WORDS = 1         # raw 16-bit words
FMT_BYTES = 2         # bytes, even count
FMT_BYTES_ODD = 3     # bytes, odd count (the last byte of the last word is padding)
FMT_METHOD = 4        # CompiledMethod: header + literals are oops, then bytecodes (even)
FMT_METHOD_ODD = 5    # CompiledMethod with an odd bytecode count
FMT_FREE = 6          # a free chunk; its class word holds the next free chunk's offset
FMT_LARGE = 7         # spine of an object larger than a chunk: [SmallInt size, chunk...]
FMT_NAMES = {0: "pointers", 1: "words", 2: "bytes", 3: "bytes", 4: "method", 5: "method",
             6: "free", 7: "large"}


def large_chunk_fields(block_size):
    """Indexable fields per chunk of a large object: a quarter of a block's words.

    A power of two, so the core splits an index into (chunk, offset) with a
    shift and a mask; a quarter block leaves room in the chunk's own block for
    its tables and still makes ``Array new: 8190`` four chunks at 8 KB.
    """
    return block_size // 4


def flags_word(fmt, hash_, exported=False):
    return (fmt << FMT_SHIFT) | (EXPORTED_BIT if exported else 0) | (hash_ & HASH_MASK)


def byte_format(nbytes, method=False):
    return (FMT_METHOD if method else FMT_BYTES) + (nbytes & 1)


def body_words_for_bytes(nbytes):
    return (nbytes + 1) // 2


#: Class format (Behavior ``format``): (kind << 11) + named instance variables.
CLASS_KIND_SHIFT = 11
KIND_FIXED = 0
KIND_POINTERS = 1
KIND_BYTES = 2
KIND_WORDS = 3
KIND_METHOD = 4
KIND_NAMES = {"pointers": KIND_FIXED, "variable": KIND_POINTERS, "bytes": KIND_BYTES,
              "words": KIND_WORDS, "method": KIND_METHOD}


def class_format(kind, named):
    return (kind << CLASS_KIND_SHIFT) + named


def class_format_kind(fmt):
    return fmt >> CLASS_KIND_SHIFT


def class_format_named(fmt):
    return fmt & ((1 << CLASS_KIND_SHIFT) - 1)


# --- OutPointers and InPointers -------------------------------------------

#: An OutPointer is a header-less 2-word entry at the top of its block:
#: [SmallInteger block number, SmallInteger InPointer number].  A near pointer
#: at or above the block's BH_OP_START is an OutPointer.  A free entry holds
#: [nil, next free entry offset].
OUTPOINTER_BYTES = 4

#: An InPointer table is an Array of pairs [local ref, back references]; the
#: InPointer number is the pair index (0-based).  Back references: nil, a
#: SmallInteger block number, or an Array of SmallInteger block numbers.  A free
#: pair holds [nil, nil].
INPOINTER_FIELDS = 2


def outpointer_hash(block_number, inpointer, slots):
    """Slot (0-based) of an OutPointer in its block's OutPointer hash table.

    The firmware computes the same expression in SmallInteger arithmetic, so every
    intermediate stays below 2**14.  Consecutive InPointer numbers (the usual
    case: one block referring to many objects of another) land 5 slots apart,
    so linear probing does not build long runs.
    """
    return ((inpointer & 2047) * 5 + (block_number & 255) * 23) % slots


# --- Method header (Blue Book ch. 27) -------------------------------------

def method_literal_count(header_oop):
    """Literal count from a CompiledMethod header oop (bits 6..1 of the word)."""
    return (header_oop >> 1) & 0x3F


# --- fixed class indices ---------------------------------------------------

#: Class indices the hardware knows.  Index 0 is never used.  Every other class
#: (kernel or user) gets the next free index from FIRST_FREE_CLASS_INDEX.
CLASS_INDEX = {
    "SmallInteger": 1, "UndefinedObject": 2, "True": 3, "False": 4,
    "Array": 5, "String": 6, "Symbol": 7, "Character": 8,
    "CompiledMethod": 9, "MethodContext": 10, "BlockContext": 11,
    "Association": 12, "Point": 13, "LargePositiveInteger": 14,
    "LargeNegativeInteger": 15, "Message": 16, "Process": 17,
    "Semaphore": 18, "MethodDictionary": 19, "Metaclass": 20,
    "Class": 21, "Object": 22, "LinkedList": 23, "ProcessorScheduler": 24,
    "Firmware": 25, "Fraction": 26, "TextCollector": 27, "Float": 28,
}
FIRST_FREE_CLASS_INDEX = 32
MAX_CLASS_INDEX = CLASS_INDEX_MASK

#: Classes per page of the class table.  The table is two-level so that no one
#: object needs an OutPointer for every class: a page's 64 far references fit
#: in any block, where a flat table of an image's 450+ classes does not fit in 4 KB.
CLASS_TABLE_PAGE = 64


def class_table_slot(class_index):
    """(page, entry) of a class index in the class table, both 0-based."""
    return divmod(class_index, CLASS_TABLE_PAGE)


#: Fields of the Firmware object (block 0): what the core and the handlers find there.
FIRMWARE_FIELDS = (
    "classTable",         # Array of pages (Arrays of CLASS_TABLE_PAGE classes): class_table_slot
    "formatTable",        # Array (another block): class index + 1 -> SmallInteger format
    "specialSelectors",   # Array (another block): 32 (selector, arg count) pairs
    "dnuSelector",        # #doesNotUnderstand:
    "mustBeBooleanSelector",
    "cannotReturnSelector",
    "scheduler",          # Processor
    "smalltalk",          # the SystemDictionary
    "characterTable",
    "handlers",           # the trap vector: the Firmware class's MethodDictionary
    "methodDictionaryLayout",  # 0: blocktalk 'tally keys values'; 1: Blue Book (imported)
)

#: Special selector table of bytecodes 176-207 with their argument counts
#: (Blue Book ch. 28, "Send Special Selector Bytecodes").
SPECIAL_SELECTORS = (
    ("+", 1), ("-", 1), ("<", 1), (">", 1), ("<=", 1), (">=", 1), ("=", 1), ("~=", 1),
    ("*", 1), ("/", 1), ("\\\\", 1), ("@", 1), ("bitShift:", 1), ("//", 1),
    ("bitAnd:", 1), ("bitOr:", 1), ("at:", 1), ("at:put:", 2), ("size", 0),
    ("next", 0), ("nextPut:", 1), ("atEnd", 0), ("==", 1), ("class", 0),
    ("blockCopy:", 1), ("value", 0), ("value:", 1), ("do:", 1), ("new", 0),
    ("new:", 1), ("x", 0), ("y", 0),
)

# --- contexts (Blue Book ch. 27) --------------------------------------------
CTX_SENDER = 0       # MethodContext sender / BlockContext caller
CTX_PC = 1
CTX_STACKP = 2
CTX_METHOD = 3       # MethodContext
CTX_RECEIVER_MAP = 4
CTX_RECEIVER = 5
CTX_NARGS = 3        # BlockContext
CTX_STARTPC = 4
CTX_HOME = 5
CTX_TEMP_FRAME_START = 6
SMALL_CONTEXT_FIELDS = 6 + 12
LARGE_CONTEXT_FIELDS = 6 + 32

# --- other fixed layouts (instance variable indices, 0-based) -------------
BEHAVIOR_SUPERCLASS = 0
BEHAVIOR_METHOD_DICT = 1
BEHAVIOR_FORMAT = 2
BEHAVIOR_CLASS_INDEX = 3
CLASS_NAME = 6           # Behavior(4) + ClassDescription(2)
METACLASS_THIS_CLASS = 6
MDICT_TALLY = 0
MDICT_KEYS = 1
MDICT_VALUES = 2
ASSOC_KEY = 0
ASSOC_VALUE = 1
MESSAGE_SELECTOR = 0
MESSAGE_ARGUMENTS = 1
CHARACTER_VALUE = 0
PROCESS_NEXT_LINK = 0
PROCESS_SUSPENDED_CONTEXT = 1
PROCESS_PRIORITY = 2
PROCESS_MY_LIST = 3
LIST_FIRST = 0
LIST_LAST = 1
SEMAPHORE_EXCESS = 2
SCHED_LISTS = 0
SCHED_ACTIVE = 1
SCHED_ACTIVES = 2       # blocktalk: one active process per core (multi-core systems)
MAX_CORES = 16          # activeProcesses slots in a built image

SYMBOL_TABLE_BUCKETS = 256


def symbol_hash(data: bytes):
    """``String>>symbolHash`` of the kernel, in Python (the builder must agree)."""
    h = 0
    for c in data:
        h = ((h & 511) * 31) + c
    return h


def identity_hash_sequence(seed=1):
    """Identity hashes: a 15-bit linear congruential sequence (full period).

    Full period needs multiplier % 4 == 1 and an odd increment (Hull-Dobell).
    """
    h = seed & IDENTITY_HASH_MASK
    while True:
        h = next_identity_hash(h)
        yield h


def next_identity_hash(h):
    """The hash after ``h`` (the RTL core's hash register steps the same way:
    1105 = 1024 + 64 + 16 + 1, three adders)."""
    return (h * 1105 + 2053) & IDENTITY_HASH_MASK
