/* The peer's pure logic over canned inputs, no root needed: mountinfo
 * parsing and unescaping, the topmost mount at a path, what the carry plan
 * takes from a container's mounts and in which order (parents first, the
 * runtime's own order within a depth), what it leaves out (the new root's
 * own mounts, mounts covered by a later one, excluded paths, the persistent
 * volume's and the socket's dirs), and when cgroup=rw must guard the
 * container's limits. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/peer/carry.h"
#include "tap.h"
#include "../../src/peer/cgroup.h"
#include "../../src/peer/mountinfo.h"

/* mi_from TEXT: parse TEXT as a mountinfo file. */
static void mi_from(const char *text, struct mountinfo *mi)
{
	char path[] = "/tmp/stint-unit-mountinfo.XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		perror("mountinfo temp file");
		exit(1);
	}
	close(fd);
	if (mountinfo_read(AT_FDCWD, path, mi) < 0) {
		perror("mountinfo_read");
		exit(1);
	}
	unlink(path);
}

static void test_parse(void)
{
	struct mountinfo mi;
	const struct mount_entry *e;

	mi_from("21 1 0:20 / / rw,relatime shared:1 - overlay overlay rw,lowerdir=/a\n"
		"22 21 0:21 / /with\\040space\\011tab rw master:2 propagate_from:1 - tmpfs tmp\\134fs rw,size=1k\n"
		"23 21 8:1 /sub /data ro - ext4 /dev/sda1 rw,errors=remount-ro\n"
		"24 21 0:22 / /data rw - tmpfs tmpfs rw\n",
		&mi);
	ok(mi.n == 4, "4 mounts parsed (%zu)", mi.n);
	e = &mi.m[1];
	ok(strcmp(e->target, "/with space\ttab") == 0, "octal escapes in the mount point: '%s'", e->target);
	ok(strcmp(e->source, "tmp\\fs") == 0, "a backslash escape in the source: '%s'", e->source);
	ok(strcmp(e->optional, "master:2 propagate_from:1") == 0, "optional fields kept: '%s'", e->optional);
	ok(e->id == 22 && e->parent == 21 && e->major == 0 && e->minor == 21, "ids and device numbers");
	e = &mi.m[2];
	ok(strcmp(e->root, "/sub") == 0 && strcmp(e->opts, "ro") == 0 && strcmp(e->fstype, "ext4") == 0 &&
		   strcmp(e->super_opts, "rw,errors=remount-ro") == 0 && e->optional[0] == '\0',
	   "root, options, type, super options; no optional field");
	e = mountinfo_find(&mi, "/data");
	ok(e && e->id == 24, "the topmost of two mounts at /data is the one found");
	ok(!mountinfo_find(&mi, "/nope"), "no mount at /nope");
	ok(mount_opt_has("rw,nsdelegate,memory_recursiveprot", "nsdelegate") &&
		   !mount_opt_has("rw,nsdelegatex", "nsdelegate") && !mount_opt_has("", "rw"),
	   "mount_opt_has matches whole options only");
	ok(path_is_under("/a/b", "/a") && path_is_under("/a", "/a") && !path_is_under("/ab", "/a") &&
		   path_is_under("/x", "/"),
	   "path_is_under is component-aware");
	mountinfo_free(&mi);
}

static void test_cgroup_guard(void)
{
	struct mountinfo mi;

	mi_from("30 1 0:30 / /sys/fs/cgroup ro,nosuid - cgroup2 cgroup2 rw\n"
		"31 1 0:31 / /v2nsd ro - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n"
		"32 1 0:32 / /sys/fs/cgroup/systemd ro - cgroup cgroup rw,xattr,name=systemd\n",
		&mi);
	ok(cgroup_needs_guard(&mi, "/sys/fs/cgroup"), "cgroup2 without nsdelegate: the limits need the guard");
	ok(!cgroup_needs_guard(&mi, "/v2nsd"), "cgroup2 with nsdelegate: the kernel keeps the limits");
	ok(!cgroup_needs_guard(&mi, "/sys/fs/cgroup/systemd"), "cgroup v1 name=systemd: no limit files to guard");
	ok(!cgroup_needs_guard(&mi, "/nothing"), "no mount there: nothing to guard");
	mountinfo_free(&mi);
}

static const char *kind_name(int k)
{
	static const char *const names[] = { "carry", "tmpfs", "rw", "console", "fd" };

	return k >= 0 && k < 5 ? names[k] : "?";
}

/* The plan as "kind:path kind:path ...". */
static void plan_str(const struct plan *p, char *out, size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < p->n && n < len; i++)
		n += (size_t)snprintf(out + n, len - n, "%s%s:%s", i ? " " : "", kind_name(p->v[i].kind), p->v[i].path);
}

