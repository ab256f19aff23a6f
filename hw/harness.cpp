// C++ harness of the core cluster's Verilator model (hw/verilated.py builds
// and loads it through ctypes).
//
// The model is a CoreCluster (hw/cluster.py): CORES execution cores behind one
// host port.  Everything the host does -- load a core's registers, write its
// OutPointer table, fill and flush its tables, run and stop it, take its
// request from the mailbox and read what it stopped on -- goes through that
// port's register bus, one clock per access, as it will over the FPGA bridge.
// Each core's SRAM port is served here, cycle by cycle, from a buffer of
// 16-bit words the caller owns -- that core's software core's SRAM
// (sim/memory.py), so that the two share one memory model and a trap hands
// over registers only.  The SRAM is the same registered single-port RAM as
// hw/sram.py: a write leaves the read data as it was; a read answers on the
// next cycle.
//
// ports.h (written by hw/verilated.py) defines CORES, the REG_* and CTL_*
// numbers of the register map, and the accessors of the per-core ports.

#include <cstdint>
#include <cstring>

#include "Vtop.h"
#include "verilated.h"
#include "ports.h"

namespace {

struct Harness {
    VerilatedContext* context;
    Vtop* top;
    uint16_t* mem[CORES];     // each core's SRAM, or null while no core uses the slot
    uint32_t words;
    uint32_t nframes;
    uint32_t op_start[CORES][64];  // what each core's OutPointer table holds
    uint32_t staging[REG_FILL_DATA + 1];  // what the shared staging registers hold
    bool staged[REG_FILL_DATA + 1];
    // cycles per retired bytecode, by bytecode (from the retire port); entry
    // 256 counts the cycles of attempts that stopped on a trap
    uint64_t hist_count[CORES][257];
    uint64_t hist_cycles[CORES][257];
    uint64_t bus_cycles;      // clocks spent on host-port accesses
};

// One clock: combinational outputs settle, the edge, then each SRAM acts on
// the address its core presented during the cycle.
inline void tick(Harness* h) {
    Vtop* t = h->top;
    t->clk = 0;
    t->eval();
    uint32_t addr[CORES];
    uint16_t wdata[CORES];
    bool we[CORES];
    for (int k = 0; k < CORES; k++) {
        addr[k] = mem_addr(t, k) & (h->words - 1);
        we[k] = mem_we(t, k);
        wdata[k] = mem_wdata(t, k);
    }
    t->clk = 1;
    t->eval();
    for (int k = 0; k < CORES; k++) {
        uint16_t* mem = h->mem[k];
        if (!mem) continue;
        if (we[k])
            mem[addr[k]] = wdata[k];
        else
            set_mem_rdata(t, k, mem[addr[k]]);
    }
}

inline uint32_t address(int core, int reg) { return (uint32_t(core) << 5) | uint32_t(reg); }

void bus_write(Harness* h, int core, int reg, uint32_t value) {
    Vtop* t = h->top;
    t->host_addr = address(core, reg);
    t->host_wdata = value;
    t->host_we = 1;
    tick(h);
    t->host_we = 0;
    h->bus_cycles++;
}

uint32_t bus_read(Harness* h, int core, int reg) {
    Vtop* t = h->top;
    t->host_addr = address(core, reg);
    t->host_re = 1;
    tick(h);
    t->host_re = 0;
    h->bus_cycles++;
    return t->host_rdata;
}

// The staging registers are shared by the cores: a write that would not
// change one is left out.
void stage(Harness* h, int reg, uint32_t value) {
    if (h->staged[reg] && h->staging[reg] == value) return;
    bus_write(h, 0, reg, value);
    h->staging[reg] = value;
    h->staged[reg] = true;
}

}  // namespace

