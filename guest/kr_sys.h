/* SPDX-License-Identifier: GPL-2.0 */
/* Reading the guest's NUMA topology from sysfs, the device tree and procfs. */
#ifndef KR_SYS_H
#define KR_SYS_H

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KR_MAX_NODES 64
#define KR_MAX_CPUS 256
#define KR_MAX_RANGES 64

struct kr_range {
	uint64_t start, end;	/* [start, end) physical */
	int node;
};

/* Whole file into buf (NUL-terminated, trailing newline dropped); -1 on error. */
static inline int kr_read(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = 0;
	while (n && buf[n - 1] == '\n')
		buf[--n] = 0;
	return (int)n;
}

/* Write @s to a sysfs/tracefs file opened with O_WRONLY | @flags; 0 on success. */
static inline int kr_write(const char *path, const char *s, int flags)
{
	int fd = open(path, O_WRONLY | flags);
	ssize_t len = (ssize_t)strlen(s), done;

	if (fd < 0)
		return -1;
	done = write(fd, s, len);
	close(fd);
	return done == len ? 0 : -1;
}

/* Parse a cpulist/nodelist ("0-3,6") into set[] (size max); returns count. */
static inline int kr_parse_list(const char *s, char *set, int max)
{
	int count = 0;

	memset(set, 0, max);
	while (*s) {
		char *end;
		long a = strtol(s, &end, 10), b = a;

		if (end == s)
			break;
		if (*end == '-')
			b = strtol(end + 1, &end, 10);
		for (; a <= b && a < max; a++, count++)
			set[a] = 1;
		s = *end == ',' ? end + 1 : end;
	}
	return count;
}

static inline int kr_sysfs_list(const char *path, char *set, int max)
{
	char buf[1024];

	if (kr_read(path, buf, sizeof(buf)) < 0)
		return -1;
	return kr_parse_list(buf, set, max);
}

/* Node of a CPU from its /sys/devices/system/cpu/cpuN/nodeM link; -1 if none. */
static inline int kr_cpu_node(int cpu)
{
	char path[128];
	struct dirent *de;
	DIR *d;
	int node = -1;

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d", cpu);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "node", 4) && de->d_name[4] >= '0' && de->d_name[4] <= '9')
			node = atoi(de->d_name + 4);
	closedir(d);
	return node;
}

static inline uint64_t kr_be64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * Physical memory ranges per node from the device tree's memory nodes
 * (QEMU virt: #address-cells = #size-cells = 2). Returns the count.
 */
static inline int kr_dt_memory(struct kr_range *r, int max)
{
	const char *base = "/sys/firmware/devicetree/base";
	struct dirent *de;
	int n = 0;
	DIR *d = opendir(base);

	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max) {
		unsigned char reg[256], nid[4];
		char path[512];
		FILE *f;
		size_t len, off;

		if (strncmp(de->d_name, "memory@", 7))
			continue;
		snprintf(path, sizeof(path), "%s/%s/reg", base, de->d_name);
		f = fopen(path, "rb");
		if (!f)
			continue;
		len = fread(reg, 1, sizeof(reg), f);
		fclose(f);
		snprintf(path, sizeof(path), "%s/%s/numa-node-id", base, de->d_name);
		f = fopen(path, "rb");
		memset(nid, 0, sizeof(nid));
		if (f) {
			if (fread(nid, 1, 4, f) != 4)
				memset(nid, 0, sizeof(nid));
			fclose(f);
		}
		for (off = 0; off + 16 <= len && n < max; off += 16, n++) {
			r[n].start = kr_be64(reg + off);
			r[n].end = r[n].start + kr_be64(reg + off + 8);
			r[n].node = nid[0] << 24 | nid[1] << 16 | nid[2] << 8 | nid[3];
		}
	}
	closedir(d);
	return n;
}

/*
 * The same from /proc/zoneinfo, for boots without memory nodes in the device
 * tree (EFI with ACPI: the stub's device tree holds only /chosen). One range
 * per populated zone of each node: [start_pfn, start_pfn + spanned).
 */
static inline int kr_zone_memory(struct kr_range *r, int max)
{
	char line[256];
	unsigned long long spanned = 0, pfn;
	int n = 0, node = -1;
	FILE *f = fopen("/proc/zoneinfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f) && n < max) {
		if (sscanf(line, "Node %d, zone", &node) == 1)
			spanned = 0;
		else if (sscanf(line, " spanned %llu", &spanned) == 1)
			;
		else if (sscanf(line, " start_pfn: %llu", &pfn) == 1 && spanned && node >= 0) {
			r[n].start = (uint64_t)pfn * (uint64_t)sysconf(_SC_PAGESIZE);
			r[n].end = r[n].start + (uint64_t)spanned * (uint64_t)sysconf(_SC_PAGESIZE);
			r[n++].node = node;
			spanned = 0;
		}
	}
	fclose(f);
	return n;
}

/* Physical memory per node: the device tree's, else the zones'. */
static inline int kr_node_memory(struct kr_range *r, int max)
{
	int n = kr_dt_memory(r, max);

	return n ? n : kr_zone_memory(r, max);
}

static inline int kr_phys_node(const struct kr_range *r, int n, uint64_t pa)
{
	for (int i = 0; i < n; i++)
		if (pa >= r[i].start && pa < r[i].end)
			return r[i].node;
	return -1;
}

/* First range named exactly name in /proc/iomem ("Kernel code"); 0 if found. */
static inline int kr_iomem(const char *name, uint64_t *start, uint64_t *end)
{
	char line[256];
	FILE *f = fopen("/proc/iomem", "r");
	int ret = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a, b;
		char *colon = strstr(line, " : ");

		if (!colon || sscanf(line, " %llx-%llx", &a, &b) != 2)
			continue;
		colon[3 + strcspn(colon + 3, "\n")] = 0;
		if (!strcmp(colon + 3, name)) {
			*start = a;
			*end = b + 1;
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

/* Address of a symbol in /proc/kallsyms; 0 if absent or hidden (kptr_restrict). */
static inline uint64_t kr_ksym(const char *name)
{
	char line[256], sym[128];
	unsigned long long addr;
	uint64_t ret = 0;
	FILE *f = fopen("/proc/kallsyms", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx %*c %127s", &addr, sym) == 2 && !strcmp(sym, name)) {
			ret = addr;
			break;
		}
	fclose(f);
	return ret;
}

/*
 * Kernel leaves split so far (debugfs linear_map: linear map and vmalloc),
 * -1 without the file.
 */
static inline long kernel_splits(void)
{
	FILE *f = fopen("/sys/kernel/debug/linear_map", "r");
	char line[128];
	long n, total = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "splits %*s %ld", &n) == 1)
			total += n;
	fclose(f);
	return total;
}

#endif
