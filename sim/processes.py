"""Process scheduling primitives 85-88 (Blue Book ch. 29, "Process Primitives").

The scheduler's objects (ProcessorScheduler, its LinkedLists, Processes,
Semaphores, contexts) may each live in a different block, so every primitive
runs as a *transaction*: it reads (which may trap on import) and records its
writes; then every write is translated (which may trap on export); only then
is anything written and the active context switched.  A trap anywhere before
that leaves no trace and the send is executed again (docs/architecture.md §7).
"""

from blocktalk.memory import format as F
from .traps import CoreIdle, VMError
from .primitives import PrimitiveFailed, _answer

NIL, FALSE, TRUE = F.NIL, F.FALSE, F.TRUE


class Transaction:
    """Reads see this transaction's own writes; nothing reaches memory before
    :meth:`commit`."""

    def __init__(self, core):
        self.core = core
        self.mem = core.mem
        self.writes = {}
        self.readied = False      # a process was made ready (an idle core may take it)

    def read(self, obj, index):
        key = (obj, index)
        if key in self.writes:
            return self.writes[key]
        return self.mem.fetch(obj, index)

    def write(self, obj, index, value):
        self.writes[(obj, index)] = value

    def commit(self):
        mem = self.mem
        words = [(obj, index, mem.encode(value, obj & ~mem.mask))
                 for (obj, index), value in self.writes.items()]
        m = mem.mem
        for obj, index, w in words:
            m[(obj >> 1) + 3 + index] = w
            mem.dirty[obj >> mem.log2] = True
        if self.readied and self.core.on_ready is not None:
            self.core.on_ready()


# --- LinkedList (Blue Book ``isEmptyList:``, ``removeFirstLinkOfList:``, ``addLastLink:toList:``)

def is_empty_list(tx, lst):
    return tx.read(lst, F.LIST_FIRST) == NIL


def remove_first_link(tx, lst):
    first = tx.read(lst, F.LIST_FIRST)
    last = tx.read(lst, F.LIST_LAST)
    if first == last:
        tx.write(lst, F.LIST_FIRST, NIL)
        tx.write(lst, F.LIST_LAST, NIL)
    else:
        tx.write(lst, F.LIST_FIRST, tx.read(first, F.PROCESS_NEXT_LINK))
    tx.write(first, F.PROCESS_NEXT_LINK, NIL)
    return first


def add_last_link(tx, link, lst):
    if is_empty_list(tx, lst):
        tx.write(lst, F.LIST_FIRST, link)
    else:
        tx.write(tx.read(lst, F.LIST_LAST), F.PROCESS_NEXT_LINK, link)
    tx.write(lst, F.LIST_LAST, link)
    tx.write(link, F.PROCESS_MY_LIST, lst)


# --- the scheduler (Blue Book ``sleep:``, ``resume:``, ``suspendActive``, ``transferTo:``)

def scheduler(core):
    return core.firmware_field_value("scheduler")


# Each core of a multi-core system (``core.core_index`` set) runs its own
# active process: the scheduler's third field, ``activeProcesses``, holds one
# slot per core; a lone core uses the Blue Book's ``activeProcess`` field.

def active_process(tx, sched):
    index = tx.core.core_index
    if index is None:
        return tx.read(sched, F.SCHED_ACTIVE)
    return tx.read(_active_slots(tx, sched), index)


def set_active_process(tx, sched, process):
    index = tx.core.core_index
    if index is None:
        tx.write(sched, F.SCHED_ACTIVE, process)
    else:
        tx.write(_active_slots(tx, sched), index, process)


def _active_slots(tx, sched):
    if tx.mem.body_words(sched) <= F.SCHED_ACTIVES:
        raise VMError("this image's ProcessorScheduler has no activeProcesses slots: "
                      "it runs on one core only")
    slots = tx.read(sched, F.SCHED_ACTIVES)
    if slots & 1 or slots < 16 or tx.core.core_index >= tx.mem.body_words(slots):
        raise VMError(f"the scheduler has no activeProcesses slot for core "
                      f"{tx.core.core_index}")
    return slots


