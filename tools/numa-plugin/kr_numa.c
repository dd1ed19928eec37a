// SPDX-License-Identifier: GPL-2.0
/*
 * kr_numa: a QEMU TCG plugin that attributes every executed guest instruction
 * and every guest data read to the NUMA node of the memory it came from, per
 * vCPU, split by what was running (user, kernel image text, other kernel
 * text) and what was read (user, image text, image rodata, other image data,
 * other kernel memory).
 *
 * Both are attributed by host address: each node's RAM is its own
 * memory-backend-file (<memdir>/nodeN, named in the topology file the VM
 * runner writes), so the host address of a translated instruction, or of the
 * RAM a load hit, falls in exactly one node's mapping in /proc/self/maps.
 *
 * QEMU 7.2's qemu_plugin_hwaddr_phys_addr() does not return the guest
 * physical address for RAM split into NUMA sub-regions (it adds the RAM
 * block's ram_addr offset), so the load's host address is read from QEMU
 * 7.2's struct qemu_plugin_hwaddr (declared below).  Reads whose host address
 * is in no node's mapping are counted in a separate "not node memory" slot,
 * and the known-answer test (guest/kr-numa-read.c) proves the attribution.
 *
 * Guest programs delimit measurement windows with unallocated HINT
 * instructions (architectural NOPs, so the guest behaves the same with or
 * without the plugin):
 *	hint #95	boot mark: total instructions executed so far, once
 *	hint #96+w	vCPU opens window w (0..15)
 *	hint #112+w	vCPU closes window w: counts since the open are added
 *
 * Arguments: topo=FILE (required), out=FILE (JSON, required), map=System.map
 * (kernel image ranges), kaslr=HEX (offset added to the map), reads=on|off.
 *
 * QEMU 7.2 ships no qemu-plugin.h, so the few API functions used are
 * declared below, as QEMU 7.2 (plugin API version 1) defines them.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- QEMU plugin API, version 1 (QEMU 7.2) ---- */
#define QEMU_PLUGIN_EXPORT __attribute__((visibility("default")))
typedef uint64_t qemu_plugin_id_t;
typedef uint32_t qemu_plugin_meminfo_t;
typedef struct {
	const char *target_name;
	struct { int min, cur; } version;
	bool system_emulation;
	union { struct { int smp_vcpus, max_vcpus; } system; };
} qemu_info_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
struct qemu_plugin_hwaddr;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };
enum qemu_plugin_mem_rw { QEMU_PLUGIN_MEM_R = 1, QEMU_PLUGIN_MEM_W, QEMU_PLUGIN_MEM_RW };
typedef void (*tb_trans_cb_t)(qemu_plugin_id_t, struct qemu_plugin_tb *);
typedef void (*vcpu_udata_cb_t)(unsigned int, void *);
typedef void (*vcpu_mem_cb_t)(unsigned int, qemu_plugin_meminfo_t, uint64_t, void *);
typedef void (*udata_cb_t)(qemu_plugin_id_t, void *);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t, tb_trans_cb_t);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *, vcpu_udata_cb_t,
					  enum qemu_plugin_cb_flags, void *);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *, vcpu_udata_cb_t,
					    enum qemu_plugin_cb_flags, void *);
void qemu_plugin_register_vcpu_mem_cb(struct qemu_plugin_insn *, vcpu_mem_cb_t,
				      enum qemu_plugin_cb_flags, enum qemu_plugin_mem_rw,
				      void *);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t, udata_cb_t, void *);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *, size_t);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *);
void *qemu_plugin_insn_haddr(const struct qemu_plugin_insn *);
struct qemu_plugin_hwaddr *qemu_plugin_get_hwaddr(qemu_plugin_meminfo_t, uint64_t);
bool qemu_plugin_mem_is_store(qemu_plugin_meminfo_t);
void qemu_plugin_outs(const char *);
QEMU_PLUGIN_EXPORT int qemu_plugin_version = 1;

/* QEMU 7.2 include/qemu/plugin-memory.h: what a RAM access resolved to. */
struct qemu72_hwaddr {
	bool is_io;
	bool is_store;
	union {
		struct { void *section; uint64_t offset; } io;
		struct { void *hostaddr; } ram;
	} v;
};

/* ---- attribution ---- */
#define MAX_NODES 16
#define MAX_VCPUS 64
#define NODE_SLOTS (MAX_NODES + 1)	/* last slot: not node memory */
#define NO_NODE MAX_NODES
#define WINDOWS 16
#define HINT(imm) (0xd503201fU | ((uint32_t)(imm) << 5))
#define MARK_BOOT 95
#define MARK_OPEN 96
#define MARK_CLOSE 112

