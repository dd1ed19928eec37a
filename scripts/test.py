#!/usr/bin/env python3
"""kreplica test runner: everything `make test` runs, with one count.

Groups (select with --only GROUP[,GROUP]):
  harness   the console checker against recorded console fixtures
  vmopts    the VM runner refuses impossible topologies before QEMU starts
  boot      boots on several NUMA topologies; every KUnit and guest case counts
  hibernate a hibernation round trip, then the suites in the restored system
  geometry  64K pages and 52-bit VA (LPA2) kernels built and booted
  selftest  boots that must be judged failed: failing guest program, failing
            KUnit case, WARN on the console, hung boot
  plugin    the kr_numa TCG plugin's known answer: reads of a buffer on
            another node are attributed to that node, local ones locally

Each check prints 'PASS name' or 'FAIL name: why'.  The last line is
'N passed, N failed' (', N skipped' when some were skipped); exit 1 on any
failure.  Console logs are kept in build/test-logs/.
"""
import argparse
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import console_check  # noqa: E402
import matrix  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOGS = os.path.join(ROOT, "build", "test-logs")
VM = os.path.join(ROOT, "scripts", "vm.py")


class Counter:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0
        self.failures = []

    def record(self, name, status, why=""):
        if status == "PASS":
            self.passed += 1
            print("PASS %s" % name)
        elif status == "SKIP":
            self.skipped += 1
            print("SKIP %s: %s" % (name, why))
        else:
            self.failed += 1
            self.failures.append(name)
            print("FAIL %s: %s" % (name, why))
        sys.stdout.flush()


# --- boots -----------------------------------------------------------------

# name, nodes, cpus per node, MiB per node, extra command line, what the
# console must say (regexes) besides passing, and optionally a dict of options:
#   efi       boot through UEFI firmware with ACPI (vm.py --efi)
#   must_not  regexes the console must not show
#   vm_args   more options for vm.py
#   runs      guest programs to run (kr.run=), default all
#   copies    how many nodes must get a copy of the text: under EFI the image
#             lands on any node (the one without a copy), so "node 3: ..." is
#             no fixed line to expect
#   must_pass cases that must pass, not skip (the boot exists for them)
EFI_NUMA = [r"ACPI: SRAT: Node 3 PXM 3 \[mem 0x[0-9a-f]+-0x[0-9a-f]+\]",
            r"ACPI: NUMA: SRAT: PXM 3 -> MPIDR 0x[0-9a-f]+ -> Node 3"]
# NUMA from the SRAT, not a fallback; the stub had randomness to place the image.
EFI_MUST_NOT = [r"NUMA: Faking a node", r"NUMA: No NUMA configuration found",
                r"EFI_RNG_PROTOCOL unavailable"]
BBML2_PAGE_CASES = ["arm64_linear_map.lm_test_mode", "linear_map.mode",
                    "linear_map.ptdump_agrees"]
BBML2_BLOCK_CASES = BBML2_PAGE_CASES + [
    "arm64_linear_map.lm_test_split_arbitrary", "arm64_linear_map.lm_test_ro_across_block_edges",
    "arm64_linear_map.lm_test_invalid_block", "arm64_linear_map.lm_test_concurrent_splits",
    "arm64_linear_map.lm_test_vmalloc_perms",
    "kernel_replication.kr_test_copy_alias_blocks",
    "kernel_replication.kr_test_linear_split_seen_by_every_node"]
BBML2_RUNS = "kr-replication,kr-linear-map,kr-topo"
# kr-rox (guest/kr-rox.c): a storm of module, BPF and kprobe loads on every CPU.
ROX_CASES = ["kr-rox.storm", "kr-rox.no_wx", "kr-rox.linear_pages", "kr-rox.module_text_pmd"]
ROX_KUNIT_CASES = ["arm64_execmem_rox.rox_test_new_range", "arm64_execmem_rox.rox_test_temp_rw",
                   "arm64_execmem_rox.rox_test_free_while_rw",
                   "arm64_execmem_rox.rox_test_block_boundaries",
                   "arm64_execmem_rox.rox_test_empty_block_released",
                   "arm64_execmem_rox.rox_test_populate_fails",
                   "arm64_execmem_rox.rox_test_rodata", "arm64_execmem_rox.rox_test_data_rw"]
