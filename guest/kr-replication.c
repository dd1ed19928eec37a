// SPDX-License-Identifier: GPL-2.0
/*
 * kr-replication: kernel text replication as the running system shows it.
 *
 * Expects replication active when at least two nodes have memory, unless
 * kr.replication=off is on the command line (the harness sets it when it
 * boots with kernel_replication=off). Checks, through debugfs
 * kernel_replication/{status,verify}:
 *   state        the status says active (or not) as expected
 *   cpu_roots    every CPU runs on its node's tables (memoryless nodes: the
 *                nearest node with memory; replication off: the master's)
 *   verify       the kernel's own walk of every node's tables finds no mismatch
 *   bti_gp       with kernel BTI, every node maps the kernel's text with the
 *                Guarded Page bit, as the master does (ptdump of each node)
 *   hotplug      after offlining and onlining every CPU but 0: cpu_roots, verify
 *   patching     after kprobe and ftrace loops while every CPU makes syscalls:
 *                verify, and every CPU still runs correctly
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "kr_sys.h"
#include "kr_test.h"

#define DIR "/sys/kernel/debug/kernel_replication"
#define TRACING "/sys/kernel/tracing"

static char has_mem[KR_MAX_NODES];
/* kr.nocopy=1,2: nodes the test made fail (fault injection): no copy there. */
static char no_copy[KR_MAX_NODES];
static int expect_on, master_node;

static int has_copy(int node)
{
	return has_mem[node] && !no_copy[node];
}

static void parse_no_copy(const char *list)
{
	while (list && *list) {
		char *end;
		long n = strtol(list, &end, 10);

		if (end == list)
			break;
		if (n >= 0 && n < KR_MAX_NODES)
			no_copy[n] = 1;
		list = *end == ',' ? end + 1 : end;
	}
}



static int distance(int a, int b)
{
	char path[128], buf[512], *p = buf;
	long d = 255;

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/distance", a);
	if (kr_read(path, buf, sizeof(buf)) <= 0)
		return 255;
	for (int i = 0; i <= b; i++)
		d = strtol(p, &p, 10);
	return (int)d;
}

/* The node whose tables CPUs of @node should run on. */
static int serving(int node)
{
	int best = master_node;

	if (!expect_on || has_copy(node))
		return expect_on ? node : master_node;
	for (int n = 0; n < KR_MAX_NODES; n++)
		if (has_copy(n) && distance(node, n) < distance(node, best))
			best = n;
	return best;
}

static int check_roots(const char *c)
{
	char buf[16384], *line, *save;
	int cpus = 0, bad = 0;

	if (kr_read(DIR "/status", buf, sizeof(buf)) <= 0) {
		kr_fail(c, "cannot read " DIR "/status");
		return -1;
	}
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int cpu, node, tables;

		if (sscanf(line, "cpu %d: node %d, root %*s (node %d's tables)", &cpu, &node,
			   &tables) != 3)
			continue;
		cpus++;
		if (tables != serving(node) && !bad++)
			kr_fail(c, "cpu %d of node %d runs on node %d's tables, want node %d's",
				cpu, node, tables, serving(node));
		/* CnP shares TLB entries between CPUs: never on a node's own tables. */
		if (tables != master_node && strstr(line, ", cnp 1") && !bad++)
			kr_fail(c, "cpu %d runs on node %d's tables with CnP set", cpu, tables);
	}
	if (!bad && cpus != (int)sysconf(_SC_NPROCESSORS_ONLN)) {
		kr_fail(c, "status lists %d CPUs, %ld are online", cpus,
			sysconf(_SC_NPROCESSORS_ONLN));
		return -1;
	}
	if (!bad)
		kr_pass(c, NULL);
	return bad ? -1 : 0;
}

static void check_verify(const char *c)
{
	char buf[8192];

	if (kr_read(DIR "/verify", buf, sizeof(buf)) <= 0)
		kr_fail(c, "cannot read " DIR "/verify");
	else if (strncmp(buf, "OK", 2))
		kr_fail(c, "verify: %.300s", buf);
	else
		kr_pass(c, NULL);
}

