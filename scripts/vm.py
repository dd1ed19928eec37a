#!/usr/bin/env python3
"""Boot an arm64 kernel in QEMU on an emulated NUMA topology.

Each node's RAM is its own memory-backend-file (mem-path <dir>/nodeN), so a
TCG plugin reading /proc/self/maps can tell which node a host address belongs
to.  The topology is written to <dir>/topology for such tools:

    node <id> cpus <first>-<last> mem_mib <n> path <file or ->

The serial console is written to --log.  In --plugin, @TOPO@ is replaced by
the topology file's path.  Exit status: QEMU's own (0 when the
guest powered off), 124 when --timeout expired (the VM is killed), 2 for a bad
option (reported before QEMU starts).

--efi boots as an arm64 server or cloud VM does: UEFI firmware (AAVMF, Debian
package qemu-efi-aarch64) in the two flash banks, a per-run copy of its
variable store in <dir>/efivars.fd, and a virtio-rng device so the firmware
offers EFI_RNG_PROTOCOL.  -kernel/-initrd/-append reach the firmware through
fw_cfg; it starts the Image through its EFI stub, which randomises where the
image lands (KASLR), and QEMU builds the ACPI tables (SRAT and SLIT from
-numa) that the firmware hands to the kernel instead of a device tree.  The
kernel needs CONFIG_EFI and CONFIG_ACPI (refused otherwise), and CONFIG_PCI
for its ACPI devices, the console among them (a warning otherwise).
"""
import argparse
import gzip
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QEMU = "qemu-system-aarch64"
BASE_APPEND = "console=ttyAMA0 earlycon=pl011,0x9000000 panic=-1 oops=panic"
# --efi: AAVMF (edk2 ArmVirtQemu), Debian package qemu-efi-aarch64. QEMU virt
# has two 64 MiB flash banks; each image must be exactly that size.
EFI_PACKAGE = "qemu-efi-aarch64"
EFI_DIR = os.environ.get("KR_AAVMF_DIR", "/usr/share/AAVMF")
EFI_CODE = "AAVMF_CODE.fd"
EFI_VARS = "AAVMF_VARS.fd"
PFLASH_BYTES = 64 << 20


class BadOption(Exception):
    pass


def kconfig_value(config, sym, default=None):
    """Value of CONFIG_<sym> in a .config file, or default."""
    try:
        with open(config) as f:
            for line in f:
                if line.startswith("CONFIG_%s=" % sym):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return default


def node_memory(spec, nodes):
    """'1024' -> same for every node; '1024,1024,0' -> per node (0 = memoryless)."""
    try:
        mems = [int(x) for x in spec.split(",")]
    except ValueError:
        raise BadOption("--mem %r: expected MiB, or a comma list of MiB per node" % spec)
    if len(mems) == 1:
        mems *= nodes
    if len(mems) != nodes:
        raise BadOption("--mem lists %d values for %d nodes" % (len(mems), nodes))
    if any(m < 0 for m in mems):
        raise BadOption("--mem: negative size")
    if not any(mems):
        raise BadOption("--mem: at least one node needs memory")
    if any(0 < m < 64 for m in mems):
        raise BadOption("--mem: a node with memory needs at least 64 MiB")
    return mems


def efi_firmware():
    """(code, vars) images for --efi, or BadOption naming the package."""
    files = [os.path.join(EFI_DIR, f) for f in (EFI_CODE, EFI_VARS)]
    for f in files:
        if not os.path.isfile(f):
            raise BadOption("--efi: firmware %s missing; install the Debian package %s "
                            "(scripts/deps.sh does)" % (f, EFI_PACKAGE))
        size = os.path.getsize(f)
        if size != PFLASH_BYTES:
            raise BadOption("--efi: %s is %d bytes, QEMU virt's flash banks take %d "
                            "(package %s)" % (f, size, PFLASH_BYTES, EFI_PACKAGE))
    return files


def has_efi_stub(kernel):
    """An arm64 Image is a PE/COFF executable ("MZ" at 0, "PE" at the offset
    in 0x3c) only when built with CONFIG_EFI. None if it is no arm64 Image."""
    opener = gzip.open if kernel.endswith(".gz") else open
    try:
        with opener(kernel, "rb") as f:
            head = f.read(64)
            if len(head) < 64 or head[0x38:0x3c] != b"ARM\x64":
                return None
            if head[:2] != b"MZ":
                return False
            f.seek(struct.unpack_from("<I", head, 0x3c)[0])
            return f.read(4) == b"PE\0\0"
    except (OSError, EOFError, struct.error):
        return None