TOPOLOGIES = [
    ("4n-2c", 4, 2, "1024", "", [r"kernel_replication: node 3: \d+ KiB of text"]),
    ("1n-2c", 1, 2, "1024", "", []),
    ("2n-2c", 2, 2, "1024", "", [r"kernel_replication: node 1: \d+ KiB of text"]),
    ("4n-1c", 4, 1, "512", "", [r"kernel_replication: node 3: \d+ KiB of text"]),
    ("4n-1c-memoryless", 4, 1, "1024,1024,1024,0", "",
     [r"kernel_replication: node 3: no copy, uses node 2's"]),
    ("4n-2c-off", 4, 2, "512", "kernel_replication=off kr.replication=off",
     [r"kernel_replication: off on the command line"]),
    ("2n-2c-invalid", 2, 2, "512", "kernel_replication=bogus",
     [r"unknown value 'bogus' for kernel_replication=",
      r"kernel_replication: node 1: \d+ KiB of text"]),
    # The fallbacks, by fault injection: node 1's copy cannot be reserved,
    # node 2's tables cannot be allocated; each uses its nearest copy.
    ("4n-2c-faults", 4, 2, "512",
     "fail_kernel_replication_reserve=1,100,0,1 fail_kernel_replication_tables=1,100,0,1"
     " kr.nocopy=1,2",
     [r"kernel_replication: node 1: no room for a \d+ KiB copy",
      r"kernel_replication: node 2: no memory for its page tables; its copy is given back",
      r"kernel_replication: node 1: no copy, uses node 0's",
      r"kernel_replication: node 2: no copy, uses node 3's",
      r"kernel_replication: node 3: \d+ KiB of text"]),
    # No node gets its tables: replication stays off, says so, gives back.
    ("4n-1c-allfail", 4, 1, "512", "fail_kernel_replication_tables=1,100,0,-1 kr.replication=off",
     [r"kernel_replication: no node could get its own tables; every CPU runs node 0's copy"]),
    # KPTI forced on (-cpu max does not need it): the trampoline and reserved
    # tables next to every node's root are used on every kernel entry.
    ("4n-1c-kpti", 4, 1, "512", "kpti=1",
     [r"CPU features: detected: Kernel page table isolation \(KPTI\)",
      r"kernel_replication: node 3: \d+ KiB of text"]),
    # The server path without KASLR: the stub leaves the image 2MB-aligned.
    ("2n-2c-efi-nokaslr", 2, 2, "512", "nokaslr",
     [r"KASLR disabled on command line"],
     {"efi": True, "must_not": EFI_MUST_NOT, "copies": 1}),
    # A node with memory and no CPUs (CXL, HBM): no CPU would use a copy there.
    # kr-topo knows only uniform topologies, so the replication checks run.
    ("3n-1c-cpuless", 3, 1, "512", "",
     [r"kernel_replication: node 3: no CPU would run on its copy; its copy is given back",
      r"kernel_replication: node 2: \d+ KiB of text"],
     {"vm_args": ["--cpuless-mem", "512"], "runs": "kr-replication"}),
    # rodata=off skips mark_rodata_ro(): nothing may be reserved for nothing.
    ("2n-2c-rodata-off", 2, 2, "512", "rodata=off kr.replication=off",
     [r"kernel_replication: rodata=off: the kernel text stays writable; not replicating"]),
    # As a server or cloud VM boots: EFI stub, image placed by KASLR at 64K
    # granularity (usually not 2MB-aligned), NUMA from ACPI SRAT/SLIT.
    ("4n-2c-efi", 4, 2, "1024", "", EFI_NUMA,
     {"efi": True, "must_not": EFI_MUST_NOT, "copies": 3}),
    ("4n-1c-efi", 4, 1, "512", "", EFI_NUMA,
     {"efi": True, "must_not": EFI_MUST_NOT, "copies": 3}),
    # A CPU without hardware PAN (ARMv8.0): SW PAN points TTBR0 at the table
    # below the running TTBR1 root on every kernel entry, a node's own root.
    ("4n-1c-swpan", 4, 1, "512", "",
     [r"CPU features: emulated: Privileged Access Never \(PAN\) using TTBR0_EL1 switching"],
     {"vm_args": ["--cpu", "cortex-a72"],
      "must_pass": ["kernel_replication.kr_test_sw_pan"]}),
]

