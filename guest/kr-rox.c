// SPDX-License-Identifier: GPL-2.0
/*
 * kr-rox: executable memory (execmem) under load, with or without the ROX
 * cache. What the kernel should do comes from the command line:
 *   kr.rox=on|off   the cache is expected on (module text in PMD blocks,
 *                   no linear-map split for execmem) or off (module text in
 *                   pages; with a block-mapped linear map, loads split it)
 *   kr.rox_secs=N   length of the storm (default 20 s)
 *   kr.rox_trap=1   end with the trap test; it oopses the kernel on purpose
 *
 * Cases:
 *   storm            every CPU loads and unloads modules, loads BPF programs
 *                    or adds, enables and removes kprobe events, for the
 *                    storm's length; each CPU must complete some
 *   no_wx            meanwhile and after, no kernel mapping in ptdump is
 *                    writable and executable at once (what DEBUG_WX checks)
 *   linear_pages     the linear map in pages (meminfo DirectMap) before and
 *                    after module, BPF and kprobe loads: no more with the
 *                    caches, more without them
 *   module_text_pmd  the level of the ptdump entry that maps a module's text
 *   call_live, trap  a module function is called through kr_rox_trap.ko,
 *                    then unloaded and called again: the second call must
 *                    hit BRK (Oops - BRK), not run the old code
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/klog.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>

#include "kr_sys.h"
#include "kr_test.h"

#define MODDIR "/modules/"
#define PTDUMP "/sys/kernel/debug/kernel_page_tables"
#define TRACING "/sys/kernel/tracing"
#define VICTIM_ADDR "/sys/module/kr_rox_victim/parameters/fn_addr"
#define TRAP_PARAM "/sys/module/kr_rox_trap/parameters/"

enum kind { K_MODULE, K_BPF, K_KPROBE, NR_K };
static const char *const kind_name[NR_K] = { "module", "bpf", "kprobe" };

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static int load_module(const char *name)
{
	char path[128];
	int fd, ret;

	snprintf(path, sizeof(path), MODDIR "%s.ko", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ret = syscall(SYS_finit_module, fd, "", 0);
	close(fd);
	return ret;
}

static int unload_module(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK);
}

/* Another CPU's load of the same module got in the way: not a failure. */
static int benign(int err)
{
	return err == EEXIST || err == ENOENT || err == EBUSY || err == EAGAIN;
}

/* Module workers take turns through three modules: few of them share one. */
static const char *const storm_modules[] = { "kr_bench_mod", "kr_rox_victim", "kr_rox_trap" };

static int op_module(int cpu, int idx)
{
	const char *name = storm_modules[idx % 3];

	(void)cpu;
	if (load_module(name))
		return benign(errno) ? 1 : -1;
	if (unload_module(name))
		return benign(errno) ? 1 : -1;
	return 0;
}

static int op_bpf(int cpu, int idx)
{
	struct bpf_insn prog[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;
	int fd;

	(void)cpu;
	(void)idx;
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SYSCALL;
	attr.prog_flags = BPF_F_SLEEPABLE;
	attr.insns = (unsigned long)prog;
	attr.insn_cnt = 2;
	attr.license = (unsigned long)"GPL";
	fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

/* Each CPU its own kprobe event on getppid, whose slot comes from execmem. */
static int op_kprobe(int cpu, int idx)
{
	char def[96], del[32], enable[96];

	(void)idx;
	snprintf(def, sizeof(def), "p:krrox%d __arm64_sys_getppid", cpu);
	snprintf(del, sizeof(del), "-:krrox%d", cpu);
	snprintf(enable, sizeof(enable), TRACING "/events/kprobes/krrox%d/enable", cpu);
	if (kr_write(TRACING "/kprobe_events", def, O_APPEND))
		return -1;
	if (kr_write(enable, "1", 0) || getppid() < 0 || kr_write(enable, "0", 0)) {
		kr_write(TRACING "/kprobe_events", del, O_APPEND);
		return -1;
	}
	return kr_write(TRACING "/kprobe_events", del, O_APPEND) ? -1 : 0;
}

static int (*const ops[NR_K])(int, int) = { op_module, op_bpf, op_kprobe };

/*
 * One CPU's share of the storm; exits 0 if it completed at least one op or,
 * sharing a module with another CPU, lost every race for it meanwhile.
 */
static void worker(int cpu, int idx, double end)
{
	enum kind k = cpu % NR_K;
	long done = 0, raced = 0;
	int err = 0, ret;

	pin(cpu);
	while (now() < end) {
		ret = ops[k](cpu, idx);
		if (ret < 0) {
			err = errno;
			break;
		}
		ret ? raced++ : done++;
	}
	printf("KR-ROX cpu %d %s: %ld done, %ld raced with another CPU%s%s\n",
	       cpu, kind_name[k], done, raced, err ? ", failed: " : "",
	       err ? strerror(err) : "");
	fflush(stdout);
	exit(err || !(done || raced));
}

/*
 * Kernel mappings that are writable and executable (ptdump prints "RW" and
 * "x"); the first one goes to @first. Returns their number, -1 without
 * ptdump.
 */
static int count_wx(char *first, size_t len)
{
	FILE *f = fopen(PTDUMP, "r");
	char line[512];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char copy[512], *tok, *save;
		int rw = 0, x = 0;

		snprintf(copy, sizeof(copy), "%s", line);
		for (tok = strtok_r(copy, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
			rw |= !strcmp(tok, "RW");
			x |= !strcmp(tok, "x");
		}
		if (rw && x && !n++)
			snprintf(first, len, "%s", line);
	}
	fclose(f);
	return n;
}

/* The ptdump level ("PTE", "PMD", ...) of the entry mapping @addr. */
static int ptdump_level(unsigned long long addr, char *level, size_t len)
{
	FILE *f = fopen(PTDUMP, "r");
	unsigned long long start, end;
	char line[512], size[32], lvl[8];
	int found = -1;

	if (!f)
		return -1;
	while (found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "0x%llx-0x%llx %31s %7s", &start, &end, size, lvl) == 4 &&
		    start <= addr && addr < end) {
			snprintf(level, len, "%s", lvl);
			found = 0;
		}
	}
	fclose(f);
	return found;
}