/* Bytes of [ts, te) a ptdump maps executable, and how many of them guarded. */
struct text_gp {
	unsigned long long mapped, guarded, first_unguarded;
};

static int scan_text_gp(const char *path, uint64_t ts, uint64_t te, struct text_gp *g)
{
	char line[512];
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	memset(g, 0, sizeof(*g));
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a, b;
		int x = 0, gp = 0;

		if (sscanf(line, "0x%llx-0x%llx", &a, &b) != 2 || b <= ts || a >= te)
			continue;
		for (char *t = strtok(line, " \n"); t; t = strtok(NULL, " \n")) {
			x |= !strcmp(t, "x");	/* "NX" when privileged execute-never */
			gp |= !strcmp(t, "GP");
		}
		if (!x)
			continue;
		a = a < ts ? ts : a;
		b = b > te ? te : b;
		g->mapped += b - a;
		if (gp)
			g->guarded += b - a;
		else if (!g->first_unguarded)
			g->first_unguarded = a;
	}
	fclose(f);
	return 0;
}

/*
 * Kernel BTI (CONFIG_ARM64_BTI_KERNEL; clang only in 6.12) maps the image's
 * text with the Guarded Page bit, so an indirect branch anywhere but a
 * landing pad traps. A node's copy must keep GP on every page of it.
 */
static void check_bti_gp(void)
{
	const char *c = "bti_gp";
	struct text_gp g, m;
	uint64_t ts, te;
	char path[128];
	int nodes = 0;

	ts = kr_ksym("_stext");
	te = kr_ksym("_etext");
	if (!ts || !te) {
		kr_fail(c, "no _stext/_etext in /proc/kallsyms");
		return;
	}
	if (scan_text_gp("/sys/kernel/debug/kernel_page_tables", ts, te, &m) || !m.mapped) {
		kr_skip(c, "no kernel text in debugfs kernel_page_tables (CONFIG_PTDUMP_DEBUGFS)");
		return;
	}
	if (!m.guarded) {
		kr_skip(c, "the master maps text without GP: kernel BTI off (CONFIG_ARM64_BTI_KERNEL "
			"needs clang in 6.12: make matrix ONLY=4k-48-bti) or no BTI in the CPU");
		return;
	}
	for (int node = -1; node < KR_MAX_NODES; node++) {
		if (node < 0) {
			g = m;
			strcpy(path, "the master");
		} else {
			snprintf(path, sizeof(path), DIR "/node%d_page_tables", node);
			if (access(path, R_OK))
				continue;
			if (scan_text_gp(path, ts, te, &g)) {
				kr_fail(c, "cannot read %s", path);
				return;
			}
			if (!g.mapped)
				continue;	/* copy dropped after boot: no tables to show */
			nodes++;
		}
		/* The image's text is one segment, all of it executable and guarded. */
		if (g.guarded != te - ts) {
			kr_fail(c, "%s: %llu of %llu bytes of text executable and guarded "
				"(%llu executable), first without GP at 0x%llx", path,
				g.guarded, (unsigned long long)(te - ts), g.mapped,
				g.first_unguarded);
			return;
		}
	}
	if (expect_on && !nodes)
		kr_fail(c, "replication on, but no " DIR "/node*_page_tables");
	else
		kr_pass(c, "%llu bytes of text guarded on the master and %d nodes", m.mapped, nodes);
}

static void check_state(void)
{
	char buf[256];

	if (kr_read(DIR "/status", buf, sizeof(buf)) <= 0) {
		kr_fail("state", "no " DIR "/status");
		return;
	}
	kr_expect("state", !strncmp(buf, expect_on ? "active: yes" : "active: no",
				    expect_on ? 11 : 10),
		  "status says '%.20s', expected replication %s", buf, expect_on ? "on" : "off");
}

static void check_hotplug(void)
{
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	char path[128];
	int bad = 0;

	for (long c = 1; c < ncpu && !bad; c++) {
		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%ld/online", c);
		bad = kr_write(path, "0", O_TRUNC) || kr_write(path, "1", O_TRUNC);
		if (bad)
			kr_fail("hotplug", "cpu %ld did not go offline and online again", c);
	}
	if (bad)
		return;
	if (!check_roots("hotplug_roots"))
		check_verify("hotplug_verify");
}

