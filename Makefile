# blocktalk: one command each for set-up + tests, the main job, and benchmarks.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
BT     := $(VENV)/bin/blocktalk

.PHONY: test test-slow cosim run run-main scaling bench bench-rtl bench-st80 soak-st80 synth clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip==24.3.1
	$(PY) -m pip install --quiet -e '.[test,hdl]'
	touch $@

test: $(VENV)/.installed
	$(PY) -m pytest -q -n 2

test-slow: $(VENV)/.installed
	$(PY) -m pytest -q -n 2 -m slow

# Every example program on the RTL core, each bytecode it retires checked
# against the software core in lockstep (about 5 minutes).
cosim: $(VENV)/.installed
	$(PY) -m pytest -q -m slow tests/test_cosim.py

# The main job: eight Smalltalk processes on four simulated RTL cores
# (Verilator), joined by a Semaphore; the counters on stderr (about 30 s).
run: $(VENV)/.installed
	$(BT) run --cores 4 --engine rtl --stats examples/parallel.st

run-main: $(VENV)/.installed
	$(BT) run --stats examples/main.st

# The multi-core example on 1, 2, 4 and 8 RTL cores: makespan in simulated
# cycles, blocks moved, host service time (about 2 minutes).
scaling: $(VENV)/.installed
	for n in 1 2 4 8; do echo "== $$n cores"; $(BT) run --cores $$n --engine rtl --stats \
		examples/parallel.st 2>&1 | grep -E '^(primes|makespan_cycles|bytecodes|blocks_moved|bytes_moved|replica_updates|host_service|host_wait|host_port)'; done

bench: $(VENV)/.installed
	$(PY) -m bench.run

# The RTL core (Verilator) on the kernel benchmarks: its share of the
# bytecodes, cycles per bytecode class, simulated cycles/s (about 30 s).
bench-rtl: $(VENV)/.installed
	$(PY) -m bench.rtl

# The v2 image: placement figures and speed per block size (about 10 minutes).
bench-st80: $(VENV)/.installed
	$(PY) -m bench.st80

# The Smalltalk-80 v2 image for 10 million bytecodes (about 4 minutes); the
# default test run has a 400,000-bytecode smoke of it.
soak-st80: $(VENV)/.installed
	mkdir -p build
	$(BT) image import-st80 ../shared/st80/VirtualImage -o build/v2.bimg
	$(BT) resume build/v2.bimg --bytecodes 10000000 --sram-size 1048576 --stats

# Yosys cell counts of the core's units for the iCE40 UP5K and the ECP5 (the
# whole core takes several minutes per target), and of a cluster of two cores
# with 64 KB each for the ECP5 (the UP5K holds one core).
synth: $(VENV)/.installed
	for unit in alu decoder dispatch allocator divider core-lean core; do for target in ice40 ecp5; do \
		echo "== $$unit $$target"; $(PY) -m blocktalk.hw.synth $$unit --target $$target; done; done
	echo "== cluster2 ecp5"; $(PY) -m blocktalk.hw.synth cluster2 --target ecp5

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
