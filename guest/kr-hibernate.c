// SPDX-License-Identifier: GPL-2.0
/*
 * kr-hibernate: a hibernation round trip (init runs it first with
 * kr.hibernate=1; the harness boots twice with resume=/dev/vda).
 *
 * First boot: makes /dev/vda a swap area, swaps on it and writes "disk" to
 * /sys/power/state. The kernel writes its image, node copies and node page
 * tables included, and powers the VM off: the write never returns.
 * Second boot: the kernel finds the image and restores it; in the restored
 * system the write returns 0 and this program reports
 *   resumed   the write to /sys/power/state returned success
 *   memory    a pattern written before hibernating reads back intact
 * after which init runs the KUnit suite again and the replication checks
 * (status, verify, hotplug, patching) in the restored system.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/swap.h>
#include <unistd.h>
#include "kr_test.h"

#define DISK "/dev/vda"
#define PATTERN_WORDS (1 << 20)

/* The swap header mkswap(8) writes: version 1, no bad pages. */
static int make_swap(int fd, long page)
{
	uint64_t bytes;
	char *hdr;
	uint32_t *info;
	int ok;

	if (ioctl(fd, BLKGETSIZE64, &bytes) || bytes < 16 * (uint64_t)page)
		return -1;
	hdr = calloc(1, page);
	if (!hdr)
		return -1;
	info = (uint32_t *)(hdr + 1024);
	info[0] = 1;				/* version */
	info[1] = bytes / page - 1;		/* last_page */
	info[2] = 0;				/* nr_badpages */
	memcpy(hdr + page - 10, "SWAPSPACE2", 10);
	ok = pwrite(fd, hdr, page, 0) == page && !fsync(fd);
	free(hdr);
	return ok ? 0 : -1;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	int ret = -1;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) == (ssize_t)strlen(s))
		ret = 0;
	else
		ret = -errno;
	close(fd);
	return ret;
}

int main(void)
{
	long page = sysconf(_SC_PAGESIZE);
	static uint64_t pattern[PATTERN_WORDS];
	uint64_t i, bad = 0;
	int fd, ret;

	kr_prog = "hibernate";
	fd = open(DISK, O_RDWR);
	if (fd < 0 || make_swap(fd, page)) {
		kr_fail("swap", "cannot make %s a swap area: %s", DISK, strerror(errno));
		return kr_exit();
	}
	close(fd);
	if (swapon(DISK, 0)) {
		kr_fail("swap", "swapon %s: %s", DISK, strerror(errno));
		return kr_exit();
	}
	for (i = 0; i < PATTERN_WORDS; i++)
		pattern[i] = i * 0x9e3779b97f4a7c15ull;
	/* The default hibernation mode powers off once the image is written. */
	printf("kr-hibernate: hibernating to %s\n", DISK);
	fflush(stdout);
	sync();
	ret = write_file("/sys/power/state", "disk");
	kr_expect("resumed", !ret, "echo disk >/sys/power/state: %s", strerror(-ret));
	if (ret)
		return kr_exit();
	for (i = 0; i < PATTERN_WORDS; i++)
		bad += pattern[i] != i * 0x9e3779b97f4a7c15ull;
	kr_expect("memory", !bad, "%llu of %d words changed over hibernation",
		  (unsigned long long)bad, PATTERN_WORDS);
	if (swapoff(DISK))
		kr_fail("swapoff", "swapoff %s: %s", DISK, strerror(errno));
	return kr_exit();
}
