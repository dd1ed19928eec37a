// SPDX-License-Identifier: GPL-2.0
/*
 * The linear map's leaves as an operator sees them: the DirectMap lines of
 * /proc/meminfo must exist, must add up per kind of leaf to what ptdump
 * shows in the "Linear Mapping" section, and must show blocks or pages as
 * the boot asked (kr.linear=blocks|pages on the command line); debugfs
 * "linear_map" must agree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kr_sys.h"
#include "kr_test.h"

enum kind { PTE, CONT_PTE, PMD, CONT_PMD, PUD, NR_KINDS };
static const char *const kind_name[NR_KINDS] = {
	"pte", "cont_pte", "pmd", "cont_pmd", "pud",
};

/* Leaf size of each kind for this geometry, from the page size. */
static unsigned long long kind_size[NR_KINDS];

static void geometry(void)
{
	long page = sysconf(_SC_PAGESIZE);

	kind_size[PTE] = page;
	switch (page) {
	case 4096:
		kind_size[CONT_PTE] = 64 << 10;
		kind_size[PMD] = 2 << 20;
		kind_size[CONT_PMD] = 32 << 20;
		kind_size[PUD] = 1ULL << 30;
		break;
	case 16384:
		kind_size[CONT_PTE] = 2 << 20;
		kind_size[PMD] = 32 << 20;
		kind_size[CONT_PMD] = 1ULL << 30;
		kind_size[PUD] = 64ULL << 30;
		break;
	default:
		kind_size[CONT_PTE] = 2 << 20;
		kind_size[PMD] = 512 << 20;
		kind_size[CONT_PMD] = 16ULL << 30;
		kind_size[PUD] = 4ULL << 40;
		break;
	}
}

/* "4k", "2M", "1G": the name the kernel prints after "DirectMap". */
static void size_name(unsigned long long size, char *buf, size_t len)
{
	const char *units = "kMGT";
	int unit = 0;

	size >>= 10;
	while (size >= 1024 && unit < 3) {
		size >>= 10;
		unit++;
	}
	snprintf(buf, len, "%llu%c", size, units[unit]);
}

/* kB per kind from /proc/meminfo; -1 for a kind it does not show. */
static int read_meminfo(long long kb[NR_KINDS], int *lines)
{
	char line[256], want[32], name[16];
	FILE *f = fopen("/proc/meminfo", "r");
	int k;

	if (!f)
		return -1;
	for (k = 0; k < NR_KINDS; k++)
		kb[k] = -1;
	*lines = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "DirectMap", 9))
			continue;
		(*lines)++;
		for (k = 0; k < NR_KINDS; k++) {
			size_name(kind_size[k], name, sizeof(name));
			snprintf(want, sizeof(want), "DirectMap%s:", name);
			if (!strncmp(line, want, strlen(want)))
				kb[k] = strtoll(line + strlen(want), NULL, 10);
		}
	}
	fclose(f);
	return 0;
}

/* kB per kind of the leaves ptdump shows in the Linear Mapping section. */
static int read_ptdump(long long kb[NR_KINDS])
{
	FILE *f = fopen("/sys/kernel/debug/kernel_page_tables", "r");
	char line[512], size[32], level[8], *attrs;
	unsigned long long start, end;
	int inside = 0, k;

	if (!f)
		return -1;
	for (k = 0; k < NR_KINDS; k++)
		kb[k] = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "---[ Linear Mapping start ]---")) {
			inside = 1;
			continue;
		}
		if (strstr(line, "---[ "))
			inside = 0;
		if (!inside ||
		    sscanf(line, "0x%llx-0x%llx %31s %7s", &start, &end, size, level) != 4)
			continue;
		/* A hole has no attributes after its level. */
		attrs = strstr(line, level) + strlen(level);
		attrs += strspn(attrs, " \t");
		if (!*attrs || *attrs == '\n')
			continue;
		if (!strcmp(level, "PTE"))
			k = strstr(line, " CON ") ? CONT_PTE : PTE;
		else if (!strcmp(level, "PMD"))
			k = strstr(line, " CON ") ? CONT_PMD : PMD;
		else if (!strcmp(level, "PUD"))
			k = PUD;
		else
			continue;
		kb[k] += (end - start) >> 10;
	}
	fclose(f);
	return 0;
}