extern "C" {

// Register block shared with Python (hw/verilated.py, REGISTERS):
// R_ALLOC is the allocation frame, or 0xFFFFFFFF for none.
// R_SPECIALS is the specialSelectors Array's core address, 0 if not resident.
// R_FORMATS and R_CHARACTERS the formatTable's and characterTable's.
// R_ALLOC_LIMIT: objects end below this byte offset of the allocation frame
// (0: the core allocates nothing).  R_HASH: the last identity hash given out,
// in and out.
enum { R_CTX, R_HOME, R_METHOD, R_RCVR, R_IP, R_SP, R_ALLOC, R_SPECIALS, R_FORMATS,
       R_CHARACTERS, R_ALLOC_LIMIT, R_HASH, R_COUNT };

int bt_cores() { return CORES; }

void* bt_new(uint32_t words, uint32_t nframes) {
    if (nframes > 64) return nullptr;
    Harness* h = new Harness();
    h->context = new VerilatedContext();
    h->top = new Vtop(h->context);
    h->words = words;
    h->nframes = nframes;
    Vtop* t = h->top;
    t->host_we = 0;
    t->host_re = 0;
    t->rst = 1;
    tick(h);
    tick(h);
    t->rst = 0;
    tick(h);
    for (int k = 0; k < CORES; k++)
        for (uint32_t f = 0; f < 64; f++) h->op_start[k][f] = 65536;  // the reset value
    return h;
}

// Core ``core`` works on ``mem`` (its software core's SRAM) from now on.
void bt_attach(void* p, int core, uint16_t* mem) {
    static_cast<Harness*>(p)->mem[core] = mem;
}

void bt_free(void* p) {
    Harness* h = static_cast<Harness*>(p);
    h->top->final();
    delete h->top;
    delete h->context;
    delete h;
}

// Run core ``core`` from registers regs[R_*] until it halts or has retired
// max_retire bytecodes.  op_start[f] is frame f's OutPointer region start
// (written into the core's table where it changed).  Answers the halt
// reason, or -1 if the core ran max_cycles cycles without halting (-2 if the
// mailbox named another core); regs get the core's registers back, out[0..5] =
// retired, cycles, dirty frames, result, trap key (high part), trap key.
int bt_run(void* p, int core, uint32_t* regs, const uint32_t* op_start, uint64_t max_retire,
           uint64_t max_cycles, int keep, uint64_t* out) {
    Harness* h = static_cast<Harness*>(p);
    Vtop* t = h->top;
    for (uint32_t f = 0; f < h->nframes; f++) {
        if (h->op_start[core][f] != op_start[f]) {
            bus_write(h, core, REG_OP_TABLE, (f << 17) | op_start[f]);
            h->op_start[core][f] = op_start[f];
        }
    }
    static const int staged[R_COUNT] = {REG_CTX, REG_HOME, REG_METHOD, REG_RCVR, REG_IP, REG_SP,
                                        REG_ALLOC, REG_SPECIALS, REG_FORMATS, REG_CHARACTERS,
                                        REG_ALLOC_LIMIT, REG_HASH};
    for (int r = 0; r < R_COUNT; r++) stage(h, staged[r], regs[r]);
    bus_write(h, core, REG_CONTROL, CTL_LOAD);
    bus_write(h, core, REG_CONTROL,
              CTL_RUN | (keep ? CTL_KEEP : 0) | (max_retire == 0 ? CTL_STOP : 0));
    uint64_t retired = 0;
    uint64_t cycles = 0;
    uint64_t since = 0;      // cycles since the last retirement (or the start)
    bool halted = false;
    while (cycles < max_cycles) {
        t->clk = 0;
        t->eval();
        if (t->attention) {
            halted = true;
            break;
        }
        since++;
        uint8_t bytecode;
        if (retired_bytecode(t, core, &bytecode)) {
            h->hist_count[core][bytecode]++;
            h->hist_cycles[core][bytecode] += since;
            since = 0;
            if (++retired >= max_retire) {
                // the retiring cycle completes; the next is the first cycle of
                // the next bytecode, where a CONTROL write's stop acts at once
                // (in the retiring cycle it could cancel a one-cycle bytecode
                // whose retirement was already seen)
                tick(h);
                bus_write(h, core, REG_CONTROL, CTL_STOP);
                cycles += 2;
                continue;
            }
        }
        tick(h);
        cycles++;
    }
    if (!halted) return -1;
    h->hist_count[core][256]++;
    h->hist_cycles[core][256] += since;
    uint32_t mailbox = bus_read(h, core, REG_MAILBOX);
    if (!(mailbox & MAILBOX_VALID) || ((mailbox >> 8) & 0xFF) != uint32_t(core)) return -2;
    int reason = mailbox & 0xFF;
    bus_write(h, core, REG_CONTROL, 0);    // the stop level goes
    regs[R_CTX] = bus_read(h, core, REG_CTX);
    regs[R_HOME] = bus_read(h, core, REG_HOME);
    regs[R_METHOD] = bus_read(h, core, REG_METHOD);
    regs[R_RCVR] = bus_read(h, core, REG_RCVR);
    regs[R_IP] = bus_read(h, core, REG_IP);
    regs[R_SP] = bus_read(h, core, REG_SP);
    regs[R_HASH] = bus_read(h, core, REG_HASH);
    out[0] = retired;
    out[1] = bus_read(h, core, REG_CYCLES);
    out[2] = bus_read(h, core, REG_DIRTY);
    out[3] = bus_read(h, core, REG_RESULT);
    out[4] = bus_read(h, core, REG_TRAP_KEY_HI);
    out[5] = bus_read(h, core, REG_TRAP_KEY);
    return reason;
}

// Enter a key into one of core ``core``'s tables (0 dispatch, 1 import, 2 export).
void bt_fill(void* p, int core, uint32_t cache, uint32_t key_hi, uint32_t key, uint32_t data) {
    Harness* h = static_cast<Harness*>(p);
    stage(h, REG_FILL_KEY_HI, key_hi);
    stage(h, REG_FILL_KEY, key);
    stage(h, REG_FILL_DATA, data);
    bus_write(h, core, REG_FILL, cache);
}

// Invalidate core ``core``'s three tables (and wait out a sweep).
void bt_flush(void* p, int core) {
    Harness* h = static_cast<Harness*>(p);
    bus_write(h, core, REG_CONTROL, CTL_FLUSH);
    while (bus_read(h, core, REG_STATUS) & STATUS_SWEEPING) {
    }
}

// Read any register of the host port (for tests and the FPGA bridge's checks).
uint32_t bt_read(void* p, int core, int reg) {
    return bus_read(static_cast<Harness*>(p), core, reg);
}

// Copy core ``core``'s cycle histogram (257 counts, 257 cycle sums) and clear it.
void bt_histogram(void* p, int core, uint64_t* counts, uint64_t* cycles) {
    Harness* h = static_cast<Harness*>(p);
    std::memcpy(counts, h->hist_count[core], sizeof h->hist_count[core]);
    std::memcpy(cycles, h->hist_cycles[core], sizeof h->hist_cycles[core]);
    std::memset(h->hist_count[core], 0, sizeof h->hist_count[core]);
    std::memset(h->hist_cycles[core], 0, sizeof h->hist_cycles[core]);
}

// Clocks spent on host-port accesses so far.
uint64_t bt_bus_cycles(void* p) { return static_cast<Harness*>(p)->bus_cycles; }

}  // extern "C"
