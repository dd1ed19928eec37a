#!/usr/bin/env python3
"""kreplica benchmark: the unpatched (baseline) and patched kernels, same
config, same topology, same workloads, in one run, measured by the kr_numa
TCG plugin (tools/numa-plugin/kr_numa.c).

QEMU TCG models no NUMA latency, so this reports what emulation counts
exactly: from which node each executed kernel instruction and each rodata
read came, instructions per operation, instructions to reach init, memory
used by replicas and kernel page-table entries per level.

usage: bench.py [--nodes 4] [--cpus-per-node 2] [--mem 1024] [--iter 5]
                [--out bench/results] [--no-build]
Writes OUT/results.json, OUT/report.md and OUT/remote-kernel-insns.svg.
"""
import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VM = os.path.join(ROOT, "scripts", "vm.py")
PLUGIN = os.path.join(ROOT, "build", "tools", "kr_numa.so")
# name, build, kernel command line. The patched kernel runs twice: with the
# block-mapped linear map off (arm64.nobbml2) and on; QEMU's -cpu max is on no
# list of BBML2 CPUs, so both force it and the off switch decides. No boot
# runs the KUnit cases that split the linear map (speed=slow).
BBML2_OFF = "arm64.force_bbml2_noabort arm64.nobbml2"
BBML2_ON = "arm64.force_bbml2_noabort"
# With BBML2 on, the execmem ROX cache is on unless arm64.noexecmem_rox.
ROX_OFF = BBML2_ON + " arm64.noexecmem_rox"
KERNELS = [("baseline", os.path.join(ROOT, "build", "baseline"), ""),
           ("patched", os.path.join(ROOT, "build"), BBML2_OFF),
           ("patched-bbml2-norox", os.path.join(ROOT, "build"), ROX_OFF),
           ("patched-bbml2", os.path.join(ROOT, "build"), BBML2_ON)]
KUNIT_FAST = "kunit.filter=speed>slow"
# In window order: WORKLOADS[w] is measured in plugin window w (guest/kr-bench.c).
WORKLOADS = ["getpid", "read", "pipe", "fork_exec", "module", "ftrace", "mmap", "bpf", "kprobe"]
LEVEL_SIZE = {"PTE": 4 << 10, "PMD": 2 << 20, "PUD": 1 << 30, "P4D": 512 << 30,
              "PGD": 512 << 30}
KERNEL_INSN = ("kernel_text", "kernel_other_text")


