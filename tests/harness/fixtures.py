"""Console logs with known verdicts, for the console checker's own tests.

Each fixture is a console log (as printk writes it, timestamps included) and
what console_check must make of it: the failure kinds it reports and the test
cases it counts, each once.  run_all() yields (name, True | reason).
"""
import console_check

T = "[    1.000000] "

KUNIT_PASSING = """\
[    1.000000] KTAP version 1
[    1.000000] 1..2
[    1.000000]     KTAP version 1
[    1.000000]     # Subtest: example
[    1.000000]     # module: kunit_example_test
[    1.000000]     1..3
[    1.000000]     # example_simple_test: initializing
[    1.000000]     ok 1 example_simple_test
[    1.000000]     ok 2 example_skip_test # SKIP this test should be skipped
[    1.000000]         KTAP version 1
[    1.000000]         # Subtest: example_params_test
[    1.000000]         ok 1 example value 3
[    1.000000]         ok 2 example value 2 # SKIP unsupported param value 0
[    1.000000]     # example_params_test: pass:1 fail:0 skip:1 total:2
[    1.000000]     ok 3 example_params_test
[    1.000000] # example: pass:2 fail:0 skip:1 total:3
[    1.000000] ok 1 example
[    1.000000]     KTAP version 1
[    1.000000]     # Subtest: other
[    1.000000]     1..1
[    1.000000]     ok 1 other_case
[    1.000000] ok 2 other
"""

KUNIT_FAILING = """\
[    2.000000]     KTAP version 1
[    2.000000]     # Subtest: kr_harness
[    2.000000]     # module: kr_harness_kunit
[    2.000000]     1..2
[    2.000000]     ok 1 kr_harness_arith
[    2.000000]     # kr_harness_forced: EXPECTATION FAILED at kr_harness_kunit.c:22
[    2.000000]     Expected fail is false, but
[    2.000000]         fail == 1 (0x1)
[    2.000000] fail=1 asks this case to fail
[    2.000000]     not ok 2 kr_harness_forced
[    2.000000] # kr_harness: pass:1 fail:1 skip:0 total:2
[    2.000000] not ok 1 kr_harness
"""

GUEST_OK = "KR-CASE topo.online_nodes PASS\nKR-CASE topo.node_cpus PASS\n"
DONE = "KR-DONE\n"

WARN = """\
[    3.100000] ------------[ cut here ]------------
[    3.100000] WARNING: CPU: 1 PID: 57 at drivers/misc/lkdtm/bugs.c:101 lkdtm_WARNING+0x8/0x10
[    3.100000] Modules linked in:
[    3.100000] ---[ end trace 0000000000000000 ]---
"""

LOCKDEP = """\
[    3.200000] ======================================================
[    3.200000] WARNING: possible circular locking dependency detected
[    3.200000] 6.12.117 #1 Not tainted
"""

OOPS = """\
[    3.300000] Unable to handle kernel NULL pointer dereference at virtual address 0000000000000000
[    3.300000] Internal error: Oops: 0000000096000005 [#1] PREEMPT SMP
[    3.300000] Kernel panic - not syncing: Oops: Fatal exception
"""

KASAN = """\
[    3.400000] ==================================================================
[    3.400000] BUG: KASAN: slab-out-of-bounds in kr_copy+0x10/0x20
"""

BUG = "[    3.500000] BUG: sleeping function called from invalid context at mm/slab.c:1\n"
HUNG = "[  120.000000] INFO: task kworker/0:1:12 blocked for more than 120 seconds.\n"
WX = "[    1.500000] arm64/mm: Found insecure W+X mapping at address 0xffff800080000000\n"
TIMEOUT = "KR-VM: TIMEOUT after 60s\n"

# Harmless lines that name the scary words: none may fail a boot.
BENIGN = """\
[    0.000000] Booting Linux on physical CPU 0x0000000000 [0x000f0510]
[    0.100000] Checked W+X mappings: passed, no W+X pages found
[    0.200000] lkdtm: No crash points registered, enable through debugfs
[    0.300000] Warning: unable to open an initial console.
KR-CASE report.words PASS a WARNING: in a guest reason is the guest's business
"""

FIXTURES = [
    # name, log, expected failure kinds, expected {case: status}
    ("kunit-pass", KUNIT_PASSING + GUEST_OK + DONE, set(),
     {"example.example_simple_test": "PASS",
      "example.example_skip_test": "SKIP",
      "example.example_params_test.example value 3": "PASS",
      "example.example_params_test.example value 2": "SKIP",
      "other.other_case": "PASS",
      "topo.online_nodes": "PASS", "topo.node_cpus": "PASS"}),
    ("kunit-fail", KUNIT_FAILING + DONE, set(),
     {"kr_harness.kr_harness_arith": "PASS", "kr_harness.kr_harness_forced": "FAIL"}),
    ("guest-fail", "KR-CASE selftest.forced FAIL asked to\n" + DONE, set(),
     {"selftest.forced": "FAIL"}),
    ("guest-exit", "KR-CASE kr-crash.exit FAIL exited with status 139\n" + DONE, set(),
     {"kr-crash.exit": "FAIL"}),
    ("warn", WARN + DONE, {"warning"}, {}),
    ("lockdep", LOCKDEP + DONE, {"lockdep"}, {}),
    ("oops-panic", OOPS, {"oops", "panic", "no-marker"}, {}),
    ("kasan", KASAN + DONE, {"kasan"}, {}),
    ("bug", BUG + DONE, {"bug"}, {}),
    ("hung-task", HUNG + DONE, {"hung"}, {}),
    ("wx", WX + DONE, {"wx"}, {}),
    ("timeout", "[    0.1] Booting\n" + TIMEOUT, {"timeout", "no-marker"}, {}),
    ("no-marker", KUNIT_PASSING, {"no-marker"}, None),
    ("benign", BENIGN + DONE, set(), {"report.words": "PASS"}),
    ("crlf", (GUEST_OK + DONE).replace("\n", "\r\n"), set(),
     {"topo.online_nodes": "PASS", "topo.node_cpus": "PASS"}),
]


def check(log, kinds, cases):
    res = console_check.check_lines(log.splitlines(True))
    got_kinds = {f["kind"] for f in res["failures"]}
    if got_kinds != kinds:
        return "failure kinds %s, expected %s" % (sorted(got_kinds), sorted(kinds))
    if cases is not None:
        got = {}
        for c in res["cases"]:
            if c["name"] in got:
                return "case %s counted twice" % c["name"]
            got[c["name"]] = c["status"]
        if got != cases:
            return "cases %s, expected %s" % (got, cases)
    want_pass = not kinds and not any(s == "FAIL" for s in (cases or {}).values())
    if res["passed"] != want_pass:
        return "verdict %s, expected %s" % (res["passed"], want_pass)
    return True


def run_all():
    for name, log, kinds, cases in FIXTURES:
        yield name, check(log, kinds, cases)