enum { I_USER, I_KTEXT, I_KOTHER, I_CLASSES };
static const char *const insn_class[] = { "user", "kernel_text", "kernel_other_text" };
enum { R_USER, R_KTEXT, R_KRODATA, R_KDATA, R_KOTHER, R_CLASSES };
static const char *const read_class[] = {
	"user", "kernel_text", "kernel_rodata", "kernel_data", "kernel_other"
};

struct counts {
	uint64_t insn[I_CLASSES][NODE_SLOTS];
	uint64_t read[R_CLASSES][NODE_SLOTS];
};

struct vcpu {
	struct counts now;
	struct counts open[WINDOWS];
	struct counts win[WINDOWS];
	uint64_t win_closed[WINDOWS];
	bool win_is_open[WINDOWS];
} __attribute__((aligned(64)));

struct host_range { uintptr_t start, end; int node; };
struct host_map { int n; struct host_range r[MAX_NODES * 4]; };

/* One run of consecutive instructions of a TB with the same node and class. */
struct tb_run { uint16_t count; int8_t node, cls; };
struct tb_info { uint16_t nruns; struct tb_run runs[]; };

static struct vcpu vcpus[MAX_VCPUS];
static int nnodes, vcpu_node[MAX_VCPUS], nvcpus;
static char node_path[MAX_NODES][512];
static struct host_map *host_map;	/* published whole; old copies leak */
static int map_reloads;
static pthread_mutex_t map_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t img_text[2], img_rodata[2], img_data[2];
static bool track_reads = true, boot_marked;
static uint64_t boot_insns;
static char out_path[512];

static int parse_topology(const char *file)
{
	char line[1024], path[512];
	FILE *f = fopen(file, "r");
	int node, first, last;
	long mib;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "node %d cpus %d-%d mem_mib %ld path %511s",
			   &node, &first, &last, &mib, path) != 5 ||
		    node != nnodes || node >= MAX_NODES || last >= MAX_VCPUS)
			continue;
		snprintf(node_path[node], sizeof(node_path[node]), "%s", path);
		for (int c = first; c <= last; c++)
			vcpu_node[c] = node;
		if (last + 1 > nvcpus)
			nvcpus = last + 1;
		nnodes++;
	}
	fclose(f);
	return nnodes ? 0 : -1;
}

/* Re-read /proc/self/maps for the node memory files. Caller holds map_lock. */
static void load_host_map(void)
{
	struct host_map *m = calloc(1, sizeof(*m));
	char line[1024];
	FILE *f = fopen("/proc/self/maps", "r");

	if (!m || !f) {
		free(m);
		if (f)
			fclose(f);
		return;
	}
	while (fgets(line, sizeof(line), f) && m->n < MAX_NODES * 4) {
		unsigned long s, e;
		char *path = strchr(line, '/');

		if (!path || sscanf(line, "%lx-%lx", &s, &e) != 2)
			continue;
		path[strcspn(path, "\n")] = 0;
		for (int n = 0; n < nnodes; n++)
			if (!strcmp(path, node_path[n]))
				m->r[m->n++] = (struct host_range){ s, e, n };
	}
	fclose(f);
	__atomic_store_n(&host_map, m, __ATOMIC_RELEASE);
	map_reloads++;
}

/* Lock-free: called for every load. */
static int host_node(uintptr_t h)
{
	const struct host_map *m = __atomic_load_n(&host_map, __ATOMIC_ACQUIRE);

	for (int i = 0; m && i < m->n; i++)
		if (h >= m->r[i].start && h < m->r[i].end)
			return m->r[i].node;
	return NO_NODE;
}

/* At translation: a miss reloads the maps, for node RAM mapped late. */
static int host_node_reload(uintptr_t h)
{
	int node = host_node(h);

	if (node != NO_NODE || !h)
		return node;
	pthread_mutex_lock(&map_lock);
	node = host_node(h);
	if (node == NO_NODE && map_reloads < 32) {
		load_host_map();
		node = host_node(h);
	}
	pthread_mutex_unlock(&map_lock);
	return node;
}

static bool in(const uint64_t r[2], uint64_t va)
{
	return va >= r[0] && va < r[1];
}

static bool is_kernel(uint64_t va)
{
	return va >> 63;
}

static int classify_insn(uint64_t va)
{
	if (!is_kernel(va))
		return I_USER;
	return in(img_text, va) ? I_KTEXT : I_KOTHER;
}

static int classify_read(uint64_t va)
{
	if (!is_kernel(va))
		return R_USER;
	if (in(img_text, va))
		return R_KTEXT;
	if (in(img_rodata, va))
		return R_KRODATA;
	if (in(img_data, va))
		return R_KDATA;
	return R_KOTHER;
}

