"""The master core: the block table of a multi-core system and the block DMA.

Each core's SRAM frames are filled through its :class:`HostPort` (the host
port of docs/architecture.md section 11: block requests in, write-backs out).
The master keeps the block table true:

* **one writer per block at a time**: an ordinary block is in at most one
  core's SRAM.  A core asking for a block another core holds makes that core
  write it back first.  If the holder's registers point into the block (its
  frame is pinned) the holder *lends* it: the frame stays reserved and the
  block comes back to the same frame before the holder runs again, so its
  registers stay valid (objects do not move meanwhile: no core collects a
  block another core has lent, :meth:`Master.may_collect`).  The requester
  waits, in simulated cycles, until the start of the holder's last turn (the
  cores run one turn at a time, so the holder may have used the block any
  time in that turn: the wait is a lower bound, exact to within one turn).
* **read-only replicas** of *read-mostly* blocks (block 0 and the blocks
  that hold methods and classes, like RoarVM's read-mostly heap): any number
  of cores hold copies.  A write into a replica is rare (a class variable, a
  method installed); the simulated cores run one quantum at a time, so the
  master compares each replica a core holds with main memory after the
  core's quantum and sends the changed words to main memory and to every
  other holder (counted in ``replica_updates`` and ``replica_words``; a
  word write through the host port costs a cycle each, as the block DMA).  Hardware would need a write-protect bit per frame
  that traps on a store; docs/architecture.md section 15 says so.

Everything the master does is counted: blocks and bytes moved, requests,
lends, replica updates, and its own service time (wall clock and a modelled
cost in core cycles, :data:`DMA_WORDS_PER_CYCLE`, :data:`REQUEST_CYCLES`).
"""

import time

from blocktalk.sim.memory import words_from_bytes

#: the block DMA moves one 16-bit word per cycle
DMA_WORDS_PER_CYCLE = 1
#: the master's fixed cost of answering one block request, in core cycles
REQUEST_CYCLES = 200


class HostPort:
    """One core's view of the master: what :class:`~blocktalk.sim.memory.CoreMemory`
    calls its ``host``.  Same methods as :class:`~.store.BlockStore`."""

    def __init__(self, master, index):
        self.master = master
        self.index = index
        self.block_size = master.store.block_size

    @property
    def blocks(self):
        return self.master.store.blocks

    def read(self, number):
        return self.master.request(self.index, number)

    def write(self, number, data):
        self.master.write_back(self.index, number, data)

    def release(self, number):
        self.master.release(self.index, number)

    def new_block(self):
        return self.master.new_block(self.index)

    def may_collect(self, number):
        return self.master.may_collect(self.index, number)

    def queue_back_reference_drop(self, number, index, from_block):
        self.master.store.queue_back_reference_drop(number, index, from_block)

    def take_back_reference_drops(self, number):
        return self.master.store.take_back_reference_drops(number)