def sh(cmd):
    print("+ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True)


def build():
    sh(["make", "kernel", "initramfs", "plugin"])
    sh(["make", "kernel", "initramfs", "BASELINE=1"])


def system_map(kdir):
    syms = {}
    with open(os.path.join(kdir, "System.map")) as f:
        for line in f:
            a, _, name = line.split()[:3]
            if name in ("_text", "_end", "_stext", "_etext"):
                syms[name] = int(a, 16)
    return syms


def boot(kdir, args, append, log, plugin_out=None, icount=False):
    cmd = [sys.executable, VM, "--kernel", os.path.join(kdir, "Image"),
           "--initrd", os.path.join(kdir, "initramfs.cpio.gz"),
           "--nodes", str(args.nodes), "--cpus-per-node", str(args.cpus_per_node),
           "--mem", args.mem, "--timeout", str(args.timeout), "--log", log,
           "--append", "nokaslr kr.report=0 kr.run=none " + append]
    if icount:
        cmd.append("--icount")
    if plugin_out:
        cmd += ["--plugin", "%s,topo=@TOPO@,out=%s,map=%s" % (
            PLUGIN, plugin_out, os.path.join(kdir, "System.map"))]
    start = time.monotonic()
    rc = subprocess.call(cmd)
    secs = time.monotonic() - start
    if rc != 0:
        sys.exit("bench: boot failed (exit %d), see %s" % (rc, log))
    return secs


def ptdump_entries(console, syms, mark="KR-PTDUMP"):
    """Entries per level for the kernel image and the linear map, and the
    linear map's table pages: a PTE table per 2MB region with PTE lines, a
    PMD table per 1GB region with PMD or PTE lines (4K pages)."""
    out = {"image": {}, "linear_map": {}, "modules": {}, "lines": []}
    pte_tables, pmd_tables = set(), set()
    section = None
    inside = False
    for line in console:
        if mark + "-BEGIN" in line:
            inside = True
            continue
        if mark + "-END" in line:
            break
        if not inside:
            continue
        m = re.search(r"---\[ (.*) \]---", line)
        if m:
            section = m.group(1)
            continue
        # Lines without attributes after the level are holes, not mappings.
        m = re.match(r"\s*0x([0-9a-f]+)-0x([0-9a-f]+)\s+\S+\s+(PGD|P4D|PUD|PMD|PTE)\s+\S", line)
        if not m:
            continue
        start, end, level = int(m.group(1), 16), int(m.group(2), 16), m.group(3)
        n = (end - start) // LEVEL_SIZE[level]
        out["lines"].append((start, end, level))
        if section == "Modules start":
            out["modules"][level] = out["modules"].get(level, 0) + n
        if section == "Linear Mapping start":
            out["linear_map"][level] = out["linear_map"].get(level, 0) + n
            if level == "PTE":
                pte_tables.update(range(start >> 21, ((end - 1) >> 21) + 1))
            if level in ("PTE", "PMD"):
                pmd_tables.update(range(start >> 30, ((end - 1) >> 30) + 1))
        lo, hi = max(start, syms["_text"]), min(end, syms["_end"])
        if lo < hi:
            out["image"][level] = out["image"].get(level, 0) + (hi - lo) // LEVEL_SIZE[level]
    out["linear_map_table_bytes"] = (len(pte_tables) + len(pmd_tables)) * 4096
    return out


def linear_map_state(console):
    """DirectMap lines, debugfs linear_map and splits per workload."""
    out = {"direct_map_kb": {}, "splits": {}, "debugfs": []}
    for line in console:
        m = re.search(r"KR-MEMINFO (DirectMap\w+):\s+(\d+) kB", line)
        if m:
            out["direct_map_kb"][m.group(1)] = int(m.group(2))
        m = re.search(r"KR-SPLITS (\S+) (\d+)", line)
        if m:
            out["splits"][m.group(1)] = int(m.group(2))
        m = re.search(r"KR-LINEAR-MAP (.*)", line)
        if m:
            out["debugfs"].append(m.group(1).strip())
    return out


def execmem_state(console, entries):
    """debugfs execmem_rox_cache, and the level of the entry mapping the text
    of each module loaded for the second dump (KR-MODTEXT)."""
    out = {"cache": {}, "module_text_level": {}}
    for line in console:
        m = re.search(r"KR-EXECMEM (\w+) (\d+)", line)
        if m:
            out["cache"][m.group(1)] = int(m.group(2))
        m = re.search(r"KR-MODTEXT (\S+) 0x([0-9a-f]+)", line)
        if m:
            addr = int(m.group(2), 16)
            out["module_text_level"][m.group(1)] = next(
                (lvl for a, b, lvl in entries["lines"] if a <= addr < b), "unmapped")
    return out


def replica_bytes(console):
    """Bytes used by replication on each node with a copy (kernel_replication/status)."""
    per_node = {}
    for line in console:
        m = re.search(r"node (\d+): copy .*replica bytes (\d+)", line)
        if m:
            per_node[int(m.group(1))] = int(m.group(2))
    return per_node


def activation_us(console):
    """Replication's activation times from the console, in virtual microseconds:
    under -icount (shift=0) the guest clock advances one nanosecond per
    instruction, so these count thousands of instructions."""
    for line in console:
        m = re.search(r"activation: copies filled in (\d+) us, \d+ KiB at a time; "
                      r"CPUs stopped for (\d+) us", line)
        if m:
            return {"fill_us": int(m.group(1)), "stopped_us": int(m.group(2))}
    return None


def share_remote(per_node, node):
    total = sum(per_node)
    return (total - per_node[node]) / total if total else None


def measure(name, kdir, cmdline, args, outdir, cost=True):
    logs = os.path.join(outdir, "logs")
    os.makedirs(logs, exist_ok=True)
    res = {"kernel": name, "cmdline": cmdline}
    append = " ".join(x for x in (KUNIT_FAST, cmdline) if x)
    # Plugin cost on the boot workload: medians of plain and instrumented boots.
    plain, instr = [], []
    for i in range(args.repeat if cost else 0):
        plain.append(boot(kdir, args, append, os.path.join(logs, "%s-plain.log" % name)))
        instr.append(boot(kdir, args, append, os.path.join(logs, "%s-instr.log" % name),
                          os.path.join(logs, "%s-boot.json" % name)))
    if cost:
        res["boot_seconds"] = statistics.median(plain)
        res["boot_seconds_plugin"] = statistics.median(instr)

    runs = [bench_run(name, kdir, append, args, logs, i) for i in range(args.runs)]
    res["boot_insns_runs"] = [r["boot_insns"] for r in runs]
    res["boot_insns"] = statistics.median(res["boot_insns_runs"])
    work = {}
    for wl in WORKLOADS:
        per_run = [r["work"][wl]["insns"] / r["work"][wl]["ops"] for r in runs]
        kinsn, rodata = {}, {}
        for r in runs:
            for n, d in r["work"][wl]["per_node"].items():
                kinsn[n] = [a + b for a, b in zip(kinsn.get(n, [0] * len(d["kinsn"])), d["kinsn"])]
                rodata[n] = [a + b for a, b in zip(rodata.get(n, [0] * len(d["rodata"])),
                                                   d["rodata"])]
        work[wl] = {
            "insns_per_op_runs": per_run,
            "insns_per_op": statistics.median(per_run),
            "remote_kernel_insn_share": {n: share_remote(v, n) for n, v in sorted(kinsn.items())},
            "remote_rodata_read_share": {n: share_remote(v, n) for n, v in sorted(rodata.items())},
        }
    res["workloads"] = work
    res["vcpu_remote_kernel_insn_share"] = runs[0]["vcpu_remote"]
    res["getpid_vcpu_remote_kernel_insn_share"] = runs[0]["getpid_vcpu_remote"]
    res["page_table_entries"] = runs[0]["page_table_entries"]
    res["page_table_entries_after"] = runs[0]["page_table_entries_after"]
    res["linear_map"] = runs[0]["linear_map"]
    res["execmem"] = runs[0]["execmem"]
    for r in (res["page_table_entries"], res["page_table_entries_after"]):
        r.pop("lines")
    res["replica_bytes"] = runs[0]["replica_bytes"]
    acts = [r["activation"] for r in runs if r["activation"]]
    res["activation"] = {k: statistics.median(a[k] for a in acts)
                         for k in ("fill_us", "stopped_us")} if acts else None
    return res


def bench_run(name, kdir, append, args, logs, i):
    """One deterministic (-icount) boot running every workload."""
    log = os.path.join(logs, "%s-bench%d.log" % (name, i))
    pjson = os.path.join(logs, "%s-bench%d.json" % (name, i))
    boot(kdir, args, "kr.bench=%d %s" % (args.iter, append), log, pjson, icount=True)
    with open(log, errors="replace") as f:
        console = f.read().splitlines()
    with open(pjson) as f:
        data = json.load(f)
    ops = {}
    for line in console:
        m = re.search(r"KR-BENCH (\S+) window (\d+) cpu (\d+) ops (\d+)( FAILED)?", line)
        if m:
            if m.group(5):
                sys.exit("bench: workload %s failed on cpu %s" % (m.group(1), m.group(3)))
            ops[(int(m.group(2)), int(m.group(3)))] = int(m.group(4))
    nodes = data["nodes"]
    work = {}
    for w, wl in enumerate(WORKLOADS):
        per_node = {}
        insns = total_ops = 0
        for win in data["windows"]:
            if win["window"] != w or (w, win["vcpu"]) not in ops:
                continue
            c = win["counts"]
            d = per_node.setdefault(win["node"], {"kinsn": [0] * (nodes + 1),
                                                  "rodata": [0] * (nodes + 1)})
            for k in KERNEL_INSN:
                d["kinsn"] = [a + b for a, b in zip(d["kinsn"], c["insns"][k])]
            d["rodata"] = [a + b for a, b in zip(d["rodata"], c["reads"]["kernel_rodata"])]
            insns += sum(sum(v) for v in c["insns"].values())
            total_ops += ops[(w, win["vcpu"])]
        if not total_ops:
            sys.exit("bench: no plugin window for workload %s (see %s)" % (wl, log))
        work[wl] = {"insns": insns, "ops": total_ops, "per_node": per_node}
    getpid_vcpu_remote = {
        win["vcpu"]: share_remote([a + b for a, b in zip(win["counts"]["insns"]["kernel_text"],
                                                         win["counts"]["insns"]["kernel_other_text"])],
                                  win["node"])
        for win in data["windows"] if win["window"] == 0}
    vcpu_remote = [
        share_remote([a + b for a, b in zip(v["total"]["insns"]["kernel_text"],
                                            v["total"]["insns"]["kernel_other_text"])],
                     v["node"]) for v in data["vcpus"]]
    after = ptdump_entries(console, system_map(kdir), "KR-PTDUMP-AFTER")
    return {"boot_insns": data["boot_insns"], "work": work, "vcpu_remote": vcpu_remote,
            "activation": activation_us(console),
            "getpid_vcpu_remote": getpid_vcpu_remote,
            "page_table_entries": ptdump_entries(console, system_map(kdir)),
            "page_table_entries_after": after,
            "linear_map": linear_map_state(console),
            "execmem": execmem_state(console, after),
            "replica_bytes": replica_bytes(console)}


def pct(x):
    return "n/a" if x is None else "%.2f%%" % (100 * x)


def mem_per_node(per_node):
    if not per_node:
        return "0"
    return ", ".join("node %d: %d" % (n, b) for n, b in sorted(per_node.items()))


def spread(xs):
    return "%.2f%%" % (100 * (max(xs) - min(xs)) / statistics.median(xs))


def ratio(a, b):
    return "n/a" if not a or b is None else "%.4f" % (b / a)


def versions():
    def first_line(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()[0]
        except (OSError, IndexError):
            return "unknown"
    kver = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "linux-source-6.12"],
                          capture_output=True, text=True).stdout or "unknown"
    return {"kernel_source": "linux-source-6.12 " + kver,
            "qemu": first_line(["qemu-system-aarch64", "--version"]),
            "compiler": first_line(["aarch64-linux-gnu-gcc", "--version"]),
            "series": sum(1 for l in open(os.path.join(ROOT, "patches", "series"))
                          if l.strip() and not l.startswith("#"))}