static void test_plan(void)
{
	/* A container as a runtime makes it, with what the plan must skip. */
	static const char mounts[] = "1 0 0:1 / / rw - overlay overlay rw\n"
				     "2 1 0:2 / /proc rw - proc proc rw\n"
				     "3 2 0:3 /null /proc/kcore ro - devtmpfs udev rw\n" /* a mask: carried */
				     "4 1 0:4 / /sys ro - sysfs sysfs ro\n"
				     "5 1 0:5 / /dev rw - tmpfs tmpfs rw\n"
				     "6 5 0:6 / /dev/pts rw - devpts devpts rw\n"
				     "7 1 8:1 /hosts /etc/hosts rw - ext4 /dev/sda1 rw\n"
				     "8 1 0:7 / /run rw - tmpfs tmpfs rw\n" /* replaced by tmpfs= */
				     "9 8 0:8 / /run/secrets ro - tmpfs tmpfs rw\n"
				     "10 1 0:9 / /data rw - ext4 /dev/sdb rw\n"
				     "11 10 0:10 / /data/private rw - tmpfs tmpfs rw\n" /* excluded */
				     "12 1 0:11 / /.stint/root rw - overlay stint rw\n" /* the new root */
				     "13 12 0:12 / /.stint/root/proc rw - proc proc rw\n"
				     "14 1 0:13 / /covered/child rw - tmpfs tmpfs rw\n"
				     "15 1 0:14 / /covered rw - tmpfs tmpfs rw\n"; /* hides 14 */
	static const char *const tmpfs[] = { "/run", "/tmp:mode=1777" };
	static const char *const exclude[] = { "/data/private" };
	static const char *const include[] = { "/extra" };
	struct carry_ctx ctx = {
		.mode = CARRY_AUTO,
		.tmpfs = { tmpfs, 2 },
		.exclude = { exclude, 1 },
		.include = { include, 1 },
		.notify_fd = -1,
		.root = "/.stint/root",
	};
	struct chain none = { .n = 0 };
	struct mountinfo mi;
	struct plan p;
	char got[2048];

	ctx.pv = &none;
	mi_from(mounts, &mi);
	ok(plan_build(&ctx, &mi, &p) == 0, "a plan is built");
	plan_str(&p, got, sizeof(got));
	ok(strcmp(got, "carry:/proc carry:/sys carry:/dev carry:/data carry:/covered carry:/extra tmpfs:/run "
		       "tmpfs:/tmp carry:/proc/kcore carry:/dev/pts carry:/etc/hosts carry:/run/secrets") == 0,
	   "parents first, mount order within a depth; tmpfs replaces /run; the new root's, the covered and "
	   "the excluded mounts left out: %s",
	   got);
	plan_free(&p);

	ctx.mode = CARRY_LIST;
	ok(plan_build(&ctx, &mi, &p) == 0, "carry=list builds");
	plan_str(&p, got, sizeof(got));
	ok(strcmp(got, "carry:/extra tmpfs:/run tmpfs:/tmp") == 0, "carry=list: only include= and the tmpfs: %s", got);
	plan_free(&p);

	ctx.mode = CARRY_AUTO;
	ctx.cgroup_rw = "/sys/fs/cgroup";
	ok(plan_build(&ctx, &mi, &p) < 0, "cgroup=rw without a mount at cgroup-path fails");
	plan_free(&p);
	mountinfo_free(&mi);
}

/* The volume's dir is never carried, wherever the runtime mounted it: the
 * plan stats each mount point and compares it with the volume's chain. */
static void test_plan_hides_the_volume(void)
{
	char dir[] = "/tmp/stint-unit-pv.XXXXXX", text[512];
	struct carry_ctx ctx = { .mode = CARRY_AUTO, .notify_fd = -1, .root = "/.stint/root" };
	struct chain pv;
	struct mountinfo mi;
	struct plan p;
	char got[512];

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(1);
	}
	ok(chain_of(dir, &pv) == 0, "the volume's chain");
	snprintf(text, sizeof(text),
		 "1 0 0:1 / / rw - overlay overlay rw\n"
		 "2 1 0:2 / /proc rw - proc proc rw\n"
		 "3 1 0:3 / %s rw - ext4 /dev/pv rw\n",
		 dir);
	ctx.pv = &pv;
	mi_from(text, &mi);
	ok(plan_build(&ctx, &mi, &p) == 0, "a plan is built");
	plan_str(&p, got, sizeof(got));
	ok(strcmp(got, "carry:/proc") == 0, "the mount showing the volume is not carried: %s", got);
	plan_free(&p);
	mountinfo_free(&mi);
	rmdir(dir);
}

int main(void)
{
	tap_init();
	test_parse();
	test_cgroup_guard();
	test_plan();
	test_plan_hides_the_volume();
	return tap_done();
}
