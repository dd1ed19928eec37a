#!/usr/bin/env python3
"""Judge a boot from its serial console log.

A boot fails on: a kernel panic, oops, BUG, WARNING, KASAN/KFENCE/UBSAN report,
lockdep splat, hung task or soft lockup, a VM timeout, or when init's success
marker (KR-DONE) is missing.  Besides, it collects test cases:

  - KTAP from KUnit (built-in suites and modules): every leaf case counts once,
    named suite.case (parameterised cases suite.case.param); a suite run again
    after boot (debugfs) replaces its earlier results;
  - guest programs: lines 'KR-CASE <name> PASS|FAIL|SKIP [reason]'.

usage: console_check.py LOG [--json]   (exit 0 if the boot passed)
"""
import json
import re
import sys

DONE_MARKER = "KR-DONE"

# (label, regex); searched in every line with the printk timestamp removed.
FAILURE_PATTERNS = [
    # Specific reports first: a KASAN report is also a "BUG:" line, a lockdep
    # splat also a "WARNING:" line; the first match names the kind.
    ("panic", re.compile(r"Kernel panic - not syncing")),
    ("oops", re.compile(r"\bOops\b|Internal error:")),
    ("kasan", re.compile(r"BUG: KASAN|KASAN: ")),
    ("kfence", re.compile(r"BUG: KFENCE")),
    ("ubsan", re.compile(r"UBSAN: ")),
    ("lockdep", re.compile(r"WARNING: (?:possible (?:circular|recursive|irq)|"
                           r"inconsistent lock|suspicious RCU|held lock freed|"
                           r"lock held when returning|bad unlock balance)|"
                           r"INFO: possible (?:circular|recursive)|"
                           r"possible deadlock|DEBUG_LOCKS_WARN_ON")),
    ("hung", re.compile(r"INFO: task .* blocked for more than|"
                        r"soft lockup - CPU|rcu_.*detected stalls|hard LOCKUP")),
    ("wx", re.compile(r"Found insecure W\+X mapping|Checked W\+X mappings[^:]*: FAILED")),
    ("bug", re.compile(r"\bBUG:|kernel BUG at")),
    ("warning", re.compile(r"WARNING: (?:CPU:|at )")),
    ("timeout", re.compile(r"^KR-VM: TIMEOUT")),
]

TIMESTAMP = re.compile(r"^\[\s*\d+\.\d+\]\s?")
KTAP_RESULT = re.compile(r"^(not ok|ok) (\d+)(?: (?:- )?([^#]*?))?\s*(?:#\s*(\S+)\s*(.*))?$")
KTAP_SUBTEST = re.compile(r"^# Subtest: (.*)$")
GUEST_CASE = re.compile(r"KR-CASE (\S+) (PASS|FAIL|SKIP)\b ?(.*)$")


class Case:
    def __init__(self, name, status, reason="", source=""):
        self.name, self.status, self.reason, self.source = name, status, reason, source

    def as_dict(self):
        return {"name": self.name, "status": self.status,
                "reason": self.reason, "source": self.source}


def strip_line(raw):
    return TIMESTAMP.sub("", raw.rstrip("\r\n"))


def parse_ktap(lines):
    """Leaf results of every KTAP document in lines (stripped of timestamps).

    KTAP nests by four spaces of indentation.  '# Subtest: X' at depth d names
    the test whose result line comes later at depth d-1; that result is a
    parent (not counted) when results were seen at depth d since it opened.
    Every other result line is a leaf and counts once.
    """
    cases = []
    names = {}      # depth -> name given by '# Subtest:' at that depth
    children = {}   # depth -> results were seen at depth+1 since the last one
    for line in lines:
        stripped = line.lstrip(" ")
        depth = (len(line) - len(stripped)) // 4
        m = KTAP_SUBTEST.match(stripped)
        if m:
            names[depth] = m.group(1).strip()
            children[depth - 1] = False
            continue
        m = KTAP_RESULT.match(stripped)
        if not m:
            continue
        ok, _, desc, directive, reason = m.groups()
        if depth > 0:
            children[depth - 1] = True
        if children.get(depth):
            children[depth] = False
            names.pop(depth + 1, None)
            continue
        path = [names[d] for d in range(1, depth + 1) if d in names]
        name = ".".join(path + [(desc or "").strip()])
        if (directive or "").upper() == "SKIP":
            status = "SKIP"
        else:
            status = "PASS" if ok == "ok" else "FAIL"
        cases.append(Case(name, status, (reason or "").strip(), "kunit"))
    return cases


def check_lines(raw_lines):
    lines = [strip_line(r) for r in raw_lines]
    failures = []
    for i, line in enumerate(lines):
        for label, rx in FAILURE_PATTERNS:
            if rx.search(line):
                failures.append({"kind": label, "line": i + 1, "text": line.strip()})
                break
    # A case reported again (a suite rerun through debugfs) keeps its last result.
    cases = list({c.name: c for c in parse_ktap(lines)}.values())
    for line in lines:
        m = GUEST_CASE.search(line)
        if m:
            cases.append(Case(m.group(1), m.group(2), m.group(3).strip(), "guest"))
    done = any(line.strip() == DONE_MARKER or line.endswith(DONE_MARKER) for line in lines)
    if not done:
        failures.append({"kind": "no-marker", "line": 0,
                         "text": "init never printed %s" % DONE_MARKER})
    return {"failures": failures, "cases": [c.as_dict() for c in cases],
            "passed": not failures and not any(c.status == "FAIL" for c in cases)}


def check_file(path):
    with open(path, errors="replace") as f:
        return check_lines(f.readlines())


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 2
    res = check_file(argv[0])
    if "--json" in argv:
        print(json.dumps(res, indent=1))
    else:
        for c in res["cases"]:
            print("%-4s %s %s" % (c["status"], c["name"], c["reason"]))
        for f in res["failures"]:
            print("FAILURE %s (line %d): %s" % (f["kind"], f["line"], f["text"]))
    return 0 if res["passed"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