BBML2_TOPOLOGIES = [
    # BBML2 without TLB conflict aborts (seed 003): the linear map keeps its
    # blocks under rodata=full and splits them where permissions change.
    # QEMU's -cpu max reports BBM level 2 but is on no list of CPUs that never
    # raise the abort (and TCG raises none), so the boots force it; the
    # absent= list makes chosen CPUs lack it.
    ("4n-2c-bbml2", 4, 2, "1024", "arm64.force_bbml2_noabort kr.linear=blocks kr.rox=on",
     [r"CPU features: detected: BBM Level 2 without TLB conflict abort",
      r"arm64.force_bbml2_noabort: unlisted CPUs treated as never raising",
      r"execmem: ROX cache on for module text, kprobes and BPF; "
      r"data caches for module data"],
     {"must_pass": BBML2_BLOCK_CASES + ROX_CASES + ROX_KUNIT_CASES, "runs": "all,kr-rox"}),
    # The boot CPU lacks it: pages from the start.
    ("4n-2c-bbml2-bootcpu", 4, 2, "1024",
     "arm64.force_bbml2_noabort arm64.bbml2_noabort_absent=0 kr.linear=pages", [],
     {"must_not": [r"detected: BBM Level 2"], "must_pass": BBML2_PAGE_CASES,
      "runs": BBML2_RUNS}),
    # A secondary lacks it: the blocks the boot CPU chose are split to pages
    # before it runs.
    ("4n-2c-bbml2-repaint", 4, 2, "1024",
     "arm64.force_bbml2_noabort arm64.bbml2_noabort_absent=3 kr.linear=pages",
     [r"CPU features: CPU3 lacks BBM Level 2 without TLB conflict abort: not used",
      r"linear map split to pages in \d+ us: a CPU lacks BBML2"],
     {"must_not": [r"detected: BBM Level 2"], "must_pass": BBML2_PAGE_CASES,
      "runs": BBML2_RUNS}),
    # A CPU brought up after boot without it, while the system uses it, is
    # refused (maxcpus=3 holds CPU 3 back; the guest onlines it).
    ("4n-1c-bbml2-late", 4, 1, "512",
     "arm64.force_bbml2_noabort arm64.bbml2_noabort_absent=3 maxcpus=3 kr.late_cpu=3",
     [r"CPU features: detected: BBM Level 2 without TLB conflict abort",
      r"CPU3: Detected conflict for capability \d+ \(BBM Level 2 without TLB conflict abort\)"],
     {"must_not": [r"linear map split to pages"], "must_pass": ["linear_map.late_cpu"],
      "runs": "kr-linear-map"}),
    # The off switch wins over the force.
    ("4n-1c-bbml2-off", 4, 1, "512",
     "arm64.force_bbml2_noabort arm64.nobbml2 kr.linear=pages",
     [r"execmem: ROX cache off: the CPUs lack BBML2 without conflict aborts"],
     {"must_not": [r"detected: BBM Level 2", r"arm64.force_bbml2_noabort:"],
      "must_pass": BBML2_PAGE_CASES, "runs": BBML2_RUNS}),
    # The execmem ROX cache turned off on a block-mapped linear map: module
    # text in pages, and loads split the linear map (what the cache avoids).
    ("4n-2c-bbml2-norox", 4, 2, "1024",
     "arm64.force_bbml2_noabort kr.linear=blocks arm64.noexecmem_rox kr.rox=off",
     [r"execmem: ROX cache off: arm64.noexecmem_rox"],
     {"must_pass": ROX_CASES, "runs": "kr-rox,kr-linear-map"}),
    # A jump into freed cache memory: the module's old text is BRK now, and
    # the calling thread dies in the expected Oops - BRK. Last in its boot:
    # an oops turns lockdep off.
    ("4n-1c-rox-trap", 4, 1, "512",
     "arm64.force_bbml2_noabort kr.rox=on kr.rox_secs=5 kr.rox_trap=1",
     [r"execmem: ROX cache on for module text, kprobes and BPF"],
     {"must_pass": ROX_CASES + ["kr-rox.call_live", "kr-rox.trap"], "runs": "kr-rox",
      "expect_oops": r"Internal error: Oops - BRK: 0+f2000100"}),
]

# init's kr-report: where the kernel image landed.
KR_IMAGE = re.compile(r"KR-IMAGE text_va=0x([0-9a-f]+) text_pa=0x([0-9a-f]+) "
                      r"pa_offset_in_2M=0x([0-9a-f]+) aligned_2M=(yes|no) "
                      r"kaslr_offset=0x([0-9a-f]+)")
SZ_2M = 2 << 20
COPY = re.compile(r"kernel_replication: node (\d+): \d+ KiB of text")