def svg_plot(results, path):
    """Grouped bars: remote share of kernel instructions per node and workload."""
    base, pat = results["baseline"], results["patched"]
    nodes = sorted({int(n) for wl in WORKLOADS
                    for n in base["workloads"][wl]["remote_kernel_insn_share"]})
    bw, gap, h, top, left = 7, 14, 220, 30, 50
    groups = [(wl, n) for wl in WORKLOADS for n in nodes]
    width = max(720, left + len(groups) * (2 * bw + 4) + len(WORKLOADS) * gap + 20)
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="10">' % (width, h + top + 60),
           '<text x="%d" y="16" font-size="12">Share of kernel instructions fetched from '
           'another node, per workload and node (grey: baseline, blue: patched)</text>' % left]
    for pctl in (0, 25, 50, 75, 100):
        y = top + h - h * pctl / 100
        out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>'
                   '<text x="5" y="%.1f">%d%%</text>' % (left, width, y, y, y + 3, pctl))
    x = left
    for wl in WORKLOADS:
        x0 = x
        for n in nodes:
            for res, color in ((base, "#999"), (pat, "#2a6ebb")):
                v = res["workloads"][wl]["remote_kernel_insn_share"].get(n)
                v = v or 0
                out.append('<rect x="%d" y="%.1f" width="%d" height="%.1f" fill="%s"/>'
                           % (x, top + h - h * v, bw, h * v, color))
                x += bw
            out.append('<text x="%d" y="%d" font-size="8">n%d</text>' % (x - 2 * bw, top + h + 10, n))
            x += 4
        out.append('<text x="%d" y="%d">%s</text>' % (x0, top + h + 28, wl))
        x += gap
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def share_table(title, key, base, pat, nodes):
    """Markdown rows: per workload and node, baseline -> patched remote share."""
    rows = ["## %s, per node (baseline -> patched)" % title, "",
            "| workload | " + " | ".join("node %d" % n for n in nodes) + " |",
            "|---|" + "---|" * len(nodes)]
    for wl in WORKLOADS:
        b = base["workloads"][wl][key]
        p = pat["workloads"][wl][key]
        rows.append("| %s | " % wl + " | ".join("%s -> %s" % (pct(b.get(n)), pct(p.get(n)))
                                               for n in nodes) + " |")
    return rows