static void storm(int secs)
{
	int ncpu = sysconf(_SC_NPROCESSORS_ONLN), cpu, status, bad = 0, scans = 0, wx = 0;
	long splits = kernel_splits();
	double end = now() + secs;
	char first[512] = "";
	pid_t pid;

	printf("KR-ROX storm: %d CPUs, %d s\n", ncpu, secs);
	fflush(stdout);
	for (cpu = 0; cpu < ncpu; cpu++) {
		pid = fork();
		if (pid == 0)
			worker(cpu, cpu / NR_K, end);
		if (pid < 0)
			bad++;
	}
	/* The W+X check runs alongside, as often as the dump takes. */
	while (now() < end) {
		int n = count_wx(first, sizeof(first));

		if (n < 0)
			break;
		wx += n;
		scans++;
	}
	while ((pid = wait(&status)) > 0)
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			bad++;
	kr_expect("storm", !bad, "%d of %d CPUs failed or completed nothing (see KR-ROX lines)",
		  bad, ncpu);

	if (count_wx(first, sizeof(first)) < 0) {
		kr_skip("no_wx", "no " PTDUMP);
	} else {
		wx += count_wx(first, sizeof(first));
		scans++;
		kr_expect("no_wx", !wx, "%d writable+executable entries in %d dumps, first: %s",
			  wx, scans, first);
		printf("KR-ROX no_wx: %d dumps checked\n", scans);
	}

	if (splits >= 0)
		printf("KR-ROX storm: %ld kernel leaves split (linear map and vmalloc)\n",
		       kernel_splits() - splits);
}

/* kB of the linear map in leaves smaller than a PMD (/proc/meminfo). */
static long linear_small_kb(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long kb, total = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "DirectMap4k: %ld kB", &kb) == 1 ||
		    sscanf(line, "DirectMap16k: %ld kB", &kb) == 1 ||
		    sscanf(line, "DirectMap64k: %ld kB", &kb) == 1)
			total = (total < 0 ? 0 : total) + kb;
	}
	fclose(f);
	return total;
}

/*
 * Level-3 linear-map entries made by executable memory, on one CPU, before
 * the storm: 4 module loads and unloads (text, rodata and ro_after_init
 * from the caches), then 20 BPF programs (each a fresh program pack) and 5
 * kprobe cycles. With the caches none; without them, each splits the
 * linear map, which the BPF packs always show.
 */
static void linear_pages(const char *rox)
{
	long before = linear_small_kb(), modules, others;
	int i, err = 0;

	if (before < 0 || !rox) {
		kr_skip("linear_pages", before < 0 ? "no DirectMap lines in /proc/meminfo" :
			"no kr.rox= expectation given");
		return;
	}
	for (i = 0; i < 4 && !err; i++)
		err = op_module(0, i) != 0;
	modules = linear_small_kb() - before;
	for (i = 0; i < 20 && !err; i++)
		err = op_bpf(0, 0) || (i % 4 == 0 && op_kprobe(0, 0));
	others = linear_small_kb() - before - modules;
	printf("KR-ROX linear_pages: modules %+ld kB, BPF and kprobes %+ld kB of the linear map in pages\n",
	       modules, others);
	if (err)
		kr_fail("linear_pages", "a module, BPF or kprobe load failed: %s",
			strerror(errno));
	else if (!strcmp(rox, "on"))
		kr_expect("linear_pages", modules <= 0 && others <= 0,
			  "%+ld kB (modules), %+ld kB (BPF, kprobes) of the linear map went to pages with the cache on",
			  modules, others);
	else
		kr_expect("linear_pages", modules + others > 0,
			  "nothing went to pages without the cache: the check could not see it");
}

