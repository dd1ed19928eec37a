// SPDX-License-Identifier: GPL-2.0
/*
 * kr-mark: executes the kr_numa plugin's boot mark, so the plugin records how
 * many instructions all vCPUs executed before init's first command. Init runs
 * it first; it is a NOP without the plugin.
 */
#include "kr_mark.h"

int main(void)
{
	KR_MARK_BOOT();
	return 0;
}
