// SPDX-License-Identifier: GPL-2.0
/*
 * kr-numa-read: the known answer for the kr_numa plugin. Bound to a CPU of
 * node A (the last CPU), it reads a buffer placed on node B (window 14), then
 * one placed on node A (window 13). The host checks that the plugin puts
 * those reads on B and on A. Placement uses the raw mbind syscall and is
 * checked with get_mempolicy before anything is measured.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "kr_mark.h"
#include "kr_sys.h"
#include "kr_test.h"

#define MPOL_BIND 2
#define MPOL_MF_STRICT 1
#define MPOL_MF_MOVE 2
#define MPOL_F_NODE 1
#define MPOL_F_ADDR 2
#define BUF (2UL << 20)
#define PASSES 4

static uint64_t sink;

static uint64_t *buffer_on(int node)
{
	unsigned long mask = 1UL << node;
	uint64_t *p = mmap(NULL, BUF, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int got = -1;

	if (p == MAP_FAILED)
		return NULL;
	if (syscall(SYS_mbind, p, BUF, MPOL_BIND, &mask, 64,
		    MPOL_MF_STRICT | MPOL_MF_MOVE))
		return NULL;
	for (size_t i = 0; i < BUF / 8; i++)
		p[i] = i;
	if (syscall(SYS_get_mempolicy, &got, NULL, 0, p, MPOL_F_NODE | MPOL_F_ADDR) ||
	    got != node)
		return NULL;
	return p;
}

static uint64_t read_all(const volatile uint64_t *p)
{
	uint64_t s = 0;

	for (int pass = 0; pass < PASSES; pass++)
		for (size_t i = 0; i < BUF / 8; i++) {
			uint64_t v;

			__asm__ volatile("ldr %0, [%1, %2, lsl #3]" : "=r"(v) : "r"(p), "r"(i));
			s += v;
		}
	return s;
}

int main(void)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int cpu = (int)ncpu - 1, node_a = kr_cpu_node(cpu), node_b = -1;
	char has_mem[KR_MAX_NODES] = { 0 };
	cpu_set_t set;
	uint64_t *on_a, *on_b;

	kr_prog = "numa_read";
	kr_sysfs_list("/sys/devices/system/node/has_memory", has_mem, KR_MAX_NODES);
	for (int n = 0; n < KR_MAX_NODES && node_b < 0; n++)
		if (has_mem[n] && n != node_a)
			node_b = n;
	if (node_b < 0 || node_a < 0 || !has_mem[node_a]) {
		kr_skip("placement", "needs two nodes with memory, the last CPU's among them");
		return 0;
	}
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		kr_fail("placement", "cannot bind to cpu %d", cpu);
		return kr_exit();
	}
	on_b = buffer_on(node_b);
	on_a = buffer_on(node_a);
	if (!on_a || !on_b) {
		kr_fail("placement", "mbind/get_mempolicy did not place the buffers");
		return kr_exit();
	}
	kr_pass("placement", NULL);
	KR_WINDOW_OPEN(14);
	sink += read_all(on_b);
	KR_WINDOW_CLOSE(14);
	KR_WINDOW_OPEN(13);
	sink += read_all(on_a);
	KR_WINDOW_CLOSE(13);
	/* The host matches these with the plugin's windows 14 and 13. */
	printf("KR-NUMA-READ cpu %d node_a %d node_b %d reads %lu\n", cpu, node_a, node_b,
	       BUF / 8 * PASSES);
	return kr_exit();
}
