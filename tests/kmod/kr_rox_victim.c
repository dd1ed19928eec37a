// SPDX-License-Identifier: GPL-2.0
/*
 * A module whose text kr-rox calls while it is loaded and again after it
 * was unloaded: with the execmem ROX cache the freed text is BRK, so the
 * second call must trap. fn_addr tells user space where the function is.
 */
#include <linux/module.h>

static unsigned long fn_addr;
module_param(fn_addr, ulong, 0444);
MODULE_PARM_DESC(fn_addr, "address of kr_rox_victim_fn (read only)");

static noinline int kr_rox_victim_fn(void)
{
	return 42;
}

static int __init kr_rox_victim_init(void)
{
	fn_addr = (unsigned long)kr_rox_victim_fn;
	return 0;
}

static void __exit kr_rox_victim_exit(void)
{
}

module_init(kr_rox_victim_init);
module_exit(kr_rox_victim_exit);
MODULE_DESCRIPTION("kreplica: text to call before and after it is freed");
MODULE_LICENSE("GPL");