def boot(name, nodes, cpn, mem, append, timeout, runs="all", vm_args=()):
    """Boot once; returns (vm exit status, console_check result, seconds, log)."""
    os.makedirs(LOGS, exist_ok=True)
    log = os.path.join(LOGS, name + ".log")
    topo = "kr.topo=%dx%d:%s" % (nodes, cpn, mem)
    cmd = [sys.executable, VM, "--nodes", str(nodes), "--cpus-per-node", str(cpn),
           "--mem", mem, "--timeout", str(timeout), "--log", log,
           "--append", " ".join(x for x in (topo, "kr.run=" + runs, append) if x)]
    cmd += list(vm_args)
    # KR_TEST_KERNEL=<kernel build dir>: boot its Image (and .config) instead
    # of build/Image, e.g. a deliberately broken kernel, to see tests fail;
    # KR_TEST_INITRD: an initramfs with modules built for it.
    kdir = os.environ.get("KR_TEST_KERNEL")
    if kdir and "--kernel" not in cmd:
        cmd += ["--kernel", os.path.join(kdir, "arch/arm64/boot/Image"),
                "--config", os.path.join(kdir, ".config")]
    if os.environ.get("KR_TEST_INITRD") and "--initrd" not in cmd:
        cmd += ["--initrd", os.environ["KR_TEST_INITRD"]]
    start = time.monotonic()
    rc = subprocess.call(cmd)
    secs = time.monotonic() - start
    return rc, console_check.check_file(log), secs, log


def describe(res):
    why = ["%s: %s" % (f["kind"], f["text"]) for f in res["failures"][:3]]
    why += ["case %s failed %s" % (c["name"], c["reason"])
            for c in res["cases"] if c["status"] == "FAIL"][:3]
    return "; ".join(why)


def check_image(cnt, name, console, efi, log):
    """The KR-IMAGE line: VA and PA of _text agree modulo 2MB (the kernel keeps
    them so); -kernel boots load the image 2MB-aligned. Returns its match."""
    m = KR_IMAGE.search(console)
    if not m:
        cnt.record("%s/image" % name, "FAIL", "no KR-IMAGE line (log %s)" % log)
        return None
    va, pa, off, aligned, kaslr = m.groups()
    va, pa, off, kaslr = (int(x, 16) for x in (va, pa, off, kaslr))
    why = []
    if va % SZ_2M != pa % SZ_2M or off != pa % SZ_2M or (aligned == "yes") != (off == 0):
        why.append("VA %#x and PA %#x differ modulo 2MB, or the line is inconsistent" % (va, pa))
    if not efi and aligned != "yes":
        why.append("a -kernel boot loads the image 2MB-aligned, got PA %#x" % pa)
    cnt.record("%s/image" % name, "FAIL" if why else "PASS",
               "; ".join(why) + " (log %s)" % log)
    return m


TRAP_CALL = re.compile(r"KR-ROX-TRAP calling freed text at (0x[0-9a-f]+)")
OOPS_PC = re.compile(r"^(?:\[[ \d.]+\] )?pc : (0x[0-9a-f]+|\S+)", re.M)


def expected_oops(cnt, name, rx, res, console, log):
    """A boot that must oops once, as rx says, at the address the guest
    called (kr-rox's trap): that oops is a pass, not a failure; any other
    failure still fails the boot. Returns res without the expected oops."""
    hits = [f for f in res["failures"] if f["kind"] == "oops" and re.search(rx, f["text"])]
    cnt.record("%s/expected oops: %s" % (name, rx), "PASS" if len(hits) == 1 else "FAIL",
               "%d such oopses (log %s)" % (len(hits), log))
    # The pc line of that oops, not of any report before it.
    at = re.search(rx, console)
    call, pc = TRAP_CALL.search(console), OOPS_PC.search(console, at.end() if at else 0)
    ok = False
    if call and pc and pc.group(1).startswith("0x"):
        ok = int(call.group(1), 16) == int(pc.group(1), 16)
    cnt.record("%s/oops at the freed address" % name, "PASS" if ok else "FAIL",
               "called %s, oops pc %s (log %s)" % (call and call.group(1),
                                                   pc and pc.group(1), log))
    # arm64 takes a kernel BRK as a debug exception, entered like an NMI
    # (ct_nmi_enter()); the thread that dies in it never leaves, and its CPU
    # warns once in context tracking when it next goes idle. Only that
    # warning, after the oops, is its consequence.
    after = [f for f in res["failures"] if hits and f["line"] > hits[0]["line"] and
             f["kind"] == "warning" and "kernel/context_tracking.c" in f["text"]]
    rest = [f for f in res["failures"] if f not in hits and f not in after]
    return dict(res, failures=rest,
                passed=not rest and not any(c["status"] == "FAIL" for c in res["cases"]))


