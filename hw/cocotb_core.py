"""cocotb test bench of the execution core on Verilator (run by
:func:`blocktalk.hw.verilator.run`; not collected by pytest).

Reads the job named by ``BT_JOB`` (SRAM words, registers), writes the words
through the host port, loads the registers, runs the core until it halts and
writes the answer to ``BT_ANSWER``: why it halted, the result, ip, sp, cycles,
the retired bytecodes and the cycle of each retirement.  Python wakes on every
clock edge here, which is slow for long runs; a C++ harness is the plan for
those.
"""

import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge


@cocotb.test()
async def run_job(dut):
    job = json.loads(open(os.environ["BT_JOB"]).read())
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    for name in ("host_we", "load", "run", "stop", "op_we"):
        getattr(dut, name).value = 0
    await RisingEdge(dut.clk)
    dut.rst.value = 0
    dut.host_we.value = 1
    for addr, word in job["sram"].items():
        dut.host_addr.value = int(addr)
        dut.host_wdata.value = word
        await RisingEdge(dut.clk)
    dut.host_we.value = 0
    regs = job["regs"]
    dut.load_ctx.value = regs["ctx"]
    dut.load_home.value = regs["home"]
    dut.load_method.value = regs["method"]
    dut.load_ip.value = regs["ip"]
    dut.load_sp.value = regs["sp"]
    dut.load_rcvr.value = regs["rcvr"]
    dut.op_we.value = 1
    for frame, start in enumerate(regs["op_start"]):
        dut.op_frame.value = frame
        dut.op_start.value = start
        await RisingEdge(dut.clk)
    dut.op_we.value = 0
    dut.load.value = 1
    await RisingEdge(dut.clk)
    dut.load.value = 0
    dut.run.value = 1
    await RisingEdge(dut.clk)
    dut.run.value = 0
    retired, retire_cycles = [], []
    for cycle in range(job["max_cycles"]):
        await ReadOnly()
        if int(dut.retire.value):
            retired.append(int(dut.retire_bytecode.value))
            retire_cycles.append(cycle)
        if int(dut.halted.value):
            break
        await RisingEdge(dut.clk)
    answer = {"reason": int(dut.reason.value), "result": int(dut.result.value),
              "ip": int(dut.ip.value), "sp": int(dut.sp.value), "cycles": int(dut.cycles.value),
              "retired": retired, "retire_cycles": retire_cycles}
    with open(os.environ["BT_ANSWER"], "w") as f:
        json.dump(answer, f)