static void vcpu_tb_exec(unsigned int cpu, void *udata)
{
	const struct tb_info *tb = udata;
	struct counts *c;

	if (cpu >= MAX_VCPUS)
		return;
	c = &vcpus[cpu].now;
	for (int i = 0; i < tb->nruns; i++)
		c->insn[tb->runs[i].cls][tb->runs[i].node] += tb->runs[i].count;
}

static void vcpu_read(unsigned int cpu, qemu_plugin_meminfo_t info, uint64_t va, void *u)
{
	const struct qemu72_hwaddr *hw = (const void *)qemu_plugin_get_hwaddr(info, va);
	int node = NO_NODE;

	(void)u;
	if (cpu >= MAX_VCPUS || qemu_plugin_mem_is_store(info))
		return;
	if (hw && !hw->is_io)
		node = host_node((uintptr_t)hw->v.ram.hostaddr);
	vcpus[cpu].now.read[classify_read(va)][node]++;
}

static uint64_t total_insns(const struct counts *c)
{
	uint64_t t = 0;

	for (int k = 0; k < I_CLASSES; k++)
		for (int n = 0; n < NODE_SLOTS; n++)
			t += c->insn[k][n];
	return t;
}

static void counts_add_delta(struct counts *dst, const struct counts *now,
			     const struct counts *then)
{
	for (int k = 0; k < I_CLASSES; k++)
		for (int n = 0; n < NODE_SLOTS; n++)
			dst->insn[k][n] += now->insn[k][n] - then->insn[k][n];
	for (int k = 0; k < R_CLASSES; k++)
		for (int n = 0; n < NODE_SLOTS; n++)
			dst->read[k][n] += now->read[k][n] - then->read[k][n];
}

static void vcpu_mark(unsigned int cpu, void *udata)
{
	unsigned int imm = (uintptr_t)udata;
	struct vcpu *v;

	if (cpu >= MAX_VCPUS)
		return;
	v = &vcpus[cpu];
	if (imm == MARK_BOOT) {
		if (!__atomic_exchange_n(&boot_marked, true, __ATOMIC_SEQ_CST)) {
			uint64_t t = 0;

			for (int i = 0; i < nvcpus; i++)
				t += total_insns(&vcpus[i].now);
			boot_insns = t;
		}
	} else if (imm < MARK_CLOSE) {
		v->open[imm - MARK_OPEN] = v->now;
		v->win_is_open[imm - MARK_OPEN] = true;
	} else if (v->win_is_open[imm - MARK_CLOSE]) {
		unsigned int w = imm - MARK_CLOSE;

		counts_add_delta(&v->win[w], &v->now, &v->open[w]);
		v->win_closed[w]++;
		v->win_is_open[w] = false;
	}
}

static void vcpu_tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);
	struct tb_info *info = calloc(1, sizeof(*info) + n * sizeof(struct tb_run));

	(void)id;
	if (!info)
		return;
	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		int node = host_node_reload((uintptr_t)qemu_plugin_insn_haddr(insn));
		int cls = classify_insn(qemu_plugin_insn_vaddr(insn));
		struct tb_run *last = info->nruns ? &info->runs[info->nruns - 1] : NULL;
		uint32_t op = 0;

		if (last && last->node == node && last->cls == cls)
			last->count++;
		else
			info->runs[info->nruns++] = (struct tb_run){ 1, node, cls };
		if (qemu_plugin_insn_size(insn) == 4)
			memcpy(&op, qemu_plugin_insn_data(insn), 4);
		if (op >= HINT(MARK_BOOT) && op <= HINT(MARK_CLOSE + WINDOWS - 1) &&
		    !((op - HINT(0)) & 0x1f))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, vcpu_mark,
				QEMU_PLUGIN_CB_NO_REGS,
				(void *)(uintptr_t)((op - HINT(0)) >> 5));
		/*
		 * QEMU 7.2 calls a MEM_R callback on stores, not loads: ask for
		 * both and keep the loads.
		 */
		if (track_reads)
			qemu_plugin_register_vcpu_mem_cb(insn, vcpu_read, QEMU_PLUGIN_CB_NO_REGS,
							 QEMU_PLUGIN_MEM_RW, NULL);
	}
	qemu_plugin_register_vcpu_tb_exec_cb(tb, vcpu_tb_exec, QEMU_PLUGIN_CB_NO_REGS, info);
}

