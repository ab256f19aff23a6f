// C++ harness of the execution core's Verilator model (hw/verilated.py builds
// and loads it through ctypes).
//
// The core is built with memory="external": its single SRAM port is served
// here, cycle by cycle, from a buffer of 16-bit words the caller owns -- the
// software core's own SRAM (sim/memory.py), so that the two share one memory
// model and a trap hands over registers only.  The SRAM is the same
// registered single-port RAM as hw/sram.py: a write leaves the read data as it
// was; a read answers on the next cycle.

#include <cstdint>
#include <cstring>

#include "Vtop.h"
#include "verilated.h"

namespace {

struct Harness {
    VerilatedContext* context;
    Vtop* top;
    uint16_t* mem;
    uint32_t words;
    uint32_t nframes;
    uint32_t op_start[64];   // what the core's OutPointer table holds
    // cycles per retired bytecode, by bytecode (from the retire port); entry
    // 256 counts the cycles of attempts that stopped on a trap
    uint64_t hist_count[257];
    uint64_t hist_cycles[257];
};

// One clock: combinational outputs settle, the edge, then the SRAM acts on
// the address the core presented during the cycle.
inline void tick(Harness* h) {
    Vtop* t = h->top;
    t->clk = 0;
    t->eval();
    uint32_t addr = t->mem_addr & (h->words - 1);
    bool we = t->mem_we;
    uint16_t wdata = t->mem_wdata;
    t->clk = 1;
    t->eval();
    if (we)
        h->mem[addr] = wdata;
    else
        t->mem_rdata = h->mem[addr];
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

void* bt_new(uint16_t* mem, uint32_t words, uint32_t nframes) {
    if (nframes > 64) return nullptr;
    Harness* h = new Harness();
    h->context = new VerilatedContext();
    h->top = new Vtop(h->context);
    h->mem = mem;
    h->words = words;
    h->nframes = nframes;
    Vtop* t = h->top;
    t->load = 0;
    t->run = 0;
    t->stop = 0;
    t->op_we = 0;
    t->fill_valid = 0;
    t->flush = 0;
    t->rst = 1;
    tick(h);
    tick(h);
    t->rst = 0;
    tick(h);
    for (uint32_t f = 0; f < 64; f++) h->op_start[f] = 65536;  // the core's reset value
    return h;
}

void bt_free(void* p) {
    Harness* h = static_cast<Harness*>(p);
    h->top->final();
    delete h->top;
    delete h->context;
    delete h;
}

// Run the core from registers regs[R_*] until it halts or has retired
// max_retire bytecodes.  op_start[f] is frame f's OutPointer region start
// (written into the core's table where it changed).  Answers the halt
// reason, or -1 if the core ran max_cycles cycles without halting; regs
// get the core's registers back, out[0..3] = retired, cycles, dirty frames,
// result, trap key (high part), trap key.
int bt_run(void* p, uint32_t* regs, const uint32_t* op_start, uint64_t max_retire,
           uint64_t max_cycles, uint64_t* out) {
    Harness* h = static_cast<Harness*>(p);
    Vtop* t = h->top;
    for (uint32_t f = 0; f < h->nframes; f++) {
        if (h->op_start[f] != op_start[f]) {
            t->op_we = 1;
            t->op_frame = f;
            t->op_start = op_start[f];
            tick(h);
            h->op_start[f] = op_start[f];
        }
    }
    t->op_we = 0;
    t->load_ctx = regs[R_CTX];
    t->load_home = regs[R_HOME];
    t->load_method = regs[R_METHOD];
    t->load_rcvr = regs[R_RCVR];
    t->load_ip = regs[R_IP];
    t->load_sp = regs[R_SP];
    t->load_alloc_valid = regs[R_ALLOC] != 0xFFFFFFFFu;
    t->load_alloc = regs[R_ALLOC] & 0xFFFF;
    t->load_specials = regs[R_SPECIALS];
    t->load_formats = regs[R_FORMATS];
    t->load_characters = regs[R_CHARACTERS];
    t->load_alloc_limit = regs[R_ALLOC_LIMIT];
    t->load_hash = regs[R_HASH];
    t->load = 1;
    tick(h);
    t->load = 0;
    t->run = 1;
    tick(h);
    t->run = 0;
    t->stop = max_retire == 0;
    uint64_t retired = 0;
    uint64_t cycles = 0;
    uint64_t since = 0;      // cycles since the last retirement (or the start)
    int reason = -1;
    while (cycles < max_cycles) {
        t->clk = 0;
        t->eval();
        if (t->halted) {
            reason = t->reason;
            break;
        }
        since++;
        if (t->retire) {
            h->hist_count[t->retire_bytecode]++;
            h->hist_cycles[t->retire_bytecode] += since;
            since = 0;
            if (++retired >= max_retire) t->stop = 1;
        }
        tick(h);
        cycles++;
    }
    h->hist_count[256]++;
    h->hist_cycles[256] += since;
    t->stop = 0;
    regs[R_CTX] = t->ctx;
    regs[R_HOME] = t->home;
    regs[R_METHOD] = t->method;
    regs[R_RCVR] = t->rcvr;
    regs[R_IP] = t->ip;
    regs[R_SP] = t->sp;
    regs[R_HASH] = t->hash;
    out[0] = retired;
    out[1] = t->cycles;
    out[2] = t->dirty;
    out[3] = t->result;
    out[4] = t->trap_key_hi;
    out[5] = t->trap_key;
    return reason;
}

// Enter a key into one of the core's tables (0 dispatch, 1 import, 2 export).
void bt_fill(void* p, uint32_t cache, uint32_t key_hi, uint32_t key, uint32_t data) {
    Harness* h = static_cast<Harness*>(p);
    Vtop* t = h->top;
    t->fill_valid = 1;
    t->fill_cache = cache;
    t->fill_key_hi = key_hi;
    t->fill_key = key;
    t->fill_data = data;
    tick(h);
    t->fill_valid = 0;
}

// Invalidate the three tables (and wait out a sweep).
void bt_flush(void* p) {
    Harness* h = static_cast<Harness*>(p);
    Vtop* t = h->top;
    t->flush = 1;
    tick(h);
    t->flush = 0;
    t->clk = 0;
    t->eval();
    while (t->sweeping) {
        tick(h);
        t->clk = 0;
        t->eval();
    }
}

// Copy the cycle histogram (257 counts, 257 cycle sums) and clear it.
void bt_histogram(void* p, uint64_t* counts, uint64_t* cycles) {
    Harness* h = static_cast<Harness*>(p);
    std::memcpy(counts, h->hist_count, sizeof h->hist_count);
    std::memcpy(cycles, h->hist_cycles, sizeof h->hist_cycles);
    std::memset(h->hist_count, 0, sizeof h->hist_count);
    std::memset(h->hist_cycles, 0, sizeof h->hist_cycles);
}

}  // extern "C"
