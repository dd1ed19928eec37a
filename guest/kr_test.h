/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Result reporting for kreplica guest test programs.
 *
 * Every case prints one line on the console that the host harness
 * (scripts/console_check.py) counts once:
 *	KR-CASE <program>.<case> PASS|FAIL|SKIP [reason]
 * A program exits non-zero if any of its cases failed.
 */
#ifndef KR_TEST_H
#define KR_TEST_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *kr_prog = "guest";
static int kr_failed;

static inline void kr_case(const char *c, const char *status, const char *fmt, va_list ap)
{
	printf("KR-CASE %s.%s %s", kr_prog, c, status);
	if (fmt && *fmt) {
		putchar(' ');
		vprintf(fmt, ap);
	}
	putchar('\n');
	fflush(stdout);
}

static inline __attribute__((format(printf, 2, 3)))
void kr_pass(const char *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kr_case(c, "PASS", fmt, ap);
	va_end(ap);
}

static inline __attribute__((format(printf, 2, 3)))
void kr_fail(const char *c, const char *fmt, ...)
{
	va_list ap;

	kr_failed = 1;
	va_start(ap, fmt);
	kr_case(c, "FAIL", fmt, ap);
	va_end(ap);
}

static inline __attribute__((format(printf, 2, 3)))
void kr_skip(const char *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kr_case(c, "SKIP", fmt, ap);
	va_end(ap);
}

/* PASS when cond holds, FAIL with the message otherwise. */
#define kr_expect(c, cond, fmt, ...)					\
	do {								\
		if (cond)						\
			kr_pass(c, NULL);				\
		else							\
			kr_fail(c, fmt, ##__VA_ARGS__);			\
	} while (0)

static inline int kr_exit(void)
{
	return kr_failed ? 1 : 0;
}

/* Value of "key=" on the kernel command line, or NULL. Static buffer. */
static inline const char *kr_cmdline(const char *key)
{
	static char buf[4096];
	static char val[512];
	size_t klen = strlen(key);
	char *p, *tok;
	FILE *f = fopen("/proc/cmdline", "r");

	if (!f)
		return NULL;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	for (tok = strtok_r(buf, " \n", &p); tok; tok = strtok_r(NULL, " \n", &p)) {
		if (!strncmp(tok, key, klen) && tok[klen] == '=') {
			snprintf(val, sizeof(val), "%s", tok + klen + 1);
			return val;
		}
	}
	return NULL;
}

#endif