static void print_counts(FILE *f, const struct counts *c)
{
	fprintf(f, "{\"insns\": {");
	for (int k = 0; k < I_CLASSES; k++) {
		fprintf(f, "%s\"%s\": [", k ? ", " : "", insn_class[k]);
		for (int n = 0; n <= nnodes; n++)
			fprintf(f, "%s%" PRIu64, n ? ", " : "",
				c->insn[k][n == nnodes ? NO_NODE : n]);
		fprintf(f, "]");
	}
	fprintf(f, "}, \"reads\": {");
	for (int k = 0; k < R_CLASSES; k++) {
		fprintf(f, "%s\"%s\": [", k ? ", " : "", read_class[k]);
		for (int n = 0; n <= nnodes; n++)
			fprintf(f, "%s%" PRIu64, n ? ", " : "",
				c->read[k][n == nnodes ? NO_NODE : n]);
		fprintf(f, "]");
	}
	fprintf(f, "}}");
}

static void write_results(qemu_plugin_id_t id, void *u)
{
	FILE *f = fopen(out_path, "w");
	bool first = true;

	(void)id;
	(void)u;
	if (!f) {
		qemu_plugin_outs("kr_numa: cannot write results\n");
		return;
	}
	fprintf(f, "{\"nodes\": %d, \"node_slots\": \"per node, then not-node-memory\",\n",
		nnodes);
	fprintf(f, " \"reads_tracked\": %s, \"boot_insns\": ", track_reads ? "true" : "false");
	if (boot_marked)
		fprintf(f, "%" PRIu64, boot_insns);
	else
		fprintf(f, "null");
	fprintf(f, ",\n \"vcpus\": [\n");
	for (int i = 0; i < nvcpus; i++) {
		fprintf(f, "  {\"vcpu\": %d, \"node\": %d, \"total\": ", i, vcpu_node[i]);
		print_counts(f, &vcpus[i].now);
		fprintf(f, "}%s\n", i + 1 < nvcpus ? "," : "");
	}
	fprintf(f, " ],\n \"windows\": [\n");
	for (int i = 0; i < nvcpus; i++)
		for (int w = 0; w < WINDOWS; w++) {
			if (!vcpus[i].win_closed[w])
				continue;
			fprintf(f, "%s  {\"vcpu\": %d, \"node\": %d, \"window\": %d, "
				"\"closed\": %" PRIu64 ", \"counts\": ", first ? "" : ",\n",
				i, vcpu_node[i], w, vcpus[i].win_closed[w]);
			print_counts(f, &vcpus[i].win[w]);
			fprintf(f, "}");
			first = false;
		}
	fprintf(f, "\n ]}\n");
	fclose(f);
}

/* Image ranges from System.map, shifted by the KASLR offset. */
static int load_system_map(const char *file, uint64_t kaslr)
{
	static const struct { const char *sym; uint64_t *slot; } syms[] = {
		{ "_stext", &img_text[0] }, { "_etext", &img_text[1] },
		{ "__start_rodata", &img_rodata[0] }, { "__end_rodata", &img_rodata[1] },
		{ "__end_rodata", &img_data[0] }, { "_end", &img_data[1] },
	};
	char line[512], name[256], type;
	unsigned long long addr;
	int found = 0;
	FILE *f = fopen(file, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) == 3)
			for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++)
				if (!strcmp(name, syms[i].sym)) {
					*syms[i].slot = addr + kaslr;
					found++;
				}
	fclose(f);
	return found == 6 ? 0 : -1;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	const char *topo = NULL, *map = NULL;
	uint64_t kaslr = 0;

	for (int i = 0; i < argc; i++) {
		char *v = strchr(argv[i], '=');

		if (!v)
			goto bad;
		v++;
		if (!strncmp(argv[i], "topo=", 5))
			topo = v;
		else if (!strncmp(argv[i], "out=", 4))
			snprintf(out_path, sizeof(out_path), "%s", v);
		else if (!strncmp(argv[i], "map=", 4))
			map = v;
		else if (!strncmp(argv[i], "kaslr=", 6))
			kaslr = strtoull(v, NULL, 16);
		else if (!strncmp(argv[i], "reads=", 6))
			track_reads = strcmp(v, "off") != 0;
		else
			goto bad;
	}
	if (!info->system_emulation || !topo || !out_path[0]) {
		qemu_plugin_outs("kr_numa: needs system emulation, topo= and out=\n");
		return -1;
	}
	if (parse_topology(topo)) {
		qemu_plugin_outs("kr_numa: cannot read the topology file\n");
		return -1;
	}
	if (map && load_system_map(map, kaslr)) {
		qemu_plugin_outs("kr_numa: System.map lacks the image symbols\n");
		return -1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, vcpu_tb_trans);
	qemu_plugin_register_atexit_cb(id, write_results, NULL);
	return 0;
bad:
	qemu_plugin_outs("kr_numa: unknown argument; see the comment at the top\n");
	return -1;
}
