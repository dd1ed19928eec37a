// SPDX-License-Identifier: GPL-2.0
/*
 * Calls an address of executable memory from a kernel thread, for kr-rox's
 * test that a jump into freed execmem traps. Writing an address to the
 * "call" parameter hands it to the thread, which calls it as int (*)(void)
 * and stores the result in "result" and the number of completed calls in
 * "calls". A trap kills the thread, which holds no lock: the oops report
 * is the expected outcome, and the writer of "call" is not involved.
 * Addresses outside module and vmalloc space are refused with -EINVAL.
 */
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/wait.h>

static unsigned long target;
static int result;
module_param(result, int, 0444);
static int calls;
module_param(calls, int, 0444);

static DECLARE_WAIT_QUEUE_HEAD(kr_rox_wq);
static bool kr_rox_pending;
static struct task_struct *kr_rox_thread;

static int kr_rox_set_call(const char *val, const struct kernel_param *kp)
{
	unsigned long addr;
	int ret = kstrtoul(val, 0, &addr);

	if (ret)
		return ret;
	if (!is_vmalloc_or_module_addr((void *)addr)) {
		pr_err("kr_rox_trap: %#lx is not in module or vmalloc space\n", addr);
		return -EINVAL;
	}
	WRITE_ONCE(target, addr);
	smp_store_release(&kr_rox_pending, true);
	wake_up(&kr_rox_wq);
	return 0;
}

static const struct kernel_param_ops kr_rox_call_ops = {
	.set = kr_rox_set_call,
};
module_param_cb(call, &kr_rox_call_ops, NULL, 0200);
MODULE_PARM_DESC(call, "address to call from the module's thread");

static int kr_rox_caller(void *unused)
{
	while (!kthread_should_stop()) {
		int (*fn)(void);

		wait_event_interruptible(kr_rox_wq, kthread_should_stop() ||
					 smp_load_acquire(&kr_rox_pending));
		if (kthread_should_stop())
			break;
		if (!xchg(&kr_rox_pending, false))
			continue;
		fn = (int (*)(void))READ_ONCE(target);
		pr_info("kr_rox_trap: calling %px\n", fn);
		WRITE_ONCE(result, fn());
		pr_info("kr_rox_trap: %px returned %d\n", fn, result);
		WRITE_ONCE(calls, calls + 1);
	}
	return 0;
}

static int __init kr_rox_trap_init(void)
{
	kr_rox_thread = kthread_run(kr_rox_caller, NULL, "kr_rox_trap");
	return PTR_ERR_OR_ZERO(kr_rox_thread);
}

static void __exit kr_rox_trap_exit(void)
{
	kthread_stop(kr_rox_thread);
}

module_init(kr_rox_trap_init);
module_exit(kr_rox_trap_exit);
MODULE_DESCRIPTION("kreplica: call an address of executable memory");
MODULE_LICENSE("GPL");