def group_boot(cnt, args, topologies=TOPOLOGIES):
    efi_images = []
    for name, nodes, cpn, mem, append, must, *rest in topologies:
        opts = rest[0] if rest else {}
        vm_args = (["--efi"] if opts.get("efi") else []) + opts.get("vm_args", [])
        rc, res, secs, log = boot("boot-" + name, nodes, cpn, mem, append, args.timeout,
                                  runs=opts.get("runs", "all"), vm_args=vm_args)
        with open(log, errors="replace") as f:
            console = f.read()
        if "expect_oops" in opts:
            res = expected_oops(cnt, name, opts["expect_oops"], res, console, log)
        for rx in must:
            found = re.search(rx, console) is not None
            cnt.record("%s/console: %s" % (name, rx), "PASS" if found else "FAIL",
                       "not on the console (log %s)" % log)
        for rx in opts.get("must_not", []):
            m = re.search(rx, console)
            cnt.record("%s/console lacks: %s" % (name, rx), "FAIL" if m else "PASS",
                       "on the console: %r (log %s)" % (m and m.group(0), log))
        if "copies" in opts:
            nodes_with = sorted({int(n) for n in COPY.findall(console)})
            cnt.record("%s/copies: %d nodes" % (name, opts["copies"]),
                       "PASS" if len(nodes_with) == opts["copies"] else "FAIL",
                       "copies on nodes %s (log %s)" % (nodes_with, log))
        image = check_image(cnt, name, console, opts.get("efi"), log)
        if opts.get("efi"):
            efi_images.append((name, image))
        for c in res["cases"]:
            cnt.record("%s/%s" % (name, c["name"]), c["status"], c["reason"])
        for case in opts.get("must_pass", []):
            got = [c["status"] for c in res["cases"] if c["name"] == case]
            cnt.record("%s/ran: %s" % (name, case),
                       "PASS" if got == ["PASS"] else "FAIL",
                       "%s, not a pass (log %s)" % (got[0] if got else "not run", log))
        kunit = [c for c in res["cases"] if c["source"] == "kunit"]
        guest = [c for c in res["cases"] if c["source"] == "guest"]
        why = describe(res)
        if rc not in (0, 124):
            why = ("vm exit status %d; " % rc) + why
        if not kunit:
            why += " no KUnit results on the console"
        if not guest:
            why += " no guest program results on the console"
        ok = res["passed"] and rc == 0 and kunit and guest
        cnt.record("boot/%s (%.0fs)" % (name, secs), "PASS" if ok else "FAIL",
                   why.strip() + " (log %s)" % log)
    if not efi_images:
        return
    # The EFI stub places the image at 64K granularity: 1 in 32 placements
    # is 2MB-aligned, so over the EFI boots at least one must not be.
    placed = ["%s: %s" % (n, "aligned_2M=" + m.group(4) if m else "no KR-IMAGE")
              for n, m in efi_images]
    unaligned = [n for n, m in efi_images if m and m.group(4) == "no"]
    cnt.record("efi/unaligned-image", "PASS" if unaligned else "FAIL",
               "no EFI boot placed the image off a 2MB boundary (%s)" % ", ".join(placed))


def group_hibernate(cnt, args):
    """Hibernation round trip: the first boot writes its image to swap on a
    virtio disk and powers off; the second restores it, and the restored
    system runs the KUnit suite again and the replication checks. CPU 0, on
    which both happen, is on the node without the image (--cpus-reversed),
    so it resumes onto its node's copy, not the master tables."""
    disk = os.path.join(LOGS, "hibernate-swap.img")
    if os.path.exists(disk):
        os.remove(disk)
    with open(disk, "wb") as f:
        f.truncate(256 << 20)
    vm_args = ["--disk", disk, "--cpus-reversed"]
    append = "kr.hibernate=1 resume=/dev/vda"
    rc, res, secs, log = boot("hibernate-1", 2, 2, "512", append, args.timeout,
                              runs="kr-replication", vm_args=vm_args)
    with open(log, errors="replace") as f:
        console = f.read()
    saved = re.search(r"PM: Image saving done", console)
    others = [f for f in res["failures"] if f["kind"] != "no-marker"]
    why = describe(dict(res, failures=others))
    cnt.record("hibernate/saved (%.0fs)" % secs,
               "PASS" if saved and rc == 0 and not others else "FAIL",
               ("no 'PM: Image saving done'; " if not saved else "") +
               ("vm exit status %d; " % rc if rc else "") + why + " (log %s)" % log)
    rc, res, secs, log = boot("hibernate-2", 2, 2, "512", append, args.timeout,
                              runs="kr-replication", vm_args=vm_args)
    with open(log, errors="replace") as f:
        console = f.read()
    for rx in (r"PM: Image loading done", r"hibernate: Hibernated on CPU 0"):
        cnt.record("hibernate/console: %s" % rx,
                   "PASS" if re.search(rx, console) else "FAIL",
                   "not on the console (log %s)" % log)
    for c in res["cases"]:
        cnt.record("hibernate/%s" % c["name"], c["status"], c["reason"])
    names = {c["name"] for c in res["cases"] if c["status"] == "PASS"}
    need = ["hibernate.resumed", "replication.cpu_roots", "replication.verify",
            "kernel_replication.kr_test_local_translation"]
    missing = [n for n in need if n not in names]
    ok = res["passed"] and rc == 0 and not missing
    cnt.record("hibernate/restored (%.0fs)" % secs, "PASS" if ok else "FAIL",
               ("not passed: %s; " % ", ".join(missing) if missing else "") +
               describe(res) + " (log %s)" % log)


