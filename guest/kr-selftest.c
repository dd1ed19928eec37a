// SPDX-License-Identifier: GPL-2.0
/*
 * kr-selftest: a guest program whose result the command line chooses, so the
 * harness can prove it reports a failing guest program as a failure.
 * kr.selftest=guest-fail makes the "forced" case fail; otherwise it passes.
 */
#include "kr_test.h"

int main(void)
{
	const char *mode = kr_cmdline("kr.selftest");

	kr_prog = "selftest";
	if (mode && !strcmp(mode, "guest-fail"))
		kr_fail("forced", "kr.selftest=guest-fail asks this case to fail");
	else
		kr_pass("forced", NULL);
	return kr_exit();
}