class Master:
    """The block table of N cores over one :class:`~.store.BlockStore`.

    :param store: main memory (and disk) of blocks.
    :param read_mostly: numbers of the blocks cores may hold as replicas.
    :param clock: ``clock(index)`` answers core ``index``'s simulated cycles;
        the master advances a requester's clock by its waits (``charge``).
    :param turn_start: ``turn_start(index)``: the clock at which core
        ``index``'s last turn began.
    """

    def __init__(self, store, read_mostly, clock, charge, turn_start=None):
        self.store = store
        self.read_mostly = set(read_mostly)
        self.clock = clock
        self.turn_start = turn_start or clock
        self.charge = charge
        self.cores = {}               # index -> Core
        self.writer = {}              # ordinary block -> index of the core holding it
        self.replicas = {}            # read-mostly block -> indexes of the cores holding it
        self.blocks_moved = 0
        self.bytes_moved = 0
        self.requests = 0
        self.lends = 0
        self.clean_releases = 0
        self.replica_updates = 0
        self.replica_words = 0
        self.service_seconds = 0.0
        self.service_cycles = 0
        self.wait_cycles = 0

    def attach(self, index, core):
        self.cores[index] = core

    def detach(self, index):
        """Core ``index`` left (it wrote every block back first)."""
        del self.cores[index]
        for holders in self.replicas.values():
            holders.discard(index)

    # --- the cost model ----------------------------------------------------------------

    def _transfer_cycles(self):
        return self.store.block_size // 2 // DMA_WORDS_PER_CYCLE

    def _moved(self, index, blocks=1):
        self.blocks_moved += blocks
        self.bytes_moved += blocks * self.store.block_size
        cycles = blocks * self._transfer_cycles()
        self.service_cycles += cycles
        self.charge(index, cycles)

    # --- requests from the cores ---------------------------------------------------------

    def request(self, index, number):
        """Core ``index`` loads block ``number`` into a frame: answers its bytes."""
        t0 = time.perf_counter()
        self.requests += 1
        self.service_cycles += REQUEST_CYCLES
        self.charge(index, REQUEST_CYCLES)
        if number in self.read_mostly:
            self.replicas.setdefault(number, set()).add(index)
        else:
            holder = self.writer.get(number)
            if holder is not None and holder != index:
                self._take(holder, number, index)
            self.writer[number] = index
        self.service_seconds += time.perf_counter() - t0
        data = self.store.read(number)
        self._moved(index)
        return data

    def _take(self, holder, number, requester):
        """The holder writes ``number`` back (lending it if it is pinned there)."""
        core = self.cores[holder]
        mem = core.mem
        frame = mem.block_frame[number]
        if frame in mem.pinned:
            mem.lend(frame)
            self.lends += 1
            wait = self.turn_start(holder) - self.clock(requester)
            if wait > 0:               # it was in use in the holder's last turn
                self.wait_cycles += wait
                self.charge(requester, wait)
        else:
            mem.evict(frame)

    def write_back(self, index, number, data):
        t0 = time.perf_counter()
        if number in self.read_mostly:
            self._replica_changed(index, number, data)
        elif self.store.memory.get(number) == data:
            # the frame is clean: the core gives the block up and nothing
            # moves (hardware knows it from the frame's dirty bit; here the
            # bytes say so, which also covers the firmware's writes)
            self.clean_releases += 1
        else:
            self.store.write(number, data)
            self._moved(index)
        self.service_seconds += time.perf_counter() - t0

    def release(self, index, number):
        if number in self.read_mostly:
            self.replicas.get(number, set()).discard(index)
        elif self.writer.get(number) == index:
            del self.writer[number]

    def new_block(self, index):
        number = self.store.new_block()
        self.writer[number] = index
        return number

    def may_collect(self, index, number):
        """A collection moves objects: not in a replica, nor in a block some
        other core has lent (its registers point into it)."""
        if number in self.read_mostly:
            return False
        return not any(number in core.mem.reserved.values()
                       for i, core in self.cores.items() if i != index)

    # --- between quanta --------------------------------------------------------------------

    def restore(self, index):
        """Before core ``index`` runs: the blocks it lent come back to their frames."""
        mem = self.cores[index].mem
        for frame, number in sorted(mem.reserved.items()):
            del mem.reserved[frame]
            mem.load_block(number, frame=frame)

    def sync_replicas(self, index):
        """After core ``index`` ran: replicas it changed go to main memory and
        to every other core holding them."""
        t0 = time.perf_counter()
        mem = self.cores[index].mem
        for number, frame in list(mem.block_frame.items()):
            if number in self.read_mostly:
                self._replica_changed(index, number, mem.block_bytes(frame))
        self.service_seconds += time.perf_counter() - t0

    def _replica_changed(self, index, number, data):
        """Core ``index``'s copy of read-mostly ``number`` is ``data``: the words
        that changed go to main memory and to the other holders."""
        old = self.store.peek(number)
        if data == old:
            return
        new_words = words_from_bytes(data)
        old_words = words_from_bytes(old)
        changed = [i for i in range(len(new_words)) if new_words[i] != old_words[i]]
        self.store.put(number, data)
        self._words_moved(index, len(changed))
        for other in sorted(self.replicas.get(number, ())):
            if other == index or other not in self.cores:
                continue
            omem = self.cores[other].mem
            frame = omem.block_frame.get(number)
            if frame is None:
                continue
            base = (frame << omem.log2) >> 1
            for i in changed:
                omem.mem[base + i] = new_words[i]
            omem.refresh_op_start(frame)
            omem.forget_frame(frame)
            self.replica_updates += 1
            self._words_moved(other, len(changed))

    def _words_moved(self, index, words):
        self.replica_words += words
        self.bytes_moved += 2 * words
        cycles = REQUEST_CYCLES + words // DMA_WORDS_PER_CYCLE
        self.service_cycles += cycles
        self.charge(index, cycles)

    def counters(self):
        return {"blocks_moved": self.blocks_moved, "bytes_moved": self.bytes_moved,
                "block_requests": self.requests, "blocks_lent": self.lends,
                "clean_releases": self.clean_releases,
                "replica_updates": self.replica_updates, "replica_words": self.replica_words,
                "host_service_cycles": self.service_cycles,
                "host_wait_cycles": self.wait_cycles,
                "host_service_ms": round(self.service_seconds * 1000, 1)}
