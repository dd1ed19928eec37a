// SPDX-License-Identifier: GPL-2.0
/*
 * The module `make bench` loads and unloads: small, with text, rodata and
 * data sections, like a typical driver would bring.
 */
#include <linux/module.h>

static const char kr_bench_name[] = "kr_bench_mod";
static int kr_bench_loads;

static int __init kr_bench_init(void)
{
	kr_bench_loads++;
	return kr_bench_name[0] == 'k' ? 0 : -EINVAL;
}

static void __exit kr_bench_exit(void)
{
}

module_init(kr_bench_init);
module_exit(kr_bench_exit);
MODULE_DESCRIPTION("kreplica benchmark module");
MODULE_LICENSE("GPL");
