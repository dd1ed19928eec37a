// SPDX-License-Identifier: GPL-2.0
/*
 * kr-report: the per-node report `make run` prints. Nodes, their CPUs and
 * memory, and for every CPU the node its kernel text is served from: with
 * kernel replication, what the kernel's kernel_replication/status says;
 * without it, the node holding the kernel image ("Kernel code" in iomem).
 *
 * Then where the image landed, for the host to parse:
 *	KR-IMAGE text_va=0x... text_pa=0x... pa_offset_in_2M=0x... aligned_2M=yes|no
 *		 kaslr_offset=0x...
 * (one line). A -kernel (device tree) boot loads the image 2MB-aligned; the
 * EFI stub places it at 64K granularity under KASLR. The kernel keeps the
 * image's VA congruent to its PA modulo 2MB.
 */
#include <stdio.h>
#include <unistd.h>
#include "kr_sys.h"

#define STATUS "/sys/kernel/debug/kernel_replication/status"
#define KPTR_RESTRICT "/proc/sys/kernel/kptr_restrict"
#define SZ_2M 0x200000ULL
/* _text's link address: KIMAGE_VADDR = _PAGE_END(48) + MODULES_VSIZE (2G), 4K
 * pages and 48-bit VA, the only configuration the series supports. */
#define KIMAGE_VADDR 0xffff800080000000ULL

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

static void print_image(void)
{
	char kptr[16] = "";
	uint64_t va, pa, end;

	/* kallsyms shows zeroes, even to root, unless kptr_restrict is 0. */
	if (kr_read(KPTR_RESTRICT, kptr, sizeof(kptr)) > 0 && strcmp(kptr, "0"))
		kr_write(KPTR_RESTRICT, "0", 0);
	va = kr_ksym("_text");
	if (!va) {
		printf("KR-IMAGE unknown: no _text in /proc/kallsyms (kptr_restrict %s)\n", kptr);
		return;
	}
	if (kr_iomem("Kernel code", &pa, &end)) {
		printf("KR-IMAGE unknown: no \"Kernel code\" in /proc/iomem\n");
		return;
	}
	printf("KR-IMAGE text_va=0x%llx text_pa=0x%llx pa_offset_in_2M=0x%llx aligned_2M=%s "
	       "kaslr_offset=0x%llx\n", (unsigned long long)va, (unsigned long long)pa,
	       (unsigned long long)(pa % SZ_2M), pa % SZ_2M ? "no" : "yes",
	       (unsigned long long)(va - KIMAGE_VADDR));
}

int main(void)
{
	struct kr_range r[KR_MAX_RANGES];
	int nr = kr_node_memory(r, KR_MAX_RANGES);
	char online[64] = "?";

	kr_read("/sys/devices/system/node/online", online, sizeof(online));
	printf("==== kreplica report: nodes online %s, %ld CPUs online ====\n", online,
	       sysconf(_SC_NPROCESSORS_ONLN));
	print_nodes(r, nr);
	print_image();
	if (print_replication_status())
		print_single_copy(r, nr);
	printf("==== end of report ====\n");
	return 0;
}