def priority_list(tx, sched, priority):
    lists = tx.read(sched, F.SCHED_LISTS)
    if not 1 <= priority <= tx.mem.body_words(lists):
        raise PrimitiveFailed()
    return tx.read(lists, priority - 1)


def sleep(tx, sched, process):
    priority = F.smallint_value(tx.read(process, F.PROCESS_PRIORITY))
    add_last_link(tx, process, priority_list(tx, sched, priority))
    tx.readied = True


def wake_highest_priority(tx, sched):
    lists = tx.read(sched, F.SCHED_LISTS)
    for p in range(tx.mem.body_words(lists), 0, -1):
        lst = tx.read(lists, p - 1)
        if not is_empty_list(tx, lst):
            return remove_first_link(tx, lst)
    if tx.core.core_index is not None:
        return None             # the core goes idle (transfer_to)
    raise VMError("every process is waiting: nothing can run (deadlock)")


def transfer_to(core, tx, sched, process):
    """Record the switch in ``tx`` and prefetch the new registers; commit and
    switch.  The active context is stored in the active Process, which makes it
    escape (it is no longer recycled when it returns).  With no ``process``
    (a core of several with nothing ready) the core goes idle."""
    active = active_process(tx, sched)
    if process is None:
        leave_active_process(core, tx, sched, active)
        raise CoreIdle()
    new_ctx = tx.read(process, F.PROCESS_SUSPENDED_CONTEXT)
    if new_ctx == NIL or new_ctx & 1:
        raise PrimitiveFailed()
    tx.write(active, F.PROCESS_SUSPENDED_CONTEXT, core.ctx)
    set_active_process(tx, sched, process)
    tx.write(process, F.PROCESS_MY_LIST, NIL)
    registers = core.prefetch_registers(new_ctx)
    tx.commit()
    core.mark_escaped(core.ctx)
    core.save_registers()
    core.switch_registers(new_ctx, *registers)


def resume(core, tx, sched, process):
    """Blue Book ``resume:``: preempt the active process if ``process`` has a
    higher priority, else queue it."""
    active = active_process(tx, sched)
    if F.smallint_value(tx.read(process, F.PROCESS_PRIORITY)) > \
            F.smallint_value(tx.read(active, F.PROCESS_PRIORITY)):
        sleep(tx, sched, active)
        transfer_to(core, tx, sched, process)
    else:
        sleep(tx, sched, process)
        tx.commit()


def _receiver(core):
    r = core.top(0)
    if r & 1 or r < 16:
        raise PrimitiveFailed()
    return r


def prim_signal(core, nargs):
    """Blue Book ``primitiveSignal`` (85)."""
    signal_semaphore(core, _receiver(core))


def signal_semaphore(core, sema):
    """Blue Book ``synchronousSignal:``: resume the first waiting process, or
    count an excess signal.  Also the host's asynchronous signals (timer, input),
    which it makes between bytecodes."""
    tx = Transaction(core)
    sched = scheduler(core)
    if is_empty_list(tx, sema):
        excess = tx.read(sema, F.SEMAPHORE_EXCESS)
        tx.write(sema, F.SEMAPHORE_EXCESS, F.smallint(F.smallint_value(excess) + 1))
        tx.commit()
    else:
        resume(core, tx, sched, remove_first_link(tx, sema))


def prim_wait(core, nargs):
    """Blue Book ``primitiveWait`` (86)."""
    sema = _receiver(core)
    tx = Transaction(core)
    excess = F.smallint_value(tx.read(sema, F.SEMAPHORE_EXCESS))
    if excess > 0:
        tx.write(sema, F.SEMAPHORE_EXCESS, F.smallint(excess - 1))
        tx.commit()
        return
    sched = scheduler(core)
    add_last_link(tx, active_process(tx, sched), sema)
    transfer_to(core, tx, sched, wake_highest_priority(tx, sched))