/* Poll a module parameter (int) until it equals @want or @secs pass. */
static int param_wait(const char *name, int want, int secs)
{
	char path[128], buf[32];
	double end = now() + secs;
	int v = -1;

	snprintf(path, sizeof(path), TRAP_PARAM "%s", name);
	do {
		if (kr_read(path, buf, sizeof(buf)) > 0)
			v = atoi(buf);
		if (v == want)
			break;
		usleep(100000);
	} while (now() < end);
	return v;
}

static unsigned long long victim_addr(void)
{
	char buf[32];

	if (kr_read(VICTIM_ADDR, buf, sizeof(buf)) <= 0)
		return 0;
	return strtoull(buf, NULL, 0);
}

static void module_text(const char *rox)
{
	unsigned long long addr;
	char level[8] = "";

	if (!rox) {
		kr_skip("module_text_pmd", "no kr.rox= expectation given");
		return;
	}
	if (load_module("kr_rox_victim") || !(addr = victim_addr())) {
		kr_fail("module_text_pmd", "cannot load kr_rox_victim: %s", strerror(errno));
		return;
	}
	if (ptdump_level(addr, level, sizeof(level))) {
		kr_skip("module_text_pmd", "no " PTDUMP);
	} else {
		printf("KR-ROX module text at %#llx mapped by a %s entry\n", addr, level);
		if (!strcmp(rox, "on"))
			kr_expect("module_text_pmd", !strcmp(level, "PMD"),
				  "module text at %#llx mapped by a %s entry with the cache on",
				  addr, level);
		else
			kr_expect("module_text_pmd", !strcmp(level, "PTE"),
				  "module text at %#llx mapped by a %s entry with the cache off",
				  addr, level);
	}
	unload_module("kr_rox_victim");
}

static int kernel_log_has(const char *what)
{
	int len = klogctl(10, NULL, 0);
	char *buf;
	int n, found;

	if (len <= 0 || !(buf = malloc(len + 1)))
		return 0;
	n = klogctl(3, buf, len);
	buf[n > 0 ? n : 0] = 0;
	found = strstr(buf, what) != NULL;
	free(buf);
	return found;
}

/*
 * Call kr_rox_victim_fn through kr_rox_trap's thread while the module is
 * loaded (42), then after it was unloaded: its text is BRK now, and the
 * thread must die in an Oops - BRK without completing the call.
 */
static void trap(void)
{
	unsigned long long addr;
	char call[32];
	int v;

	/* The harness boots with oops=panic; this oops is expected. */
	if (kr_write("/proc/sys/kernel/panic_on_oops", "0", 0)) {
		kr_fail("trap", "cannot clear panic_on_oops: %s", strerror(errno));
		return;
	}
	if (load_module("kr_rox_trap") || load_module("kr_rox_victim") ||
	    !(addr = victim_addr())) {
		kr_fail("trap", "cannot load kr_rox_trap and kr_rox_victim: %s", strerror(errno));
		return;
	}
	snprintf(call, sizeof(call), "%#llx", addr);
	if (kr_write(TRAP_PARAM "call", call, 0)) {
		kr_fail("call_live", "writing %s to call failed: %s", call, strerror(errno));
		return;
	}
	v = param_wait("calls", 1, 10);
	kr_expect("call_live", v == 1 && param_wait("result", 42, 1) == 42,
		  "the loaded module's function was not called (calls %d)", v);
	if (unload_module("kr_rox_victim")) {
		kr_fail("trap", "cannot unload kr_rox_victim: %s", strerror(errno));
		return;
	}
	printf("KR-ROX-TRAP calling freed text at %s\n", call);
	fflush(stdout);
	if (kr_write(TRAP_PARAM "call", call, 0)) {
		kr_fail("trap", "writing %s to call failed: %s", call, strerror(errno));
		return;
	}
	/* The thread either returns (calls 2) or dies in the oops. */
	v = param_wait("calls", 2, 5);
	if (v == 2)
		kr_fail("trap", "freed text at %s ran and returned", call);
	else
		kr_expect("trap", kernel_log_has("Internal error: Oops - BRK"),
			  "the call did not complete, but no Oops - BRK is in the kernel log");
}

int main(void)
{
	const char *arg;
	char rox[8] = "";
	int secs = 20;

	kr_prog = "kr-rox";
	setvbuf(stdout, NULL, _IOLBF, 0);
	arg = kr_cmdline("kr.rox");
	if (arg)
		snprintf(rox, sizeof(rox), "%s", arg);
	arg = kr_cmdline("kr.rox_secs");
	if (arg && atoi(arg) > 0)
		secs = atoi(arg);

	linear_pages(rox[0] ? rox : NULL);
	storm(secs);
	module_text(rox[0] ? rox : NULL);
	arg = kr_cmdline("kr.rox_trap");
	if (arg && !strcmp(arg, "1"))
		trap();
	return kr_exit();
}
