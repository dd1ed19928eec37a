# kreplica: build, boot and test per-node kernel text replication on arm64.
# See README.md. Every target installs what it needs (scripts/deps.sh).

NODES ?= 4
CPUS_PER_NODE ?= 2
MEM ?= 1024
APPEND ?=
TIMEOUT ?= 300

ifeq ($(BASELINE),1)
KERNEL_FLAGS := --baseline
endif

.PHONY: all deps tree kernel initramfs plugin run test bench matrix check-series export clean distclean

all: kernel initramfs

deps:
	@scripts/deps.sh

# build/linux as a git repo: pristine base + one commit per patch.
tree: deps
	@scripts/prepare-tree.sh

kernel: deps
	@scripts/build-kernel.sh $(KERNEL_FLAGS)

initramfs: deps
	@scripts/build-initramfs.sh $(KERNEL_FLAGS)

# Boot the VM once, print its console (with the per-node report), power off.
run: kernel initramfs
	@python3 scripts/vm.py --nodes $(NODES) --cpus-per-node $(CPUS_PER_NODE) \
		--mem $(MEM) --timeout $(TIMEOUT) --log build/console.log \
		--append "kr.run=kr-topo kr.topo=$(NODES)x$(CPUS_PER_NODE):$(MEM) $(APPEND)"; \
	rc=$$?; cat build/console.log; \
	python3 scripts/console_check.py build/console.log >/dev/null && [ $$rc -eq 0 ] || \
		{ echo "make run: the boot failed (see above; build/console.log)"; exit 1; }

test: kernel initramfs plugin
	@python3 scripts/test.py $(if $(ONLY),--only $(ONLY))

# Every page-table geometry (configs/geometry/): build, boot, test, measure;
# table in bench/results/matrix.md and README.md. ONLY=64k-48,4k-52 for some.
matrix: deps plugin
	@python3 scripts/matrix.py $(if $(ONLY),--only $(ONLY))

# Every patch of the series: checkpatch, build and boot on its own.
check-series: kernel initramfs
	@scripts/check-series.sh

# Export build/linux's commits back to patches/.
export:
	@scripts/export-patches.sh

clean:
	rm -rf build/obj build/baseline/obj build/guest build/kmod build/test-logs \
		build/Image build/vmlinux build/initramfs.cpio.gz

distclean:
	rm -rf build

# The kr_numa TCG plugin (tools/numa-plugin): host shared object for QEMU.
plugin: build/tools/kr_numa.so
build/tools/kr_numa.so: tools/numa-plugin/kr_numa.c
	@mkdir -p build/tools
	gcc -shared -fPIC -O2 -Wall -Wextra -Werror -fvisibility=hidden -o $@ $< -lpthread

# Baseline and patched kernels side by side, measured by the kr_numa plugin.
# BENCH_ARGS: e.g. --nodes 2 --cpus-per-node 4 --iter 10 --runs 5
bench:
	@python3 scripts/bench.py $(BENCH_ARGS)