/*
 * kr.late_cpu=N: CPU N, held back by maxcpus= and lacking BBML2
 * (arm64.bbml2_noabort_absent=N), must be refused when brought up after
 * boot, since the system uses the capability.
 */
static void late_cpu(const char *cpu)
{
	char path[96], online[8] = "";
	int rc;

	if (!cpu)
		return;
	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%s/online", cpu);
	rc = kr_write(path, "1", 0);
	kr_read(path, online, sizeof(online));
	kr_expect("late_cpu", rc != 0 && online[0] == '0',
		  "cpu%s lacks BBML2 yet came online (write %s, online '%s')", cpu,
		  rc ? "failed" : "succeeded", online);
}

/*
 * kr.kfence_late=1: KFENCE was off at boot (kfence.sample_interval=0);
 * enable it, so that it allocates its pool from the running linear map,
 * and run the arm64_linear_map suite again, whose kfence_pool case checks
 * that the pool is mapped with pages.
 */
static void kfence_late(const char *on)
{
	char stats[1024] = "";

	if (!on)
		return;
	if (kr_write("/sys/module/kfence/parameters/sample_interval", "100", 0)) {
		kr_fail("kfence_late", "cannot enable KFENCE (sample_interval)");
		return;
	}
	kr_read("/sys/kernel/debug/kfence/stats", stats, sizeof(stats));
	if (!strstr(stats, "enabled: 1")) {
		kr_fail("kfence_late", "KFENCE not enabled after setting sample_interval: %s",
			stats);
		return;
	}
	if (kr_write("/sys/kernel/debug/kunit/arm64_linear_map/run", "1", 0)) {
		kr_fail("kfence_late", "cannot run the arm64_linear_map suite again");
		return;
	}
	kr_pass("kfence_late", "pool allocated late; arm64_linear_map run again");
}

int main(void)
{
	long long mem[NR_KINDS], pt[NR_KINDS], total = 0, large = 0;
	char status[1024], wrong[256] = "", want[16] = "";
	const char *arg;
	int k, lines;

	kr_prog = "linear_map";
	geometry();

	if (read_meminfo(mem, &lines) || !lines) {
		kr_fail("meminfo", "no DirectMap line in /proc/meminfo");
		return kr_exit();
	}
	kr_expect("meminfo", mem[PTE] >= 0 && mem[PMD] >= 0,
		  "DirectMap lines for pages and PMD blocks missing (%d lines)", lines);

	if (read_ptdump(pt)) {
		kr_skip("ptdump_agrees", "no /sys/kernel/debug/kernel_page_tables");
	} else {
		for (k = 0; k < NR_KINDS; k++) {
			if ((mem[k] < 0 ? 0 : mem[k]) != pt[k])
				snprintf(wrong + strlen(wrong), sizeof(wrong) - strlen(wrong),
					 " %s: meminfo %lld kB, ptdump %lld kB;",
					 kind_name[k], mem[k], pt[k]);
		}
		kr_expect("ptdump_agrees", !wrong[0], "%s", wrong);
	}

	for (k = 0; k < NR_KINDS; k++) {
		if (mem[k] <= 0)
			continue;
		total += mem[k];
		if (k != PTE)
			large += mem[k];
	}
	printf("KR-LINEAR-MAP total %lld kB, in leaves larger than a page %lld kB\n",
	       total, large);

	late_cpu(kr_cmdline("kr.late_cpu"));
	kfence_late(kr_cmdline("kr.kfence_late"));
	/* kr_cmdline() returns a static buffer: read kr.linear= last. */
	arg = kr_cmdline("kr.linear");
	if (arg)
		snprintf(want, sizeof(want), "%s", arg);

	if (kr_read("/sys/kernel/debug/linear_map", status, sizeof(status)) < 0) {
		kr_skip("mode", "no /sys/kernel/debug/linear_map");
		return kr_exit();
	}
	printf("%s\n", status);
	if (!want[0]) {
		kr_skip("mode", "kr.linear= not on the command line");
	} else if (!strcmp(want, "blocks")) {
		kr_expect("mode", strstr(status, "linear map: blocks") && large * 10 >= total * 9,
			  "asked for blocks: %lld of %lld kB in leaves larger than a page",
			  large, total);
	} else {
		kr_expect("mode", strstr(status, "linear map: pages") && large * 100 <= total,
			  "asked for pages: %lld of %lld kB in leaves larger than a page",
			  large, total);
	}
	return kr_exit();
}
