#!/usr/bin/env python3
"""kreplica geometry matrix: build and boot every page-table geometry.

For each geometry (configs/geometry/<name>.config on top of the project's
config) the series is built into build/matrix/<name>/, booted on 4 nodes x 2
CPUs plus a memoryless node with 2 CPUs, and judged like a `make test` boot:
the replication guest checks and the KUnit suite (run again after boot) must
pass with a clean console. A second boot runs the getpid workload under the
kr_numa plugin for the remote share of kernel instructions per node.

Writes bench/results/matrix.json and bench/results/matrix.md and puts the
table in README.md between the matrix markers. Each row keeps the commit and
date it ran on: --only reruns some rows and leaves the others as they were.

usage: matrix.py [--only 4k-48,64k-48] [--timeout S] [--no-readme]
"""
import argparse
import datetime
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402
import console_check  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VM = os.path.join(ROOT, "scripts", "vm.py")
RESULTS = os.path.join(ROOT, "bench", "results")
CPU_MAX = "max,pauth-impdef=on"

# name, what it is, QEMU CPU model. -cpu max has the three granules, LVA
# (52-bit VA with 64K pages), LPA and LPA2, BTI and PAC. Names ending in
# -bti build with clang: kernel BTI (GP bit on text) needs it in 6.12.
GEOMETRIES = [
    ("4k-48", "4K pages, 48-bit VA, 4 levels", CPU_MAX),
    ("4k-52", "4K pages, 52-bit VA (LPA2), 5 levels", CPU_MAX),
    ("16k-48", "16K pages, 48-bit VA, 4 levels", CPU_MAX),
    ("16k-52", "16K pages, 52-bit VA (LPA2), 4 levels", CPU_MAX),
    ("64k-48", "64K pages, 48-bit VA, 3 levels", CPU_MAX),
    ("64k-52", "64K pages, 52-bit VA (LVA), 3 levels", CPU_MAX),
    ("4k-48-kasan", "4K pages, 48-bit VA, generic KASAN", CPU_MAX),
    ("4k-48-bti", "4K pages, 48-bit VA, clang, kernel BTI and PAC", CPU_MAX),
    ("4k-48-dpa", "4K pages, 48-bit VA, DEBUG_PAGEALLOC on, BBML2 forced", CPU_MAX),
    ("4k-48-kfence", "4K pages, 48-bit VA, KFENCE enabled late, BBML2 forced", CPU_MAX),
]
# What a geometry's test boot adds: command line, cases that must pass (not
# skip), guest programs (None: every one).
BOOT = {
    "4k-48-kasan": {"runs": None},
    "4k-48-bti": {"must": ["replication.bti_gp"]},
    "4k-48-dpa": {"append": "debug_pagealloc=on arm64.force_bbml2_noabort kr.linear=pages",
                  "must": ["arm64_linear_map.lm_test_mode", "linear_map.mode"],
                  "runs": "kr-replication,kr-topo,kr-linear-map"},
    "4k-48-kfence": {"append": "kfence.sample_interval=0 arm64.force_bbml2_noabort "
                               "kr.linear=blocks kr.kfence_late=1",
                     "must": ["arm64_linear_map.lm_test_kfence_pool", "linear_map.kfence_late",
                              "linear_map.mode"],
                     "runs": "kr-replication,kr-topo,kr-linear-map"},
}
NODES, CPN = 5, 2
MEM = "1024,1024,1024,1024,0"


def run(cmd, log, env=None):
    with open(log, "w") as f:
        return subprocess.call(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT,
                                env=dict(os.environ, **(env or {})))


def build(name, out):
    env = {"KR_OUT": out, "EXTRA_FRAGMENTS": "configs/geometry/%s.config" % name,
           "KR_LLVM": "1" if name.endswith("-bti") else "0"}
    log = os.path.join(out, "build.log")
    if run(["scripts/build-kernel.sh"], log, env) or \
            run(["scripts/build-initramfs.sh"], os.path.join(out, "initramfs.log"), env):
        with open(log, errors="replace") as f:
            lines = [ln.strip() for ln in f if "config:" in ln or "error" in ln.lower()]
        return "build failed: %s (%s)" % ("; ".join(lines[:2]) or "see log", log)
    return None