# Geometries `make test` builds and boots besides the default (4K, 48-bit);
# `make matrix` does them all (scripts/matrix.py).
TEST_GEOMETRIES = ["64k-48", "4k-52"]
COPIES = re.compile(r"kernel_replication: (\d+) copies of (\d+) KiB, placed as the image "
                    r"is within (\d+) KiB mappings")


LPA2 = r"CPU features: detected: 52-bit Virtual Addressing \(LPA2\)"
# An LPA2 kernel runs 5 levels on -cpu max, and 4 with arm64.nolva (as on a
# CPU without LPA2): a level folded at boot, which the node walks must follow.
LPA2_BOOTS = {"4k-52"}


def lpa2_boots(cnt, name, out, console, args):
    cnt.record("geometry/%s/lpa2-on" % name, "PASS" if re.search(LPA2, console) else "FAIL",
               "no '%s' on the console" % LPA2)
    ok, why, log, cases = matrix.test_boot(out, matrix.CPU_MAX, args.timeout,
                                           "arm64.nolva", "test-nolva")
    with open(log, errors="replace") as f:
        folded = not re.search(LPA2, f.read())
    cnt.record("geometry/%s/nolva-boot" % name, "PASS" if ok and folded else "FAIL",
               ("LPA2 still on with arm64.nolva; " if not folded else "") + why +
               " (log %s)" % log)


def group_geometry(cnt, args):
    """Other page sizes and VA sizes: each built in build/matrix/<name>/ and
    booted on 4 nodes x 2 CPUs plus a memoryless node with CPUs; replication
    checks and KUnit must pass, and each copy must cost the image's size
    rounded to its mapping unit (2MB), not a PMD block (32MB, 512MB)."""
    for name in TEST_GEOMETRIES:
        out = os.path.join("build", "matrix", name)
        os.makedirs(os.path.join(ROOT, out), exist_ok=True)
        err = matrix.build(name, out)
        if err:
            cnt.record("geometry/%s/build" % name, "FAIL", err)
            continue
        cnt.record("geometry/%s/build" % name, "PASS")
        ok, why, log, cases = matrix.test_boot(out, matrix.CPU_MAX, args.timeout)
        cnt.record("geometry/%s/boot" % name, "PASS" if ok else "FAIL", why + " (log %s)" % log)
        with open(log, errors="replace") as f:
            console = f.read()
        if name in LPA2_BOOTS:
            lpa2_boots(cnt, name, out, console, args)
        if not name.startswith("4k"):
            rx = r"execmem: ROX cache off: PMD blocks are 32M or 512M"
            cnt.record("geometry/%s/console: %s" % (name, rx),
                       "PASS" if re.search(rx, console) else "FAIL",
                       "not on the console (log %s)" % log)
        m = COPIES.search(console)
        if not m:
            cnt.record("geometry/%s/copy-size" % name, "FAIL",
                       "no 'N copies of ... KiB' line (log %s)" % log)
            continue
        copies, kib, unit = map(int, m.groups())
        rng = re.search(r"kernel_replication: node \d+: (\d+) KiB of text and rodata", console)
        need = int(rng.group(1)) if rng else None
        good = copies == 3 and unit == 2048 and need is not None and kib <= need + 2 * unit
        cnt.record("geometry/%s/copy-size" % name, "PASS" if good else "FAIL",
                   "%d copies of %d KiB within %d KiB mappings, range %s KiB: expected 3 "
                   "copies no larger than the range plus 2 x 2MB (log %s)"
                   % (copies, kib, unit, need, log))


# --- harness self-tests on real boots ----------------------------------------