def prim_resume(core, nargs):
    """Blue Book ``primitiveResume`` (87)."""
    process = _receiver(core)
    tx = Transaction(core)
    if tx.read(process, F.PROCESS_SUSPENDED_CONTEXT) == NIL:
        raise PrimitiveFailed()
    resume(core, tx, scheduler(core), process)


def prim_suspend(core, nargs):
    """Blue Book ``primitiveSuspend`` (88): only the active process."""
    process = _receiver(core)
    tx = Transaction(core)
    sched = scheduler(core)
    if process != active_process(tx, sched):
        raise PrimitiveFailed()
    transfer_to(core, tx, sched, wake_highest_priority(tx, sched))


def prim_active_process(core, nargs):
    """``activeProcess`` (123, blocktalk's): the process this core runs."""
    tx = Transaction(core)
    _answer(core, 0, active_process(tx, scheduler(core)))


def take_ready_process(core):
    """An idle core of a multi-core system takes the first ready process of
    the highest priority (host/system.py); False if none is ready.  A
    transaction like the primitives': it may trap and be retried."""
    tx = Transaction(core)
    sched = scheduler(core)
    process = wake_highest_priority(tx, sched)
    if process is None:
        return False
    ctx = tx.read(process, F.PROCESS_SUSPENDED_CONTEXT)
    set_active_process(tx, sched, process)
    tx.write(process, F.PROCESS_MY_LIST, NIL)
    registers = core.prefetch_registers(ctx)
    tx.commit()
    core.switch_registers(ctx, *registers)
    return True


def preempt_active_process(core):
    """A core leaving the system puts its process back among the ready ones."""
    tx = Transaction(core)
    sched = scheduler(core)
    active = active_process(tx, sched)
    sleep(tx, sched, active)
    leave_active_process(core, tx, sched, active)


def leave_active_process(core, tx, sched, active):
    """The core stops running ``active`` and runs none: its context is stored
    in it (and escapes, as in ``transfer_to``), its slot becomes nil; commits."""
    tx.write(active, F.PROCESS_SUSPENDED_CONTEXT, core.ctx)
    set_active_process(tx, sched, NIL)
    tx.commit()
    core.mark_escaped(core.ctx)
    core.save_registers()


PROCESS_PRIMITIVES = {85: prim_signal, 86: prim_wait, 87: prim_resume, 88: prim_suspend,
                      123: prim_active_process}


def image_process_state(machine):
    """A report of the scheduler, read by the host without running anything:
    the active process's priority, the ready processes, and the processes
    waiting on the input and timer Semaphores (``blocktalk resume``)."""
    from .inspect import Inspector
    core = machine.core
    ins = Inspector(core)
    fw = (0, machine.image.meta["firmware"]["offset"])
    sched = ins.field(fw, F.FIRMWARE_FIELDS.index("scheduler"))
    active = ins.field(sched, F.SCHED_ACTIVE)

    def linked(lst):
        n = 0
        p = ins.field(lst, F.LIST_FIRST)
        while p[0] not in ("int", "imm") and n < 10000:
            n += 1
            p = ins.field(p, F.PROCESS_NEXT_LINK)
        return n
    report = {"active_process_priority": ins.field(active, F.PROCESS_PRIORITY)[1]}
    lists = ins.field(sched, F.SCHED_LISTS)
    ready = []
    for i in range(ins.size_words(lists) - F.OBJ_HEADER_WORDS):
        n = linked(ins.field(lists, i))
        if n:
            ready.append(f"{n} at {i + 1}")
    report["ready_processes"] = ", ".join(ready) or "none"
    for name in ("input", "timer"):
        sema = core.host_io.get(name)
        report[f"waiting_on_{name}_semaphore"] = linked(ins.loc(sema)) if sema else 0
    return report
