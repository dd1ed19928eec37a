// SPDX-License-Identifier: GPL-2.0
/*
 * A KUnit suite in a module, loaded by the guest's init on every boot: proves
 * module loading works and that KTAP from a module reaches the harness. With
 * fail=1 one case fails on purpose, so the harness' own tests can show that a
 * failing KUnit case fails the run.
 */
#include <kunit/test.h>
#include <linux/module.h>

static bool fail;
module_param(fail, bool, 0444);
MODULE_PARM_DESC(fail, "make kr_harness.forced fail");

static void kr_harness_arith(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, 6 * 7, 42);
}

static void kr_harness_forced(struct kunit *test)
{
	KUNIT_EXPECT_FALSE_MSG(test, fail, "fail=1 asks this case to fail");
}

static struct kunit_case kr_harness_cases[] = {
	KUNIT_CASE(kr_harness_arith),
	KUNIT_CASE(kr_harness_forced),
	{}
};

static struct kunit_suite kr_harness_suite = {
	.name = "kr_harness",
	.test_cases = kr_harness_cases,
};
kunit_test_suite(kr_harness_suite);

MODULE_DESCRIPTION("kreplica harness self-test suite");
MODULE_LICENSE("GPL");