def vm(out, cpu, append, log, timeout, extra=()):
    cmd = [sys.executable, VM, "--kernel", os.path.join(out, "Image"),
           "--initrd", os.path.join(out, "initramfs.cpio.gz"),
           "--nodes", str(NODES), "--cpus-per-node", str(CPN), "--mem", MEM,
           "--cpu", cpu, "--timeout", str(timeout), "--log", log, "--append", append]
    return subprocess.call(cmd + list(extra), cwd=ROOT)


def test_boot(out, cpu, timeout, append="", name="test", must_pass=(),
              runs="kr-replication,kr-topo"):
    """The replication checks and KUnit, judged as `make test` judges; the
    cases in must_pass must pass, not skip. runs=None: every guest program."""
    log = os.path.join(out, name + ".log")
    rc = vm(out, cpu, "kr.topo=%dx%d:%s %s %s"
            % (NODES, CPN, MEM, "kr.run=" + runs if runs else "", append), log, timeout)
    res = console_check.check_file(log)
    cases = res["cases"]
    kunit = [c for c in cases if c["source"] == "kunit" and
             c["name"].startswith("kernel_replication.")]
    failed = [c["name"] for c in cases if c["status"] == "FAIL"]
    why = [f["kind"] + ": " + f["text"] for f in res["failures"][:2]]
    if rc:
        why.insert(0, "vm exit %d" % rc)
    if not kunit:
        why.append("no kernel_replication KUnit results")
    if failed:
        why.append("failed: " + ", ".join(failed[:4]))
    passed = {c["name"] for c in cases if c["status"] == "PASS"}
    missing = [m for m in must_pass if m not in passed]
    if missing:
        why.append("did not pass: " + ", ".join(missing))
    ok = res["passed"] and not rc and kunit and not missing
    return ok, "; ".join(why), log, {
        "passed": sum(c["status"] == "PASS" for c in cases),
        "skipped": sum(c["status"] == "SKIP" for c in cases), "failed": len(failed)}


def plugin_boot(out, cpu, timeout):
    """getpid under the kr_numa plugin: remote share of kernel instructions
    per node, and bytes per extra node from kernel_replication/status."""
    log = os.path.join(out, "plugin.log")
    pjson = os.path.join(out, "plugin.json")
    plugin = "%s,topo=@TOPO@,out=%s,map=%s" % (bench.PLUGIN, pjson,
                                                os.path.join(out, "System.map"))
    rc = vm(out, cpu, "kr.report=0 kr.run=none kr.bench=1", log, timeout,
            ["--plugin", plugin])
    if rc or not os.path.exists(pjson):
        return None, None
    with open(pjson) as f:
        data = json.load(f)
    with open(log, errors="replace") as f:
        console = f.read().splitlines()
    per_node = {}
    for win in data["windows"]:
        if win["window"] != 0:      # getpid
            continue
        c = win["counts"]["insns"]
        counts = [a + b for a, b in zip(c["kernel_text"], c["kernel_other_text"])]
        acc = per_node.setdefault(win["node"], [0] * len(counts))
        per_node[win["node"]] = [a + b for a, b in zip(acc, counts)]
    remote = {n: bench.share_remote(v, n) for n, v in sorted(per_node.items())}
    return remote, bench.replica_bytes(console)


def pct(x):
    return "-" if x is None else "%.1f%%" % (100 * x)


