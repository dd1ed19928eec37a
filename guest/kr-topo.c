// SPDX-License-Identifier: GPL-2.0
/*
 * kr-topo: the NUMA topology the guest kernel sees is the one the VM runner
 * was asked for, given as kr.topo=<nodes>x<cpus>:<mib> (every node) or
 * kr.topo=<nodes>x<cpus>:<mib>,<mib>,... (per node; 0 = memoryless).
 * Checks node count, each node's CPUs, which nodes have memory, and the
 * distances the runner sets (10 local, +10 per hop).
 */
#include <unistd.h>
#include "kr_test.h"
#include "kr_sys.h"

static int nodes, cpn;
static long mem[KR_MAX_NODES];

static int parse_topo(const char *s)
{
	char *p;
	int i = 0;

	if (sscanf(s, "%dx%d:", &nodes, &cpn) != 2 || nodes < 1 || nodes > KR_MAX_NODES)
		return -1;
	p = strchr(s, ':') + 1;
	while (*p && i < nodes) {
		mem[i++] = strtol(p, &p, 10);
		if (*p == ',')
			p++;
	}
	if (i == 1)
		for (; i < nodes; i++)
			mem[i] = mem[0];
	return i == nodes ? 0 : -1;
}

static void check_nodes(void)
{
	char set[KR_MAX_NODES] = { 0 }, has_mem[KR_MAX_NODES] = { 0 };
	int n = kr_sysfs_list("/sys/devices/system/node/online", set, KR_MAX_NODES);
	int bad = -1;

	kr_expect("online_nodes", n == nodes, "%d nodes online, expected %d", n, nodes);
	kr_sysfs_list("/sys/devices/system/node/has_memory", has_mem, KR_MAX_NODES);
	for (int i = 0; i < nodes; i++)
		if (!!has_mem[i] != !!mem[i])
			bad = i;
	kr_expect("has_memory", bad < 0, "node %d: has_memory=%d, runner gave it %ld MiB",
		  bad, bad < 0 ? 0 : has_mem[bad], bad < 0 ? 0 : mem[bad]);
}

static void check_cpus(void)
{
	char set[KR_MAX_CPUS], path[128];
	int bad = -1, got = 0;

	for (int i = 0; i < nodes && bad < 0; i++) {
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/cpulist", i);
		got = kr_sysfs_list(path, set, KR_MAX_CPUS);
		if (got != cpn)
			bad = i;
		for (int c = 0; c < KR_MAX_CPUS && bad < 0; c++)
			if (set[c] != (c / cpn == i))
				bad = i;
	}
	kr_expect("node_cpus", bad < 0, "node %d: %d CPUs or wrong ones, expected %d-%d",
		  bad, got, bad * cpn, bad * cpn + cpn - 1);
	got = (int)sysconf(_SC_NPROCESSORS_ONLN);
	kr_expect("online_cpus", got == nodes * cpn, "%d CPUs online, expected %d",
		  got, nodes * cpn);
}

static void check_distances(void)
{
	char path[128], buf[512];
	int bad = -1;

	for (int i = 0; i < nodes && bad < 0; i++) {
		char *p = buf;

		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/distance", i);
		if (kr_read(path, buf, sizeof(buf)) <= 0) {
			bad = i;
			break;
		}
		for (int j = 0; j < nodes; j++) {
			long d = strtol(p, &p, 10);
			long want = i == j ? 10 : 10 + 10 * labs((long)i - j);

			if (d != want)
				bad = i;
		}
	}
	kr_expect("distances", bad < 0, "node %d: distance row '%s' not as the runner set",
		  bad, buf);
}

int main(void)
{
	const char *t = kr_cmdline("kr.topo");

	kr_prog = "topo";
	if (!t || parse_topo(t)) {
		kr_fail("cmdline", "kr.topo missing or malformed: %s", t ? t : "(none)");
		return kr_exit();
	}
	check_nodes();
	check_cpus();
	check_distances();
	return kr_exit();
}
