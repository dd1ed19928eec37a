// SPDX-License-Identifier: GPL-2.0
/*
 * kr-report: the per-node report `make run` prints. Nodes, their CPUs and
 * memory, and for every CPU the node its kernel text is served from: with
 * kernel replication, what the kernel's kernel_replication/status says;
 * without it, the node holding the kernel image ("Kernel code" in iomem).
 */
#include <stdio.h>
#include <unistd.h>
#include "kr_sys.h"

#define STATUS "/sys/kernel/debug/kernel_replication/status"

static void print_nodes(const struct kr_range *r, int nr)
{
	char possible[KR_MAX_NODES], mem[KR_MAX_NODES], cpus[1024], path[128];

	kr_sysfs_list("/sys/devices/system/node/possible", possible, KR_MAX_NODES);
	if (kr_sysfs_list("/sys/devices/system/node/has_memory", mem, KR_MAX_NODES) < 0)
		memset(mem, 1, sizeof(mem));
	for (int n = 0; n < KR_MAX_NODES; n++) {
		uint64_t bytes = 0;

		if (!possible[n])
			continue;
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/cpulist", n);
		if (kr_read(path, cpus, sizeof(cpus)) <= 0)
			strcpy(cpus, "none");
		for (int i = 0; i < nr; i++)
			if (r[i].node == n)
				bytes += r[i].end - r[i].start;
		printf("node %d: cpus %s, memory %llu MiB%s\n", n, cpus,
		       (unsigned long long)(bytes >> 20), mem[n] ? "" : " (memoryless)");
		for (int i = 0; i < nr; i++)
			if (r[i].node == n)
				printf("  phys %#llx-%#llx\n", (unsigned long long)r[i].start,
				       (unsigned long long)r[i].end - 1);
	}
}

static int print_replication_status(void)
{
	char line[512];
	FILE *f = fopen(STATUS, "r");

	if (!f)
		return -1;
	printf("kernel replication: %s\n", STATUS);
	while (fgets(line, sizeof(line), f))
		printf("  %s", line);
	fclose(f);
	return 0;
}

static void print_single_copy(const struct kr_range *r, int nr)
{
	uint64_t ts, te;
	int text_node;
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);

	if (kr_iomem("Kernel code", &ts, &te)) {
		printf("kernel text: not found in /proc/iomem\n");
		return;
	}
	text_node = kr_phys_node(r, nr, ts);
	printf("kernel replication: not present; one copy of the kernel text\n");
	printf("kernel text: phys %#llx-%#llx on node %d\n", (unsigned long long)ts,
	       (unsigned long long)te - 1, text_node);
	for (long c = 0; c < ncpu && c < KR_MAX_CPUS; c++) {
		int node = kr_cpu_node(c);

		printf("cpu %ld: node %d, kernel text from node %d (%s)\n", c, node,
		       text_node, node == text_node ? "local" : "remote");
	}
}

int main(void)
{
	struct kr_range r[KR_MAX_RANGES];
	int nr = kr_dt_memory(r, KR_MAX_RANGES);
	char online[64] = "?";

	kr_read("/sys/devices/system/node/online", online, sizeof(online));
	printf("==== kreplica report: nodes online %s, %ld CPUs online ====\n", online,
	       sysconf(_SC_NPROCESSORS_ONLN));
	print_nodes(r, nr);
	if (print_replication_status())
		print_single_copy(r, nr);
	printf("==== end of report ====\n");
	return 0;
}
