// SPDX-License-Identifier: GPL-2.0
/*
 * kr-bench: the workloads `make bench` measures, each inside a kr_numa plugin
 * window (guest/kr_mark.h) on every CPU, pinned.
 *
 *   kr-bench all ITER   every workload in turn, ITER scaling the op counts
 *   kr-bench noop       exits at once (the fork+exec workload's child)
 *
 * Workloads (window number): getpid (0), read of a small file (1), pipe
 * ping-pong with a CPU of another node (2), fork+exec+exit (3), module
 * load/unload (4), ftrace enable/disable of one function (5), mmap+touch+munmap
 * of 4MB (6, page tables populated and freed through set_pmd()), load and
 * close of a JIT-compiled BPF socket filter (7), add, enable, disable and
 * remove of a kprobe event (8).  getpid, read, pipe, fork and mmap run on all
 * CPUs at once; module, ftrace, BPF and kprobe operations are global (they
 * allocate executable memory and change its permissions), so CPUs take
 * turns.  For each CPU and workload it prints
 *	KR-BENCH <workload> window <w> cpu <c> ops <n> [FAILED]
 * which the host matches with the plugin's per-vCPU windows. After each
 * workload, outside the windows, it prints the kernel leaves split meanwhile
 * (debugfs linear_map, kernels with the block-mapped linear map):
 *	KR-SPLITS <workload> <n>
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sys/mman.h>
#include <linux/bpf.h>

#include "kr_mark.h"
#include "kr_sys.h"

#define SMALL_FILE "/tmp/kr-bench-small"
#define MODULE "/modules/kr_bench_mod.ko"
#define TRACING "/sys/kernel/tracing"

static int ncpu;

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/*
 * Windows are numbered by literal HINT immediates, so each workload opens and
 * closes its own window through this switch.
 */
static void window(int w, int open)
{
	switch (w * 2 + !open) {
	case 0: KR_WINDOW_OPEN(0); break;
	case 1: KR_WINDOW_CLOSE(0); break;
	case 2: KR_WINDOW_OPEN(1); break;
	case 3: KR_WINDOW_CLOSE(1); break;
	case 4: KR_WINDOW_OPEN(2); break;
	case 5: KR_WINDOW_CLOSE(2); break;
	case 6: KR_WINDOW_OPEN(3); break;
	case 7: KR_WINDOW_CLOSE(3); break;
	case 8: KR_WINDOW_OPEN(4); break;
	case 9: KR_WINDOW_CLOSE(4); break;
	case 10: KR_WINDOW_OPEN(5); break;
	case 11: KR_WINDOW_CLOSE(5); break;
	case 12: KR_WINDOW_OPEN(6); break;
	case 13: KR_WINDOW_CLOSE(6); break;
	case 14: KR_WINDOW_OPEN(7); break;
	case 15: KR_WINDOW_CLOSE(7); break;
	case 16: KR_WINDOW_OPEN(8); break;
	case 17: KR_WINDOW_CLOSE(8); break;
	}
}

static int op_getpid(int cpu, int n)
{
	(void)cpu;
	for (int i = 0; i < n; i++)
		syscall(SYS_getpid);
	return 0;
}

static int op_read(int cpu, int n)
{
	char buf[64];
	int fd = open(SMALL_FILE, O_RDONLY);

	(void)cpu;
	if (fd < 0)
		return -1;
	for (int i = 0; i < n; i++)
		if (pread(fd, buf, sizeof(buf), 0) <= 0)
			return -1;
	close(fd);
	return 0;
}

static int op_fork_exec(int cpu, int n)
{
	(void)cpu;
	for (int i = 0; i < n; i++) {
		int status;
		pid_t pid = fork();

		if (pid == 0) {
			execl("/tests/kr-bench", "kr-bench", "noop", (char *)NULL);
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, &status, 0) != pid || status)
			return -1;
	}
	return 0;
}

/*
 * Map, touch and unmap 4MB: each 2MB gets a page table, populated and freed
 * through set_pmd(), which replication's mirroring hook looks at.
 */
static int op_mmap(int cpu, int n)
{
	(void)cpu;
	for (int i = 0; i < n; i++) {
		char *p = mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			return -1;
		p[0] = 1;
		p[2 << 20] = 1;
		if (munmap(p, 4 << 20))
			return -1;
	}
	return 0;
}

static int op_module(int cpu, int n)
{
	int fd = open(MODULE, O_RDONLY);

	(void)cpu;
	if (fd < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		if (syscall(SYS_finit_module, fd, "", 0) ||
		    syscall(SYS_delete_module, "kr_bench_mod", O_NONBLOCK))
			return -1;
	}
	close(fd);
	return 0;
}


static int op_ftrace(int cpu, int n)
{
	(void)cpu;
	for (int i = 0; i < n; i++)
		if (kr_write(TRACING "/current_tracer", "function", O_TRUNC) ||
		    kr_write(TRACING "/current_tracer", "nop", O_TRUNC))
			return -1;
	return 0;
}

/*
 * Ping-pong in a ring: CPU c pings the CPU with the same index on the next
 * node (fds[c][0]) and waits for its pong (fds[c][1]); meanwhile it answers
 * the pings of the CPU on the previous node. Writes never block, so the ring
 * cannot deadlock.
 */