/* Children pinned on every CPU make syscalls until killed. */
static pid_t *start_load(long ncpu)
{
	pid_t *pids = calloc(ncpu, sizeof(*pids));

	for (long c = 0; pids && c < ncpu; c++) {
		pids[c] = fork();
		if (pids[c] == 0) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(c, &set);
			sched_setaffinity(0, sizeof(set), &set);
			for (;;)
				if (syscall(SYS_getppid) <= 0)
					_exit(1);
		}
	}
	return pids;
}

static int stop_load(pid_t *pids, long ncpu)
{
	int bad = 0, status;

	for (long c = 0; c < ncpu; c++) {
		kill(pids[c], SIGKILL);
		if (waitpid(pids[c], &status, 0) != pids[c] || !WIFSIGNALED(status))
			bad = 1;
	}
	free(pids);
	return bad;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * The function tracer on and off at every call site, then rounds of a kprobe
 * and of the function tracer on one function while every CPU makes the
 * syscall being patched. (Under TCG, the every-site round with every CPU
 * busy takes minutes: each patch flushes the TLB of every vCPU once per node.)
 */
static void check_patching(void)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	double t = now();
	pid_t *pids;
	int bad;

	bad = kr_write(TRACING "/current_tracer", "function", O_TRUNC) ||
	      kr_write(TRACING "/current_tracer", "nop", O_TRUNC);
	printf("kr-replication: function tracer on and off at every call site: %.1fs\n",
	       now() - t);
	bad = bad || kr_write(TRACING "/set_ftrace_filter", "__arm64_sys_getppid", O_TRUNC);
	pids = start_load(ncpu);
	for (int i = 0; i < 10 && !bad; i++) {
		bad = kr_write(TRACING "/kprobe_events", "p:krtest __arm64_sys_getppid",
				 O_APPEND) ||
		      kr_write(TRACING "/events/kprobes/krtest/enable", "1", O_TRUNC) ||
		      kr_write(TRACING "/events/kprobes/krtest/enable", "0", O_TRUNC) ||
		      kr_write(TRACING "/kprobe_events", "-:krtest", O_APPEND) ||
		      kr_write(TRACING "/current_tracer", "function", O_TRUNC) ||
		      kr_write(TRACING "/current_tracer", "nop", O_TRUNC);
	}
	if (stop_load(pids, ncpu))
		kr_fail("patching_load", "a CPU's syscall loop died while the text was patched");
	else
		kr_pass("patching_load", NULL);
	kr_write(TRACING "/set_ftrace_filter", "", O_TRUNC);
	if (bad)
		kr_fail("patching", "kprobe or ftrace control failed (tracefs at " TRACING ")");
	else
		check_verify("patching_verify");
}

int main(void)
{
	const char *want = kr_cmdline("kr.replication");
	uint64_t ts, te;
	struct kr_range r[KR_MAX_RANGES];
	int nr = kr_node_memory(r, KR_MAX_RANGES), with_mem;

	kr_prog = "replication";
	with_mem = kr_sysfs_list("/sys/devices/system/node/has_memory", has_mem, KR_MAX_NODES);
	expect_on = want ? !strcmp(want, "on") : with_mem > 1;
	parse_no_copy(kr_cmdline("kr.nocopy"));	/* after want: one static buffer */
	if (kr_iomem("Kernel code", &ts, &te)) {
		kr_fail("setup", "no 'Kernel code' in /proc/iomem");
		return kr_exit();
	}
	master_node = kr_phys_node(r, nr, ts);
	if (access(DIR "/status", R_OK)) {
		kr_skip("state", "no " DIR " (kernel built without CONFIG_KERNEL_REPLICATION)");
		return 0;
	}
	check_state();
	check_roots("cpu_roots");
	check_verify("verify");
	check_bti_gp();
	check_hotplug();
	check_patching();
	return kr_exit();
}
