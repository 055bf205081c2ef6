#!/usr/bin/python3
"""Bytes per module and per library of a static binary, from the linker map
(-Wl,-Map) of the same link as build/static (-ffunction-sections and
--gc-sections: only what was kept is listed, one input section per
function, so musl's float formatting, fmt_fp inside vfprintf.o, can be
told apart from the rest of printf).

  sizemap.py MAP BINARY NAME SAMPLES

Prints a table per group (our modules, inih, libcap, the parts of musl the
issue asks about, the rest of musl, start-up files), then one per object
of ours; appends every group's bytes to SAMPLES (bench/run.sh's TSV) as
item "size-NAME". Columns: text (.text/.init/.fini), rodata, eh_frame
(unwind tables, .eh_frame and its header), data (.data, .data.rel.ro,
.init_array, .got...), bss (not in the file), file = all but bss.
"""
import collections
import os
import re
import sys

KIND = {
    ".text": "text", ".init": "text", ".fini": "text",
    ".rodata": "rodata",
    ".eh_frame": "eh", ".eh_frame_hdr": "eh", ".gcc_except_table": "eh",
    ".data": "data", ".data.rel.ro": "data", ".tdata": "data", ".init_array": "data",
    ".fini_array": "data", ".preinit_array": "data", ".got": "data", ".got.plt": "data",
    ".bss": "bss", ".tbss": "bss",
}
COLS = ["text", "rodata", "eh", "data", "bss"]

# musl archive members (base names) by what they are for.
MUSL = [
    ("musl: float formatting (printf %e/%f/%g)", {"frexpl", "__fpclassifyl", "__signbitl"}),
    ("musl: float parsing (strtod, scanf %f)",
     {"floatscan", "strtod", "scalbn", "scalbnl", "copysignl", "fabsl", "fmodl", "atof"}),
    ("musl: printf (without float)",
     {"vfprintf", "vsnprintf", "snprintf", "fprintf", "printf", "dprintf", "vdprintf", "sprintf",
      "vsprintf", "asprintf", "vasprintf", "wctomb", "wcrtomb"}),
    ("musl: scanf, strtol, atoi", {"vfscanf", "sscanf", "vsscanf", "intscan", "shgetc", "strtol", "atoi",
                                   "atol", "mbrtowc", "mbsinit"}),
    ("musl: malloc", {"malloc", "free", "realloc", "calloc", "libc_calloc", "donate", "aligned_alloc",
                      "memalign", "posix_memalign", "lite_malloc", "replaced", "malloc_usable_size",
                      "madvise", "mremap", "brk", "expand_heap", "reallocarray"}),
    ("musl: getopt", {"getopt", "getopt_long", "mbtowc", "mblen"}),
    ("musl: stdio (FILE)",
     {"fopen", "fclose", "fgets", "fputs", "fwrite", "fflush", "putc", "fputc", "getc", "fgetc", "getline",
      "getdelim", "__fdopen", "__fmodeflags", "__stdio_close", "__stdio_exit", "__stdio_read",
      "__stdio_seek", "__stdio_write", "__stdout_write", "__toread", "__towrite", "__uflow",
      "__overflow", "__lockfile", "ofl", "ofl_add", "stdout", "stderr", "stdin", "fdopen", "fileno",
      "setvbuf", "perror", "puts", "fputs_unlocked", "fwrite_unlocked", "putchar", "__string_read"}),
    ("musl: start-up, TLS, locks, exit",
     {"__libc_start_main", "__init_tls", "__set_thread_area", "libc", "defsysinfo", "__environ", "_Exit",
      "exit", "__lock", "lock_ptc", "default_attr", "__syscall_cp", "syscall_ret", "vdso", "abort_lock",
      "__stack_chk_fail", "__errno_location", "block", "__timedwait", "pthread_self",
      "pthread_setcancelstate", "pthread_sigmask", "pthread_rwlock_timedwrlock",
      "pthread_rwlock_trywrlock", "pthread_rwlock_unlock", "pthread_rwlock_wrlock", "__wait",
      "pthread_rwlock_timedrdlock", "pthread_rwlock_rdlock", "pthread_rwlock_tryrdlock"}),
]
MUSL_OTHER = "musl: other (syscall wrappers, strings, dirs, env)"
FLOAT_FMT = MUSL[0][0]