def report(results, args, path, cmdline):
    base, pat = results["baseline"], results["patched"]
    v = results["versions"]
    nodes = sorted({int(n) for wl in WORKLOADS
                    for n in base["workloads"][wl]["remote_kernel_insn_share"]})
    L = ["# kreplica benchmark", "",
         "Measured %s with `%s`." % (results["date"], cmdline), "",
         "- kernel: %s, patches in series: %d (baseline: none), same config" % (
             v["kernel_source"], v["series"]),
         "- %s; %s" % (v["qemu"], v["compiler"]),
         "- topology: %d nodes x %d CPUs, %s MiB per node; nokaslr (the plugin maps "
         "image symbols from System.map); workload scale --iter %d" % (
             args.nodes, args.cpus_per_node, args.mem, args.iter), "",
         "QEMU TCG models no NUMA latency: these are exact counts of where instructions "
         "and reads came from, not times.", ""]
    L += share_table("Remote share of kernel instructions", "remote_kernel_insn_share",
                     base, pat, nodes)
    cpus = sorted(base["getpid_vcpu_remote_kernel_insn_share"])
    L += ["", "## Remote share of kernel instructions per CPU, getpid on every CPU "
          "(baseline -> patched)", "",
          "| " + " | ".join("cpu %d (node %d)" % (c, c // args.cpus_per_node) for c in cpus) + " |",
          "|" + "---|" * len(cpus),
          "| " + " | ".join("%s -> %s" % (pct(base["getpid_vcpu_remote_kernel_insn_share"][c]),
                                          pct(pat["getpid_vcpu_remote_kernel_insn_share"][c]))
                            for c in cpus) + " |"]
    L += [""] + share_table("Remote share of kernel rodata reads",
                            "remote_rodata_read_share", base, pat, nodes)
    L += ["", "## Instructions per operation (all CPUs, user + kernel)", "",
          "Median of %d deterministic boots per kernel (`-icount`, one TCG thread); the "
          "spread is (max - min) / median over those boots, the noise floor of the ratio."
          % args.runs, "",
          "| workload | baseline | spread | patched | spread | patched/baseline |",
          "|---|---|---|---|---|---|"]
    for wl in WORKLOADS:
        b = base["workloads"][wl]
        p = pat["workloads"][wl]
        L.append("| %s | %.0f | %s | %.0f | %s | %s |" % (
            wl, b["insns_per_op"], spread(b["insns_per_op_runs"]), p["insns_per_op"],
            spread(p["insns_per_op_runs"]), ratio(b["insns_per_op"], p["insns_per_op"])))
    L += ["", "## Boot and memory", "",
          "| metric | baseline | patched | patched/baseline |", "|---|---|---|---|",
          "| instructions to reach init (all vCPUs; spread %s / %s) | %d | %d | %s |" % (
              spread(base["boot_insns_runs"]), spread(pat["boot_insns_runs"]),
              base["boot_insns"], pat["boot_insns"], ratio(base["boot_insns"], pat["boot_insns"])),
          "| memory used by replication, per extra node (bytes) | %s | %s | |" % (
              mem_per_node(base["replica_bytes"]), mem_per_node(pat["replica_bytes"]))]
    act = pat.get("activation")
    if act:
        L.append("| activation: CPUs stopped (icount us, ~1000 instructions each; copies "
                 "filled before, IRQs off 64K at a time: %d us) | | %d | |" % (
                     act["fill_us"], act["stopped_us"]))
    for what in ("image", "linear_map"):
        for lvl in ("PUD", "PMD", "PTE"):
            b = base["page_table_entries"][what].get(lvl, 0)
            p = pat["page_table_entries"][what].get(lvl, 0)
            L.append("| %s %s entries | %d | %d | %s |" % (what.replace("_", " "), lvl, b, p,
                                                         ratio(b, p)))
    if "patched-bbml2" in results:
        L += bbml2_report(pat, results["patched-bbml2-norox"])
        L += rox_report(results["patched-bbml2-norox"], results["patched-bbml2"])
    L += ["", "## Cost of the instrument", "",
          "Median wall time of %d boots to init and power-off, without -> with the plugin: "
          "baseline %.1fs -> %.1fs (%.2fx), patched %.1fs -> %.1fs (%.2fx)." % (
              args.repeat, base["boot_seconds"], base["boot_seconds_plugin"],
              base["boot_seconds_plugin"] / base["boot_seconds"],
              pat["boot_seconds"], pat["boot_seconds_plugin"],
              pat["boot_seconds_plugin"] / pat["boot_seconds"]), "",
          "![remote kernel instructions](remote-kernel-insns.svg)", ""]
    with open(path, "w") as f:
        f.write("\n".join(L))


def bbml2_report(off, on):
    """The block-mapped linear map: the patched kernel with arm64.nobbml2
    (off) and without (on), both with arm64.force_bbml2_noabort."""
    L = ["", "## Linear map on BBML2 CPUs: arm64.nobbml2 -> on (patched kernel, same run)", "",
         "Both boots pass `%s`; the off switch `arm64.nobbml2` decides. Entries are "
         "counted in ptdump's Linear Mapping section after boot and after the workloads; "
         "table bytes are the linear map's PTE and PMD tables (a PTE table per 2MB, a "
         "PMD table per 1GB with smaller leaves)." % BBML2_ON, "",
         "| metric | off | on | on/off |", "|---|---|---|---|"]
    for when, key in (("after boot", "page_table_entries"),
                      ("after the workloads", "page_table_entries_after")):
        for lvl in ("PTE", "PMD", "PUD"):
            b = off[key]["linear_map"].get(lvl, 0)
            p = on[key]["linear_map"].get(lvl, 0)
            L.append("| linear map %s entries, %s | %d | %d | %s |" % (lvl, when, b, p,
                                                                      ratio(b, p)))
        b, p = off[key]["linear_map_table_bytes"], on[key]["linear_map_table_bytes"]
        L.append("| linear map table bytes, %s | %d | %d | %s |" % (when, b, p, ratio(b, p)))
    names = sorted(set(off["linear_map"]["direct_map_kb"]) | set(on["linear_map"]["direct_map_kb"]),
                   key=lambda n: ("kMGT".index(n[-1]), int(re.findall(r"\d+", n)[0])))
    for n in names:
        b = off["linear_map"]["direct_map_kb"].get(n, 0)
        p = on["linear_map"]["direct_map_kb"].get(n, 0)
        L.append("| %s after the workloads (kB) | %d | %d | |" % (n, b, p))
    L.append("| memory used by replication, per extra node (bytes) | %s | %s | |" % (
        mem_per_node(off["replica_bytes"]), mem_per_node(on["replica_bytes"])))
    b = off["page_table_entries_after"]["linear_map"].get("PTE", 0)
    p = on["page_table_entries_after"]["linear_map"].get("PTE", 0)
    L += ["", "Level-3 linear-map entries with the capability on, after the workloads: "
          "%d, %.2f%% of the %d with it off (target: at most 1%%)." % (
              p, 100.0 * p / b if b else 0, b), ""]
    L += ["Kernel leaves split during each workload (debugfs linear_map), on: " +
          ", ".join("%s %d" % (wl, on["linear_map"]["splits"].get(wl, 0)) for wl in WORKLOADS) +
          "; off: " + ", ".join("%s %d" % (wl, off["linear_map"]["splits"].get(wl, 0))
                                for wl in WORKLOADS) + ".", ""]
    L += ["| workload | off | spread | on | spread | on/off |", "|---|---|---|---|---|---|"]
    for wl in WORKLOADS:
        b, p = off["workloads"][wl], on["workloads"][wl]
        L.append("| %s | %.0f | %s | %.0f | %s | %s |" % (
            wl, b["insns_per_op"], spread(b["insns_per_op_runs"]), p["insns_per_op"],
            spread(p["insns_per_op_runs"]), ratio(b["insns_per_op"], p["insns_per_op"])))
    L += ["", "Instructions per operation cannot show what larger leaves are for: TCG "
          "executes the same instructions whatever the leaf size and models no TLB. "
          "The gain is TLB reach (mainline measured -28.5% kernel TLB misses on "
          "hardware); here it shows only as entries and table bytes."]
    return L


def rox_report(off, on):
    """The execmem ROX cache: BBML2 on, with arm64.noexecmem_rox (off) and
    without (on)."""
    L = ["", "## Execmem ROX cache: arm64.noexecmem_rox -> on (patched kernel, BBML2 on, "
         "same run)", "",
         "Both boots pass `%s`; `arm64.noexecmem_rox` decides. The second dump is taken "
         "after the workloads with kr_bench_mod and kr_rox_victim loaded." % BBML2_ON, "",
         "| metric | off | on | on/off |", "|---|---|---|---|"]
    ext = {}
    for name, r in (("off", off), ("on", on)):
        boot = r["page_table_entries"]["linear_map"].get("PTE", 0)
        after = r["page_table_entries_after"]["linear_map"].get("PTE", 0)
        ext[name] = (boot, after)
    for i, when in enumerate(("after boot", "after the workloads")):
        L.append("| linear map PTE entries, %s | %d | %d | %s |" % (
            when, ext["off"][i], ext["on"][i], ratio(ext["off"][i], ext["on"][i])))
    L.append("| extra linear map PTE entries from the workloads | %d | %d | |" % (
        ext["off"][1] - ext["off"][0], ext["on"][1] - ext["on"][0]))
    for wl in ("module", "bpf", "kprobe"):
        L.append("| kernel leaves split by the %s workload (linear map and vmalloc) "
                 "| %d | %d | |" % (
            wl, off["linear_map"]["splits"].get(wl, 0), on["linear_map"]["splits"].get(wl, 0)))
    for lvl in ("PMD", "PTE"):
        b = off["page_table_entries_after"]["modules"].get(lvl, 0)
        p = on["page_table_entries_after"]["modules"].get(lvl, 0)
        L.append("| module space %s entries, two modules loaded | %d | %d | %s |" % (
            lvl, b, p, ratio(b, p)))
    for mod in sorted(on["execmem"]["module_text_level"]):
        L.append("| entry mapping %s's text | %s | %s | |" % (
            mod, off["execmem"]["module_text_level"].get(mod, "-"),
            on["execmem"]["module_text_level"][mod]))
    cache = on["execmem"]["cache"]
    for prefix, what in (("", "ROX cache (text, BPF, kprobes)"),
                         ("ro_", "read-only cache (module rodata)"),
                         ("rw_", "writable cache (module data)")):
        if prefix + "held" in cache:
            L.append("| %s: blocks / bytes held / bytes handed out / free | | "
                     "%d / %d / %d / %d | |" % (
                         what, cache.get(prefix + "blocks", 0), cache.get(prefix + "held", 0),
                         cache.get(prefix + "allocated", 0), cache.get(prefix + "free", 0)))
    L += ["", "| workload | off | spread | on | spread | on/off |", "|---|---|---|---|---|---|"]
    for wl in ("module", "bpf", "kprobe", "ftrace"):
        b, p = off["workloads"][wl], on["workloads"][wl]
        L.append("| %s | %.0f | %s | %.0f | %s | %s |" % (
            wl, b["insns_per_op"], spread(b["insns_per_op_runs"]), p["insns_per_op"],
            spread(p["insns_per_op_runs"]), ratio(b["insns_per_op"], p["insns_per_op"])))
    L += ["", "Without the caches every module section, BPF program and kprobe slot is its "
          "own vmalloc area of pages (held = handed out, rounded up to pages), and its "
          "linear alias is split around each page it makes read-only (and, for module "
          "data, each page vfree() resets)."]
    return L


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nodes", type=int, default=4)
    p.add_argument("--cpus-per-node", type=int, default=2)
    p.add_argument("--mem", default="1024")
    p.add_argument("--iter", type=int, default=5, help="workload scale")
    p.add_argument("--repeat", type=int, default=3, help="boots for the plugin-cost medians")
    p.add_argument("--runs", type=int, default=3,
                   help="deterministic benchmark boots per kernel (medians reported)")
    p.add_argument("--timeout", type=int, default=900)
    p.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    p.add_argument("--no-build", action="store_true")
    args = p.parse_args()
    cmdline = "scripts/bench.py " + " ".join(sys.argv[1:])
    if not args.no_build:
        build()
    os.makedirs(args.out, exist_ok=True)
    results = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
               "versions": versions(),
               "topology": {"nodes": args.nodes, "cpus_per_node": args.cpus_per_node,
                            "mem_mib": args.mem}}
    for name, kdir, kcmd in KERNELS:
        print("bench: measuring the %s kernel (%s)" % (name, kcmd or "no option"), flush=True)
        results[name] = measure(name, kdir, kcmd, args, args.out,
                                cost=not name.startswith("patched-bbml2"))
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1, sort_keys=True)
    svg_plot(results, os.path.join(args.out, "remote-kernel-insns.svg"))
    report(results, args, os.path.join(args.out, "report.md"), cmdline)
    print(open(os.path.join(args.out, "report.md")).read())


if __name__ == "__main__":
    main()