def table(rows):
    L = ["Geometry matrix (`make matrix`; 4 nodes x 2 CPUs + node 4, memoryless, "
         "with 2 CPUs, QEMU -cpu max). Each row gives the commit and date it ran "
         "on; `make matrix ONLY=...` reruns rows. Node 4 has no memory: every "
         "fetch of its CPUs is remote whatever the kernel does.", "",
         "| geometry | commit, date | result | cases pass/skip/fail | bytes per extra node | "
         "remote kernel insns, getpid, per node |", "|---|---|---|---|---|---|"]
    for r in rows:
        nb = sorted(set((r.get("replica_bytes") or {}).values()))
        rem = r.get("remote") or {}
        L.append("| %s | %s, %s | %s | %s | %s | %s |" % (
            r["name"], r["commit"], r["date"], "PASS" if r["ok"] else "FAIL: " + r["why"],
            "%(passed)d/%(skipped)d/%(failed)d" % r["cases"] if r.get("cases") else "-",
            ", ".join("{:,}".format(b) for b in nb) or "-",
            " ".join("%d:%s" % (int(n), pct(v))
                     for n, v in sorted(rem.items(), key=lambda kv: int(kv[0]))) or "-"))
    return "\n".join(L) + "\n"


def update_readme(text):
    path = os.path.join(ROOT, "README.md")
    with open(path) as f:
        readme = f.read()
    begin, end = "<!-- matrix:begin -->\n", "<!-- matrix:end -->"
    if begin not in readme or end not in readme:
        print("matrix: README.md has no matrix markers; not updated", file=sys.stderr)
        return
    head, rest = readme.split(begin, 1)
    tail = rest.split(end, 1)[1]
    with open(path, "w") as f:
        f.write(head + begin + text + end + tail)


def load():
    path = os.path.join(RESULTS, "matrix.json")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [r for r in json.load(f).get("rows", []) if "commit" in r]


def save(row, readme):
    """Row by row, so a stopped run keeps what it measured; rows not run
    this time stay as they last ran, with their commit and date."""
    last = {r["name"]: r for r in load()}
    last[row["name"]] = row
    merged = [last[g[0]] for g in GEOMETRIES if g[0] in last]
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "matrix.json"), "w") as f:
        json.dump({"rows": merged}, f, indent=1)
    text = table(merged)
    with open(os.path.join(RESULTS, "matrix.md"), "w") as f:
        f.write(text)
    if readme:
        update_readme(text)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", default="", help="comma list of geometries")
    p.add_argument("--timeout", type=int, default=900, help="seconds per boot")
    p.add_argument("--no-readme", action="store_true")
    args = p.parse_args()
    only = set(filter(None, args.only.split(",")))
    names = {g[0] for g in GEOMETRIES}
    if only - names:
        p.error("unknown geometry: %s (have %s)" % (", ".join(sorted(only - names)),
                                                     ", ".join(sorted(names))))
    subprocess.check_call(["make", "-s", "plugin"], cwd=ROOT)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    date = datetime.date.today().isoformat()
    rows = []
    for name, what, cpu in GEOMETRIES:
        if only and name not in only:
            continue
        out = os.path.join("build", "matrix", name)
        os.makedirs(os.path.join(ROOT, out), exist_ok=True)
        print("== %s (%s)" % (name, what), flush=True)
        row = {"name": name, "what": what, "cpu": cpu, "commit": commit, "date": date}
        err = build(name, out)
        if err:
            row.update(ok=False, why=err)
        else:
            # KASAN checks every access the guest programs make: all of them.
            opts = BOOT.get(name, {})
            ok, why, log, cases = test_boot(out, cpu, args.timeout,
                                            append=opts.get("append", ""),
                                            must_pass=opts.get("must", []),
                                            runs=opts.get("runs", "kr-replication,kr-topo"))
            row.update(ok=ok, why="%s (%s)" % (why, log), cases=cases)
            row["remote"], row["replica_bytes"] = plugin_boot(out, cpu, args.timeout)
        print("%s %s%s" % ("PASS" if row["ok"] else "FAIL", name,
                           "" if row["ok"] else ": " + row["why"]), flush=True)
        rows.append(row)
        save(row, not args.no_readme)
    print(table(load()))
    failed = [r["name"] for r in rows if not r["ok"]]
    print("%d passed, %d failed" % (len(rows) - len(failed), len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