def validate_efi(args):
    files = efi_firmware()
    if args.kernel and os.path.isfile(args.kernel) and has_efi_stub(args.kernel) is False:
        raise BadOption("--efi: %s has no EFI stub (build it with CONFIG_EFI=y)" % args.kernel)
    for sym, why in (("EFI", "the firmware starts the kernel through its EFI stub"),
                     ("ACPI", "the firmware gives the kernel ACPI tables, no device tree")):
        if os.path.isfile(args.config) and kconfig_value(args.config, sym) != "y":
            raise BadOption("--efi: the kernel was built without CONFIG_%s (%s)" % (sym, why))
    if os.path.isfile(args.config) and kconfig_value(args.config, "PCI") != "y":
        # ACPICA installs its default PCI_Config region handler only with
        # CONFIG_PCI; without it loading the DSDT fails (AE_BAD_PARAMETER), so
        # no ACPI device probes, the PL011 among them: the kernel boots on
        # earlycon alone and init's output (KR-DONE) never reaches the log.
        print("vm: warning: --efi with a kernel built without CONFIG_PCI: ACPI "
              "devices (the ttyAMA0 console) will be missing", file=sys.stderr)
    return files


def validate(args):
    if args.nodes < 1:
        raise BadOption("--nodes must be at least 1 (got %d)" % args.nodes)
    if args.cpus_per_node < 1:
        raise BadOption("--cpus-per-node must be at least 1 (got %d)" % args.cpus_per_node)
    if args.timeout <= 0:
        raise BadOption("--timeout must be positive")
    mems = node_memory(args.mem, args.nodes)
    if args.cpuless_mem:
        extra = node_memory(args.cpuless_mem, len(args.cpuless_mem.split(",")))
        if not all(extra):
            raise BadOption("--cpuless-mem: a node without CPUs needs memory")
        mems += extra
    ncpus = args.nodes * args.cpus_per_node
    nr_cpus = int(kconfig_value(args.config, "NR_CPUS", "0"))
    if nr_cpus and ncpus > nr_cpus:
        raise BadOption("%d nodes x %d CPUs = %d CPUs, but the kernel has NR_CPUS=%d"
                        % (args.nodes, args.cpus_per_node, ncpus, nr_cpus))
    shift = kconfig_value(args.config, "NODES_SHIFT")
    if shift and len(mems) > (1 << int(shift)):
        raise BadOption("%d nodes, but the kernel has NODES_SHIFT=%s (max %d nodes)"
                        % (len(mems), shift, 1 << int(shift)))
    if args.nodes > 1 and kconfig_value(args.config, "NUMA") not in (None, "y"):
        raise BadOption("%d nodes, but the kernel was built without CONFIG_NUMA" % args.nodes)
    for f in (args.kernel, args.initrd):
        if f and not os.path.isfile(f):
            raise BadOption("%s: no such file" % f)
    if args.plugin and not os.path.isfile(args.plugin.split(",")[0]):
        raise BadOption("plugin %s: no such file" % args.plugin.split(",")[0])
    if args.efi:
        validate_efi(args)
    if args.disk and not os.path.isfile(args.disk):
        raise BadOption("--disk %s: no such file" % args.disk)
    if args.disk and os.path.isfile(args.config) and \
            kconfig_value(args.config, "VIRTIO_BLK") != "y":
        raise BadOption("--disk: the kernel was built without CONFIG_VIRTIO_BLK")
    return mems, ncpus


def distance(i, j):
    """Nodes on a line: 10 local, +10 per hop, so 'nearest' is well defined."""
    return 10 if i == j else 10 + 10 * abs(i - j)


def qemu_command(args, mems, ncpus, memdir):
    total = sum(mems)
    cmd = [QEMU, "-M", "virt,gic-version=3", "-cpu", args.cpu, "-smp", str(ncpus),
           "-m", "%dM" % total, "-display", "none", "-monitor", "none",
           "-serial", "file:%s" % args.log, "-no-reboot",
           "-kernel", args.kernel]
    if args.initrd:
        cmd += ["-initrd", args.initrd]
    cmd += ["-append", " ".join(x for x in (BASE_APPEND, args.append) if x)]
    if args.efi:
        # Flash bank 0: the firmware, read-only; bank 1: this run's copy of the
        # variable store (run() makes it). virtio-rng backs EFI_RNG_PROTOCOL.
        cmd += ["-drive", "if=pflash,format=raw,unit=0,readonly=on,file=%s"
                % efi_firmware()[0],
                "-drive", "if=pflash,format=raw,unit=1,file=%s"
                % os.path.join(memdir, "efivars.fd"),
                "-device", "virtio-rng-pci"]
    if args.disk:
        cmd += ["-drive", "if=none,format=raw,id=krdisk,file=%s" % args.disk,
                "-device", "virtio-blk-pci,drive=krdisk"]
    topo = []
    for n, mem in enumerate(mems):
        # --cpus-reversed: CPU 0 on the last node, away from the image.
        first = (args.nodes - 1 - n if args.cpus_reversed else n) * args.cpus_per_node
        last = first + args.cpus_per_node - 1
        numa = "node,nodeid=%d,cpus=%d-%d" % (n, first, last)
        if n >= args.nodes:     # --cpuless-mem: memory only (CXL, HBM)
            numa = "node,nodeid=%d" % n
        path = "-"
        if mem:
            path = os.path.join(memdir, "node%d" % n)
            cmd += ["-object", "memory-backend-file,id=mem%d,size=%dM,mem-path=%s,share=on"
                    % (n, mem, path)]
            numa += ",memdev=mem%d" % n
        cmd += ["-numa", numa]
        cpus = "%d-%d" % (first, last) if n < args.nodes else "none"
        topo.append("node %d cpus %s mem_mib %d path %s" % (n, cpus, mem, path))
    if len(mems) > 1:
        for i in range(len(mems)):
            for j in range(i + 1, len(mems)):
                cmd += ["-numa", "dist,src=%d,dst=%d,val=%d" % (i, j, distance(i, j))]
    if args.icount:
        # One host thread runs every vCPU in turn and guest time advances with
        # instructions executed: runs repeat exactly, so instruction counts
        # compare between kernels. Slower than the default multi-threaded TCG.
        cmd += ["-accel", "tcg,thread=single", "-icount", "shift=0,sleep=off"]
    if args.plugin:
        cmd += ["-plugin", args.plugin.replace("@TOPO@", os.path.join(memdir, "topology"))]
        if args.plugin_log:
            cmd += ["-d", "plugin", "-D", args.plugin_log]
    return cmd, topo