MERGED = "*merged*"


def group_of(obj, section):
    """The group an input section of `obj` counts to."""
    m = re.search(r"lib(\w+)\.a\(([^)]*)\)$", obj)
    if obj == "*fill*":
        return "alignment padding"
    if obj == MERGED:
        return "duplicate strings merged by the linker"
    if m and m.group(1) == "c":
        member = re.sub(r"\.l?o$", "", m.group(2))
        if member == "vfprintf" and "fmt_fp" in section:
            return FLOAT_FMT
        for name, members in MUSL:
            if member in members:
                return name
        return MUSL_OTHER
    if m and m.group(1) == "inih":
        return "inih (libinih.a)"
    if m and m.group(1) == "cap":
        return "libcap (libcap.a)"
    if m:
        return "libgcc, crt (compiler runtime)"
    if re.search(r"/(crt\w*|Scrt1|crti|crtn)\.o$", obj):
        return "libgcc, crt (compiler runtime)"
    mod = module_of(obj)
    if mod.startswith("init/"):
        return "stint init/*.c"
    if mod.startswith("src/peer/"):
        return "stint-peer src/peer/*.c"
    return "shared src/*.c"


def module_of(obj):
    m = re.search(r"build/[^/]+/(.*)\.o$", obj)
    return m.group(1) + ".c" if m else os.path.basename(obj)


def parse(path):
    """{(obj, section): {kind: bytes}}, and the archive members' includers."""
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    included = {}
    start = lines.index("Archive member included to satisfy reference by file (symbol)") + 1
    member = None
    for line in lines[start:]:
        if line.startswith("Discarded input sections") or line.startswith("Memory Configuration"):
            break
        if line and not line.startswith(" "):
            member = line.strip()
        elif member and line.strip():
            m = re.match(r"\s+(\S+) \((.*)\)$", line)
            if m:
                included[member] = (m.group(1), m.group(2))
            member = None
    sizes = collections.defaultdict(collections.Counter)
    out_size = {}
    in_size = collections.Counter()
    out = None
    pending = None
    body = lines[lines.index("Linker script and memory map") + 1:]
    for line in body:
        m = re.match(r"^(\.[\w.]+)(\s|$)", line)
        if m:
            out = m.group(1)
            pending = None
            m = re.match(r"^\.[\w.]+\s+0x[0-9a-f]+\s+0x([0-9a-f]+)", line)
            if m:
                out_size[out] = int(m.group(1), 16)
            continue
        m = re.match(r"^ (\S+)\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+(\S.*)$", line)
        if m:
            name, size, obj = m.group(1), int(m.group(2), 16), m.group(3)
        elif re.match(r"^ \*fill\*\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s*$", line):
            name, obj = "*fill*", "*fill*"
            size = int(re.match(r"^ \*fill\*\s+0x[0-9a-f]+\s+0x([0-9a-f]+)", line).group(1), 16)
        else:
            m = re.match(r"^ (\.\S+)$", line)
            if m:
                pending = m.group(1)
                continue
            m = re.match(r"^\s{10,}0x[0-9a-f]+\s+0x([0-9a-f]+)\s+(\S.*)$", line)
            if not (m and pending):
                continue
            name, size, obj = pending, int(m.group(1), 16), m.group(2)
            pending = None
        kind = KIND.get(out)
        if kind and size:
            sizes[(obj, name)][kind] += size
            in_size[out] += size
    # Mergeable sections (string literals) are listed per input object
    # before the linker drops the duplicates: what an output section is
    # smaller than its inputs is the saving, a negative row of its own.
    for o, n in in_size.items():
        if o in out_size and n > out_size[o]:
            sizes[(MERGED, o)][KIND[o]] -= n - out_size[o]
    return sizes, included


