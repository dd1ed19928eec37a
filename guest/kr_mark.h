/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Measurement-window markers for the kr_numa TCG plugin: unallocated HINT
 * instructions, which the architecture executes as NOPs. With the plugin
 * loaded they open and close per-vCPU counting windows (see
 * tools/numa-plugin/kr_numa.c); without it they cost one instruction.
 */
#ifndef KR_MARK_H
#define KR_MARK_H

#define KR_STR(x) #x
#define KR_HINT(imm) __asm__ volatile("hint #" KR_STR(imm) ::: "memory")

#define KR_MARK_BOOT() KR_HINT(95)
/* w must be a literal 0..15 */
#define KR_WINDOW_OPEN(w) KR_HINT(96 + w)
#define KR_WINDOW_CLOSE(w) KR_HINT(112 + w)

#endif