def run(args):
    mems, ncpus = validate(args)
    memdir = args.memdir or tempfile.mkdtemp(prefix="kreplica-vm-", dir="/dev/shm"
                                             if os.path.isdir("/dev/shm") else None)
    os.makedirs(memdir, exist_ok=True)
    cmd, topo = qemu_command(args, mems, ncpus, memdir)
    if args.efi:
        # The firmware writes its variables: each run starts from the template.
        shutil.copyfile(efi_firmware()[1], os.path.join(memdir, "efivars.fd"))
    with open(os.path.join(memdir, "topology"), "w") as f:
        f.write("\n".join(topo) + "\n")
    if args.topology_out:
        shutil.copy(os.path.join(memdir, "topology"), args.topology_out)
    if args.verbose:
        print(" ".join(cmd), file=sys.stderr)
    open(args.log, "w").close()
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        rc = proc.wait(timeout=args.timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        with open(args.log, "a") as f:
            f.write("\nKR-VM: TIMEOUT after %ds\n" % args.timeout)
        rc = 124
    finally:
        if not args.memdir and not args.keep_mem:
            shutil.rmtree(memdir, ignore_errors=True)
    if args.verbose:
        print("vm: exit %d after %.1fs" % (rc, time.monotonic() - start), file=sys.stderr)
    return rc


def parser():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kernel", default=os.path.join(ROOT, "build/Image"))
    p.add_argument("--initrd", default=os.path.join(ROOT, "build/initramfs.cpio.gz"))
    p.add_argument("--config", default=None,
                   help="kernel .config to check limits against (default: next to --kernel)")
    p.add_argument("--nodes", type=int, default=4)
    p.add_argument("--cpus-per-node", type=int, default=2)
    p.add_argument("--cpuless-mem", default=None,
                   help="MiB list: extra nodes after the --nodes ones, with memory and no "
                   "CPUs (CXL or HBM memory)")
    p.add_argument("--mem", default="1024",
                   help="MiB per node, or a comma list per node; 0 = memoryless node")
    p.add_argument("--append", default="", help="extra kernel command line")
    p.add_argument("--plugin", default=None,
                   help="TCG plugin: path.so[,arg=value...] (passed to -plugin; "
                   "@TOPO@ stands for the topology file's path)")
    p.add_argument("--plugin-log", default=None, help="file for the plugin's output")
    p.add_argument("--icount", action="store_true",
                   help="deterministic execution (single-threaded TCG, -icount)")
    p.add_argument("--efi", action="store_true",
                   help="boot through UEFI firmware (AAVMF): EFI stub, KASLR seeded by "
                   "EFI_RNG_PROTOCOL, ACPI tables (SRAT/SLIT) instead of a device tree")
    p.add_argument("--cpu", default="max,pauth-impdef=on",
                   help="QEMU CPU model (default max: every feature QEMU emulates; "
                   "cortex-a72 has no PAN, so the kernel uses SW PAN)")
    p.add_argument("--cpus-reversed", action="store_true",
                   help="number the CPUs from the last node: CPU 0, the boot CPU and the "
                   "one hibernation and kexec run on, is then on another node than the "
                   "image a -kernel boot loads at the start of RAM")
    p.add_argument("--disk", default=None,
                   help="raw image file attached as a virtio-blk disk (/dev/vda)")
    p.add_argument("--timeout", type=int, default=300, help="seconds before the VM is killed")
    p.add_argument("--log", default=os.path.join(ROOT, "build/console.log"))
    p.add_argument("--memdir", default=None, help="directory for the node memory files")
    p.add_argument("--keep-mem", action="store_true")
    p.add_argument("--topology-out", default=None, help="copy the topology file here")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    if args.config is None:
        d = os.path.dirname(os.path.abspath(args.kernel))
        args.config = os.path.join(d, "config")
    try:
        return run(args)
    except BadOption as e:
        print("vm: error: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