def group_selftest(cnt, args):
    """Each boot here must be judged failed, for the reason it provokes."""
    def failed_kinds(res):
        return {f["kind"] for f in res["failures"]}

    def failed_case(res, name):
        return any(c["name"] == name and c["status"] == "FAIL" for c in res["cases"])

    checks = [
        ("guest-fail", "kr.selftest=guest-fail", args.timeout,
         lambda r: failed_case(r, "selftest.forced")),
        ("kunit-fail", "kr.selftest=kunit-fail", args.timeout,
         lambda r: failed_case(r, "kr_harness.kr_harness_forced")),
        ("warn", "kr.selftest=warn", args.timeout,
         lambda r: "warning" in failed_kinds(r)),
        # A write to the path to the copies: refused with a WARN, and the
        # KUnit case that provoked it finds master and nodes unchanged.
        ("refuse", "kr.selftest=refuse kernel_replication_test.provoke_refusal=1",
         args.timeout,
         lambda r: "warning" in failed_kinds(r) and any(
             c["name"] == "kernel_replication.kr_test_refused_write" and c["status"] == "PASS"
             for c in r["cases"])),
        ("hang", "kr.selftest=hang", args.hang_timeout,
         lambda r: {"timeout", "no-marker"} <= failed_kinds(r)),
    ]
    for what, append, timeout, caught in checks:
        rc, res, secs, log = boot("selftest-" + what, 2, 1, "512", append, timeout,
                                  runs="kr-selftest")
        if res["passed"]:
            cnt.record("selftest/%s" % what, "FAIL",
                       "the harness judged this boot good (log %s)" % log)
        elif not caught(res):
            cnt.record("selftest/%s" % what, "FAIL",
                       "judged failed, but not for the provoked reason: %s (log %s)"
                       % (describe(res), log))
        else:
            cnt.record("selftest/%s" % what, "PASS")


# --- the kr_numa plugin's known answer ---------------------------------------

def group_plugin(cnt, args):
    """A CPU of node A reads a buffer on node B, then one on node A: the plugin
    must put those reads on B, then on A (guest/kr-numa-read.c)."""
    import json
    import re
    so = os.path.join(ROOT, "build", "tools", "kr_numa.so")
    out = os.path.join(LOGS, "plugin.json")
    if os.path.exists(out):
        os.remove(out)
    plugin = "%s,topo=@TOPO@,out=%s,map=%s" % (so, out, os.path.join(ROOT, "build", "System.map"))
    rc, res, secs, log = boot("plugin-known-answer", 2, 2, "512", "nokaslr kr.report=0",
                              args.timeout, runs="kr-numa-read",
                              vm_args=["--plugin", plugin])
    ok = res["passed"] and rc == 0
    cnt.record("plugin/boot", "PASS" if ok else "FAIL", describe(res) + " (log %s)" % log)
    try:
        with open(out) as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        cnt.record("plugin/results", "FAIL", "no results from the plugin: %s" % e)
        return
    cnt.record("plugin/results", "PASS")
    nodes = [v["node"] for v in data["vcpus"]]
    cnt.record("plugin/vcpu-nodes", "PASS" if nodes == [0, 0, 1, 1] else "FAIL",
               "vCPU to node map %s, expected [0, 0, 1, 1]" % nodes)
    boot_insns = data.get("boot_insns")
    cnt.record("plugin/boot-mark", "PASS" if boot_insns else "FAIL",
               "no instruction count at init's boot mark")
    with open(log, errors="replace") as f:
        m = re.search(r"KR-NUMA-READ cpu (\d+) node_a (\d+) node_b (\d+) reads (\d+)", f.read())
    if not m:
        cnt.record("plugin/known-answer", "FAIL", "kr-numa-read printed no placement")
        return
    cpu, node_a, node_b, reads = map(int, m.groups())
    for window, node, what in ((14, node_b, "remote"), (13, node_a, "local")):
        w = [x for x in data["windows"] if x["vcpu"] == cpu and x["window"] == window]
        if len(w) != 1:
            cnt.record("plugin/%s-read" % what, "FAIL", "window %d of vcpu %d missing" % (window, cpu))
            continue
        user = w[0]["counts"]["reads"]["user"]
        share = user[node] / max(1, sum(user))
        good = user[node] >= reads and share >= 0.99
        cnt.record("plugin/%s-read" % what, "PASS" if good else "FAIL",
                   "user reads per node %s: %d on node %d (%.2f%%), expected >= %d and >= 99%%"
                   % (user, user[node], node, 100 * share, reads))


# --- VM runner option checks -------------------------------------------------