def row(label, c, total_file):
    file_bytes = sum(c[k] for k in COLS if k != "bss")
    share = 100.0 * file_bytes / total_file if total_file else 0
    return "%-52s %7d %7d %7d %6d %6d %8d %5.1f%%" % (label, c["text"], c["rodata"], c["eh"], c["data"],
                                                     c["bss"], file_bytes, share)


HEAD = "%-52s %7s %7s %7s %6s %6s %8s %6s" % ("", "text", "rodata", "eh", "data", "bss", "file", "share")


def pulled_by(included, group_name):
    """Which objects outside the group brought its archive members in."""
    reasons = []
    for member, (by, sym) in included.items():
        if group_of(member, "") != group_name:
            continue
        if group_of(by, "") == group_name:
            continue
        mb = re.sub(r"^.*\(([^)]*)\)$", r"\1", by) if "(" in by else module_of(by)
        reasons.append("%s by %s" % (sym, mb))
    return reasons


def main(argv):
    if len(argv) != 5:
        sys.exit(__doc__)
    mapfile, binary, name, samples = argv[1:]
    sizes, included = parse(mapfile)
    groups = collections.defaultdict(collections.Counter)
    modules = collections.defaultdict(collections.Counter)
    float_fmt_in_vfprintf = collections.Counter()
    for (obj, section), c in sizes.items():
        g = group_of(obj, section)
        groups[g].update(c)
        if g.startswith("stint") or g.startswith("shared"):
            modules[module_of(obj)].update(c)
        if g == FLOAT_FMT and "vfprintf" in obj:
            float_fmt_in_vfprintf.update(c)
    total = collections.Counter()
    for c in groups.values():
        total.update(c)
    total_file = sum(total[k] for k in COLS if k != "bss")
    stripped = os.path.getsize(binary) if os.path.exists(binary) else 0
    print("%s: %d bytes on disk (stripped); sections %d bytes (+%d bss); headers and alignment of the file %d"
          % (name, stripped, total_file, total["bss"], stripped - total_file))
    print(HEAD)
    # The parts the issue asks about are listed even when nothing of them
    # is linked (a 0 row says it is gone).
    for g in [m[0] for m in MUSL[:6]] + ["inih (libinih.a)", "libcap (libcap.a)"]:
        groups.setdefault(g, collections.Counter())
    with open(samples, "a", encoding="utf-8") as s:
        for g, c in sorted(groups.items(), key=lambda kv: -sum(kv[1][k] for k in COLS if k != "bss")):
            print(row(g, c, total_file))
            s.write("size-%s\t%s\t%d\tbytes\n" % (name, g, sum(c[k] for k in COLS if k != "bss")))
        s.write("size-%s\ttotal on disk (stripped)\t%d\tbytes\n" % (name, stripped))
    print(row("total", total, total_file))
    if float_fmt_in_vfprintf:
        print("   float formatting = fmt_fp in vfprintf.o (%d bytes) + frexpl, __fpclassifyl, __signbitl"
              % sum(float_fmt_in_vfprintf[k] for k in COLS if k != "bss"))
    for g in [m[0] for m in MUSL[:2]] + ["musl: malloc", "musl: getopt", "inih (libinih.a)", "libcap (libcap.a)"]:
        if sum(groups[g].values()):
            why = pulled_by(included, g)
            print("   %s, brought in by: %s" % (g, ", ".join(why[:6]) + (" ..." if len(why) > 6 else "")))
    print()
    print(HEAD.replace("%-52s" % "", "%-52s" % "our modules"))
    for mod, c in sorted(modules.items(), key=lambda kv: -sum(kv[1][k] for k in COLS if k != "bss")):
        print(row(mod, c, total_file))


if __name__ == "__main__":
    main(sys.argv)