static int run_pipe(int w, int n, int per_node)
{
	int (*fds)[2][2] = calloc(ncpu, sizeof(*fds));

	if (!fds)
		return -1;
	for (int c = 0; c < ncpu; c++)
		if (pipe(fds[c][0]) || pipe(fds[c][1]))
			return -1;
	for (int c = 0; c < ncpu; c++) {
		if (fork() == 0) {
			int from = (c - per_node + ncpu) % ncpu;
			int err = 0;
			char b = 0;

			pin(c);
			window(w, 1);
			for (int i = 0; i < n && !err; i++) {
				if (write(fds[c][0][1], &b, 1) != 1 ||
				    read(fds[from][0][0], &b, 1) != 1 ||
				    write(fds[from][1][1], &b, 1) != 1 ||
				    read(fds[c][1][0], &b, 1) != 1)
					err = -1;
			}
			window(w, 0);
			printf("KR-BENCH pipe window %d cpu %d ops %d%s\n", w, c, n,
			       err ? " FAILED" : "");
			fflush(stdout);
			_exit(err ? 1 : 0);
		}
	}
	for (int c = 0; c < ncpu; c++)
		wait(NULL);
	free(fds);
	return 0;
}

/*
 * Load a two-instruction program (r0 = 0; exit), JIT-compiled into the BPF
 * program pack, then close it.  A sleepable syscall program: the test config
 * has no networking or perf events, which the other program types need.
 */
static int op_bpf(int cpu, int n)
{
	struct bpf_insn prog[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;

	(void)cpu;
	for (int i = 0; i < n; i++) {
		int fd;

		memset(&attr, 0, sizeof(attr));
		attr.prog_type = BPF_PROG_TYPE_SYSCALL;
		attr.prog_flags = BPF_F_SLEEPABLE;
		attr.insns = (unsigned long)prog;
		attr.insn_cnt = 2;
		attr.license = (unsigned long)"GPL";
		fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
		if (fd < 0) {
			static char log[4096];

			perror("kr-bench: BPF_PROG_LOAD");
			attr.log_level = 1;
			attr.log_buf = (unsigned long)log;
			attr.log_size = sizeof(log);
			syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
			fprintf(stderr, "kr-bench: verifier: %s\n", log);
			return -1;
		}
		close(fd);
	}
	return 0;
}

/* Add, enable, disable and remove a kprobe event on getppid. */
static int op_kprobe(int cpu, int n)
{
	(void)cpu;
	for (int i = 0; i < n; i++) {
		if (kr_write(TRACING "/kprobe_events", "p:krbench __arm64_sys_getppid", O_APPEND) ||
		    kr_write(TRACING "/events/kprobes/krbench/enable", "1", 0) ||
		    kr_write(TRACING "/events/kprobes/krbench/enable", "0", 0) ||
		    kr_write(TRACING "/kprobe_events", "-:krbench", O_APPEND))
			return -1;
	}
	return 0;
}

static void report_splits(const char *name, long before)
{
	if (before >= 0)
		printf("KR-SPLITS %s %ld\n", name, kernel_splits() - before);
	fflush(stdout);
}

/* Run op on every CPU at once (together) or one CPU after the other. */
static void run(const char *name, int w, int (*op)(int, int), int n, int together)
{
	for (int c = 0; c < ncpu; c++) {
		pid_t pid = fork();

		if (pid == 0) {
			int ret;

			pin(c);
			window(w, 1);
			ret = op(c, n);
			window(w, 0);
			printf("KR-BENCH %s window %d cpu %d ops %d%s\n", name, w, c, n,
			       ret ? " FAILED" : "");
			fflush(stdout);
			_exit(ret ? 1 : 0);
		}
		if (!together)
			waitpid(pid, NULL, 0);
	}
	while (wait(NULL) > 0)
		;
}

int main(int argc, char **argv)
{
	int iter, per_node = 1, fd;
	long splits;

	if (argc > 1 && !strcmp(argv[1], "noop"))
		return 0;
	if (argc < 3 || strcmp(argv[1], "all") || (iter = atoi(argv[2])) < 1) {
		fprintf(stderr, "usage: kr-bench all ITER | kr-bench noop\n");
		return 2;
	}
	ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	while (per_node < ncpu && kr_cpu_node(per_node) == kr_cpu_node(0))
		per_node++;
	fd = open(SMALL_FILE, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "kreplica small file for the read workload\n", 42) != 42)
		return 1;
	close(fd);
	kr_write(TRACING "/set_ftrace_filter", "__arm64_sys_getppid", O_TRUNC);

	splits = kernel_splits();
	run("getpid", 0, op_getpid, 200 * iter, 1);
	report_splits("getpid", splits);
	splits = kernel_splits();
	run("read", 1, op_read, 100 * iter, 1);
	report_splits("read", splits);
	splits = kernel_splits();
	run_pipe(2, 50 * iter, per_node);
	report_splits("pipe", splits);
	splits = kernel_splits();
	run("fork_exec", 3, op_fork_exec, 2 * iter, 1);
	report_splits("fork_exec", splits);
	splits = kernel_splits();
	run("mmap", 6, op_mmap, 10 * iter, 1);
	report_splits("mmap", splits);
	splits = kernel_splits();
	run("module", 4, op_module, iter, 0);
	report_splits("module", splits);
	splits = kernel_splits();
	run("ftrace", 5, op_ftrace, iter, 0);
	report_splits("ftrace", splits);
	splits = kernel_splits();
	run("bpf", 7, op_bpf, 2 * iter, 0);
	report_splits("bpf", splits);
	splits = kernel_splits();
	run("kprobe", 8, op_kprobe, iter, 0);
	report_splits("kprobe", splits);
	return 0;
}