def fake_image(path, efi_stub):
    """A 64 KiB file with an arm64 Image header, PE/COFF (EFI stub) or not."""
    head = bytearray(65536)
    head[0x38:0x3c] = b"ARM\x64"
    if efi_stub:
        head[0:2] = b"MZ"
        head[0x3c:0x40] = (0x40).to_bytes(4, "little")
        head[0x40:0x44] = b"PE\0\0"
    with open(path, "wb") as f:
        f.write(head)
    return path


def group_vmopts(cnt, args):
    os.makedirs(LOGS, exist_ok=True)
    stub = fake_image(os.path.join(LOGS, "vmopts-Image-efi"), True)
    nostub = fake_image(os.path.join(LOGS, "vmopts-Image-noefi"), False)
    efi = ["--efi", "--initrd", "", "--nodes", "1", "--config", "/nonexistent"]
    noacpi = os.path.join(LOGS, "vmopts-config-noacpi")
    with open(noacpi, "w") as f:
        f.write("CONFIG_EFI=y\n# CONFIG_ACPI is not set\nCONFIG_PCI=y\n")
    bad = [
        ("zero-nodes", ["--nodes", "0"], "at least 1"),
        ("too-many-cpus", ["--nodes", "4", "--cpus-per-node", "5"], "NR_CPUS"),
        ("no-memory", ["--nodes", "2", "--mem", "0,0"], "needs memory"),
        ("mem-list-length", ["--nodes", "3", "--mem", "512,512"], "3 nodes"),
        ("mem-not-number", ["--mem", "lots"], "expected MiB"),
        ("tiny-node", ["--nodes", "2", "--mem", "16,512"], "at least 64"),
        ("cpuless-no-memory", ["--nodes", "2", "--cpuless-mem", "0"], "needs memory"),
        ("disk-missing", ["--disk", os.path.join(LOGS, "no-such-disk.img")], "no such file"),
        ("efi-no-firmware", efi + ["--kernel", stub], "package qemu-efi-aarch64",
         {"KR_AAVMF_DIR": os.path.join(LOGS, "no-such-firmware")}),
        ("efi-no-stub", efi + ["--kernel", nostub], "no EFI stub"),
        ("efi-no-acpi", efi + ["--kernel", stub, "--config", noacpi], "CONFIG_ACPI"),
    ]
    log = os.path.join(LOGS, "vmopts.log")
    for name, opts, expect, *env in bad:
        if os.path.exists(log):
            os.remove(log)
        p = subprocess.run([sys.executable, VM, "--log", log] + opts,
                           env=dict(os.environ, **(env[0] if env else {})),
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 2:
            cnt.record("vmopts/" + name, "FAIL", "exit %d, expected 2" % p.returncode)
        elif expect not in p.stderr:
            cnt.record("vmopts/" + name, "FAIL", "message lacks %r: %s" % (expect, p.stderr))
        elif os.path.exists(log):
            cnt.record("vmopts/" + name, "FAIL", "QEMU was started")
        else:
            cnt.record("vmopts/" + name, "PASS")


# --- console checker against fixtures ----------------------------------------

def group_harness(cnt, args):
    sys.path.insert(0, os.path.join(ROOT, "tests", "harness"))
    import fixtures
    for name, ok in fixtures.run_all():
        cnt.record("harness/" + name, "PASS" if ok is True else "FAIL",
                   "" if ok is True else ok)


def group_bbml2(cnt, args):
    group_boot(cnt, args, BBML2_TOPOLOGIES)


GROUPS = [("harness", group_harness), ("vmopts", group_vmopts),
          ("boot", group_boot), ("bbml2", group_bbml2), ("hibernate", group_hibernate),
          ("geometry", group_geometry), ("selftest", group_selftest), ("plugin", group_plugin)]


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", default="", help="comma list of groups")
    p.add_argument("--timeout", type=int, default=300, help="seconds per boot")
    p.add_argument("--hang-timeout", type=int, default=30,
                   help="seconds before the deliberately hung boot is killed")
    args = p.parse_args()
    only = set(filter(None, args.only.split(",")))
    unknown = only - {g for g, _ in GROUPS}
    if unknown:
        p.error("unknown group(s): %s" % ", ".join(sorted(unknown)))
    cnt = Counter()
    for name, fn in GROUPS:
        if not only or name in only:
            print("== %s" % name)
            fn(cnt, args)
    if cnt.failures:
        print("failed: %s" % ", ".join(cnt.failures))
    line = "%d passed, %d failed" % (cnt.passed, cnt.failed)
    if cnt.skipped:
        line += ", %d skipped" % cnt.skipped
    print(line)
    return 1 if cnt.failed else 0


if __name__ == "__main__":
    sys.exit(main())
