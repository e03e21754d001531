// SPDX-License-Identifier: MIT
// Attach, validate, create, detach and unlink.
#include "region.h"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cstring>

#include "layout.h"
#include "test_util.h"

namespace {

using hsipc_test::ScopedName;
using hsipc_test::small_config;

struct stat stat_of(const std::string& path) {
    struct stat st = {};
    EXPECT_EQ(0, lstat(path.c_str(), &st)) << path;
    return st;
}

// Creates the region, detaches, and returns its path for tampering.
void create_region(const ScopedName& name, hsipc_config cfg = small_config()) {
    hsipc_region* r;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    ASSERT_OK(hsipc_detach(r));
}

template <class T>
void poke(const std::string& path, off_t offset, T value) {
    int fd = open(path.c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ssize_t(sizeof value), pwrite(fd, &value, sizeof value, offset));
    close(fd);
}

int attach_status(const ScopedName& name) {
    hsipc_region* r = nullptr;
    int rc = hsipc_attach(name.c_str(), nullptr, &r);
    if (rc == HSIPC_OK) hsipc_detach(r);
    return rc;
}

TEST(Region, CreatesOnFirstAttachAndReportsItsConfig) {
    ScopedName name("create");
    hsipc_config cfg = small_config(10, 3, 5, 6);
    hsipc_region* r;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    struct stat st = stat_of(name.path());
    EXPECT_TRUE(S_ISREG(st.st_mode));
    hsipc_config got;
    hsipc_config_init(&got);
    ASSERT_OK(hsipc_region_config(r, &got));
    EXPECT_EQ(6u, got.max_endpoints);
    EXPECT_EQ(8u, got.inbox_capacity);  // 5 rounded up
    EXPECT_EQ(2u, got.pool_count);
    EXPECT_EQ(64u, got.pools[0].buffer_size);
    EXPECT_EQ(10u, got.pools[0].buffer_count);
    EXPECT_EQ(0600u, got.mode);
    // A second attacher's cfg is ignored: the region stands as made.
    hsipc_config other = small_config(99, 1, 64, 2);
    hsipc_region* r2;
    ASSERT_OK(hsipc_attach(name.c_str(), &other, &r2));
    hsipc_config got2;
    hsipc_config_init(&got2);
    ASSERT_OK(hsipc_region_config(r2, &got2));
    EXPECT_EQ(0, std::memcmp(&got, &got2, sizeof got));
    EXPECT_OK(hsipc_detach(r2));
    EXPECT_OK(hsipc_detach(r));
}

TEST(Region, TwoAttachmentsMapApartAndShareOffsets) {
    ScopedName name("two-maps");
    hsipc_config cfg = small_config();
    hsipc_region *a, *b;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &a));
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &b));
    hsipc_endpoint* rx;
    ASSERT_OK(hsipc_endpoint_open(b, "rx", &rx));
    hsipc_endpoint* tx;
    ASSERT_OK(hsipc_endpoint_open(a, "tx", &tx));
    hsipc_id to;
    ASSERT_OK(hsipc_lookup(a, "rx", &to));
    hsipc_off off;
    ASSERT_OK(hsipc_alloc(a, 40, &off));
    char* pa = static_cast<char*>(hsipc_ptr(a, off));
    char* pb = static_cast<char*>(hsipc_ptr(b, off));  // same process: live in both
    ASSERT_NE(nullptr, pa);
    ASSERT_NE(nullptr, pb);
    EXPECT_NE(pa, pb);  // two mappings at different addresses
    std::strcpy(pa, "across mappings");
    ASSERT_OK(hsipc_send_offset(tx, to, off, 16));
    hsipc_msg msg;
    ASSERT_OK(hsipc_poll(rx, &msg, 0));
    EXPECT_EQ(off, msg.off);
    EXPECT_EQ(static_cast<void*>(pb), msg.data);
    EXPECT_STREQ("across mappings", static_cast<char*>(msg.data));
    EXPECT_EQ(hsipc_endpoint_id(tx), msg.from);
    // Released through the other handle: ownership is the process's.
    EXPECT_OK(hsipc_release(a, msg.off));
    EXPECT_OK(hsipc_detach(a));
    EXPECT_OK(hsipc_detach(b));
}

TEST(Region, ModeIsExactDespiteUmask) {
    ScopedName name("mode");
    mode_t old = umask(0077);
    hsipc_config cfg = small_config();
    cfg.mode = 0660;
    hsipc_region* r;
    int rc = hsipc_attach(name.c_str(), &cfg, &r);
    umask(old);
    ASSERT_OK(rc);
    EXPECT_EQ(0660u, stat_of(name.path()).st_mode & 07777);
    EXPECT_OK(hsipc_detach(r));
}

TEST(Region, DefaultModeIs0600) {
    ScopedName name("mode-default");
    mode_t old = umask(0);
    create_region(name);
    umask(old);
    EXPECT_EQ(0600u, stat_of(name.path()).st_mode & 07777);
}

TEST(Region, SymlinkAtTheNameIsRefused) {
    ScopedName name("symlink");
    ScopedName target("symlink-target");
    create_region(target);
    ASSERT_EQ(0, symlink(target.path().c_str(), name.path().c_str()));
    EXPECT_STATUS(HSIPC_EPERM, attach_status(name));
}

TEST(Region, DirectoryAtTheNameIsRefused) {
    ScopedName name("dir");
    ASSERT_EQ(0, mkdir(name.path().c_str(), 0700));
    EXPECT_STATUS(HSIPC_EPERM, attach_status(name));
    rmdir(name.path().c_str());
}

TEST(Region, FifoAtTheNameIsRefusedWithoutHanging) {
    ScopedName name("fifo");
    ASSERT_EQ(0, mkfifo(name.path().c_str(), 0600));
    EXPECT_STATUS(HSIPC_EPERM, attach_status(name));
}

TEST(Region, BadMagicIsCorrupt) {
    ScopedName name("magic");
    create_region(name);
    poke(name.path(), offsetof(hsipc::RegionHeader, magic), uint64_t(0x1122334455667788));
    EXPECT_STATUS(HSIPC_ECORRUPT, attach_status(name));
}

TEST(Region, OtherLayoutVersionIsRefused) {
    ScopedName name("version");
    create_region(name);
    poke(name.path(), offsetof(hsipc::RegionHeader, layout_version), uint32_t(hsipc::kLayoutVersion + 1));
    EXPECT_STATUS(HSIPC_EVERSION, attach_status(name));
}

TEST(Region, OtherFingerprintIsRefused) {
    ScopedName name("fingerprint");
    create_region(name);
    poke(name.path(), offsetof(hsipc::RegionHeader, fingerprint), hsipc::layout_fingerprint() ^ 1);
    EXPECT_STATUS(HSIPC_EVERSION, attach_status(name));
}

TEST(Region, ImpossibleStoredConfigIsCorrupt) {
    ScopedName name("stored-config");
    create_region(name);
    poke(name.path(), offsetof(hsipc::RegionHeader, config) + offsetof(hsipc::StoredConfig, max_endpoints),
         uint32_t(100000));
    EXPECT_STATUS(HSIPC_ECORRUPT, attach_status(name));
}

TEST(Region, HeaderSizeDisagreeingWithConfigIsCorrupt) {
    ScopedName name("total-size");
    create_region(name);
    poke(name.path(), offsetof(hsipc::RegionHeader, total_size), uint64_t(1) << 20);
    EXPECT_STATUS(HSIPC_ECORRUPT, attach_status(name));
}

TEST(Region, TruncatedObjectIsCorruptNotAFault) {
    ScopedName name("truncated");
    create_region(name);
    struct stat st = stat_of(name.path());
    ASSERT_EQ(0, truncate(name.path().c_str(), st.st_size / 2));
    EXPECT_STATUS(HSIPC_ECORRUPT, attach_status(name));
    ASSERT_EQ(0, truncate(name.path().c_str(), st.st_size + 4096));
    EXPECT_STATUS(HSIPC_ECORRUPT, attach_status(name));
    // Down to the header page alone, and to nothing.
    ASSERT_EQ(0, truncate(name.path().c_str(), 4096));
    EXPECT_STATUS(HSIPC_ECORRUPT, attach_status(name));
    ASSERT_EQ(0, truncate(name.path().c_str(), 0));
    EXPECT_STATUS(HSIPC_ECORRUPT, attach_status(name));
}

TEST(Region, EmptyObjectLeftByAForeignCreatorIsCorrupt) {
    // What a creator that died between O_CREAT and writing anything would
    // leave, had it not built the region unnamed.
    ScopedName name("empty");
    int fd = open(name.path().c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
    ASSERT_GE(fd, 0);
    close(fd);
    EXPECT_STATUS(HSIPC_ECORRUPT, attach_status(name));
    ASSERT_OK(hsipc_unlink(name.c_str()));
    EXPECT_OK(attach_status(name));  // the name is usable again at once
}

TEST(Region, ObjectOwnedByAnotherUserNeedsExplicitModeBits) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to chown";
    ScopedName name("foreign");
    create_region(name);
    std::string p = name.path();
    ASSERT_EQ(0, chown(p.c_str(), 12345, 12345));
    // Root could open it; the library's own check refuses.
    EXPECT_STATUS(HSIPC_EPERM, attach_status(name));
    ASSERT_EQ(0, chmod(p.c_str(), 0666));
    EXPECT_OK(attach_status(name));
    // Group members are judged by the group bits only.
    ASSERT_EQ(0, chown(p.c_str(), 12345, getegid()));
    ASSERT_EQ(0, chmod(p.c_str(), 0606));
    EXPECT_STATUS(HSIPC_EPERM, attach_status(name));
    ASSERT_EQ(0, chmod(p.c_str(), 0660));
    EXPECT_OK(attach_status(name));
}

TEST(Region, FailedCreateLeavesNoObject) {
    ScopedName name("failed-create");
    hsipc_config cfg = small_config();
    cfg.pools[1].buffer_size = 32;  // not ascending
    hsipc_region* r = nullptr;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_attach(name.c_str(), &cfg, &r));
    EXPECT_EQ(nullptr, r);
    struct stat st;
    EXPECT_NE(0, lstat(name.path().c_str(), &st));
    cfg = small_config();
    cfg.struct_size = 12;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_attach(name.c_str(), &cfg, &r));
    EXPECT_NE(0, lstat(name.path().c_str(), &st));
}

TEST(Region, UnlinkRemovesTheNameNotTheMemory) {
    ScopedName name("unlink");
    hsipc_config cfg = small_config();
    hsipc_region* r;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    hsipc_endpoint* ep;
    ASSERT_OK(hsipc_endpoint_open(r, "self", &ep));
    ASSERT_OK(hsipc_unlink(name.c_str()));
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_unlink(name.c_str()));
    // Still works for those attached.
    hsipc_off off;
    ASSERT_OK(hsipc_alloc(r, 8, &off));
    ASSERT_OK(hsipc_send_offset(ep, hsipc_endpoint_id(ep), off, 8));
    hsipc_msg msg;
    ASSERT_OK(hsipc_poll(ep, &msg, 0));
    EXPECT_OK(hsipc_release(r, msg.off));
    EXPECT_OK(hsipc_detach(r));
}

TEST(Region, LastDetachReturnsWhatTheProcessHeld) {
    ScopedName name("detach-returns");
    hsipc_config cfg = small_config(8, 2);
    hsipc_region* r;
    ASSERT_OK(hsipc_attach(name.c_str(), &cfg, &r));
    int free_before = hsipc_test::count_free_buffers(r, 1);
    pid_t child = hsipc_test::fork_child([&] {
        hsipc_region* c;
        if (hsipc_attach(name.c_str(), nullptr, &c) != HSIPC_OK) return 1;
        hsipc_region* c2;  // a second handle: its detach must not return anything
        if (hsipc_attach(name.c_str(), nullptr, &c2) != HSIPC_OK) return 2;
        hsipc_off off;
        for (int i = 0; i < 5; i++) {
            if (hsipc_alloc(c, 1, &off) != HSIPC_OK) return 3;
        }
        if (hsipc_detach(c2) != HSIPC_OK) return 4;
        if (hsipc_ptr(c, off) == nullptr) return 5;  // still held
        if (hsipc_detach(c) != HSIPC_OK) return 6;
        return 0;
    });
    ASSERT_EQ(0, hsipc_test::wait_child(child));
    EXPECT_EQ(free_before, hsipc_test::count_free_buffers(r, 1));
    EXPECT_OK(hsipc_detach(r));
}

TEST(Region, NamesAreValidatedBeforeTheFileSystem) {
    hsipc_region* r = nullptr;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_attach("../etc", nullptr, &r));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_attach("a/b", nullptr, &r));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_attach("", nullptr, &r));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_attach(std::string(64, 'a').c_str(), nullptr, &r));
    EXPECT_EQ(nullptr, r);
    EXPECT_TRUE(hsipc::valid_name(std::string(63, 'a').c_str()));
    EXPECT_TRUE(hsipc::valid_name("A-z_0.9"));
}

}  // namespace

namespace {

// A region bigger than what its tmpfs has free fails at attach, not with a
// SIGBUS later. The child gets a private mount namespace with a 1 MiB
// tmpfs over /dev/shm, so the machine's /dev/shm is untouched.
TEST(RegionResources, FullShmIsAnErrorAtAttach) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to mount a small tmpfs";
    pid_t child = hsipc_test::fork_child([] {
        if (unshare(CLONE_NEWNS) != 0) return 10;  // e.g. inside a restricted container
        if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return 11;
        if (mount("hsipc-test", "/dev/shm", "tmpfs", 0, "size=1m") != 0) return 12;
        hsipc_region* r = nullptr;
        hsipc_config cfg;
        hsipc_config_init(&cfg);  // about 50 MB
        errno = 0;
        int rc = hsipc_attach("too-big", &cfg, &r);
        if (rc != HSIPC_ESYS || errno != ENOSPC) return 1;
        struct stat st;
        if (stat("/dev/shm/hsipc.too-big", &st) == 0) return 2;  // nothing left behind
        // A region that fits still works there.
        hsipc_config small = hsipc_test::small_config();
        if (hsipc_attach("fits", &small, &r) != HSIPC_OK) return 3;
        hsipc_detach(r);
        return 0;
    });
    int rc = hsipc_test::wait_child(child);
    if (rc >= 10 && rc <= 12) GTEST_SKIP() << "cannot mount a private tmpfs here (step " << rc << ")";
    EXPECT_EQ(0, rc);
}

}  // namespace

namespace {

// The limit docs/security.md states: a process with write access to the
// object that shrinks it kills every attached process with SIGBUS at its
// next touch of a lost page. The library cannot prevent it (named tmpfs
// objects cannot be sealed, and a library must not own SIGBUS); only who
// may open the object for writing decides who can do it.
TEST(RegionTrust, ShrinkingTheObjectKillsAttachedProcessesWithSigbus) {
    ScopedName name("shrunk");
    create_region(name);
    int ready[2], go[2];
    ASSERT_EQ(0, pipe(ready));
    ASSERT_EQ(0, pipe(go));
    pid_t child = hsipc_test::fork_child([&] {
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);  // the death is expected: no core file
        signal(SIGBUS, SIG_DFL);           // nor a sanitizer's report instead of it
        hsipc_region* c;
        hsipc_off off;
        if (hsipc_attach(name.c_str(), nullptr, &c) != HSIPC_OK || hsipc_alloc(c, 4096, &off) != HSIPC_OK) return 1;
        if (off < 4096) return 2;  // must lie beyond what the shrink keeps
        volatile char* p = static_cast<char*>(hsipc_ptr(c, off));
        p[0] = 1;  // mapped and backed until the shrink
        char ch;
        if (write(ready[1], "r", 1) != 1 || read(go[0], &ch, 1) != 1) return 3;
        p[0] = 2;
        return 4;  // survived: the limit would be gone, and the docs wrong
    });
    char ch;
    ASSERT_EQ(1, read(ready[0], &ch, 1));
    ASSERT_EQ(0, truncate(name.path().c_str(), 4096));  // what any writer of the object can do
    ASSERT_EQ(1, write(go[1], "g", 1));
    EXPECT_EQ(128 + SIGBUS, hsipc_test::wait_child(child));
    // Whoever attaches afterwards is refused, not killed.
    EXPECT_STATUS(HSIPC_ECORRUPT, attach_status(name));
    for (int fd : {ready[0], ready[1], go[0], go[1]}) close(fd);
}

// The same limit through a hole: a writer that punches out pages and fills
// /dev/shm leaves nothing to fault them back in with, so the next touch is a
// SIGBUS too. A private 1 MiB tmpfs stands in for /dev/shm, as above.
TEST(RegionTrust, PunchedPagesOnAFullShmKillWithSigbus) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to mount a small tmpfs";
    pid_t child = hsipc_test::fork_child([] {
        if (unshare(CLONE_NEWNS) != 0) return 10;
        if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return 11;
        if (mount("hsipc-test", "/dev/shm", "tmpfs", 0, "size=1m") != 0) return 12;
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        signal(SIGBUS, SIG_DFL);
        hsipc_region* r;
        hsipc_config cfg = hsipc_test::small_config();
        hsipc_off off;
        if (hsipc_attach("punched", &cfg, &r) != HSIPC_OK || hsipc_alloc(r, 4096, &off) != HSIPC_OK) return 1;
        volatile char* p = static_cast<char*>(hsipc_ptr(r, off));
        p[0] = 1;
        int fd = open("/dev/shm/hsipc.punched", O_RDWR);
        off_t page = off_t(off) & ~off_t(4095);
        if (fd < 0 || fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, page, 4096) != 0) return 2;
        int filler = open("/dev/shm/filler", O_CREAT | O_WRONLY, 0600);
        static char chunk[4096];
        while (write(filler, chunk, sizeof chunk) == ssize_t(sizeof chunk)) {
        }
        p[0] = 2;
        return 3;
    });
    int rc = hsipc_test::wait_child(child);
    if (rc >= 10 && rc <= 12) GTEST_SKIP() << "cannot mount a private tmpfs here (step " << rc << ")";
    EXPECT_EQ(128 + SIGBUS, rc);
}

// Runs body() in a child with the credentials of uid 65534 (and `groups`
// as its supplementary groups); 10 where privileges cannot be dropped here.
int as_other_user(const std::vector<gid_t>& groups, const std::function<int()>& body) {
    pid_t child = hsipc_test::fork_child([&] {
        if (setgroups(groups.size(), groups.data()) != 0) return 10;
        if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) return 10;
        return body();
    });
    return hsipc_test::wait_child(child);
}

// The mode and owner of the object decide who can attach, and with it who
// can shrink it: what docs/security.md tells an operator to rely on.
TEST(RegionTrust, OnlyWhomTheModeGrantsCanAttachOrShrink) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to act as another user";
    ScopedName name("other-user");
    create_region(name);  // root's, mode 0600
    const std::string path = name.path();
    int rc = as_other_user({}, [&] {
        hsipc_region* r;
        if (hsipc_attach(name.c_str(), nullptr, &r) != HSIPC_EPERM) return 1;
        if (hsipc_attach_existing(name.c_str(), &r) != HSIPC_EPERM) return 2;
        if (truncate(path.c_str(), 4096) == 0 || errno != EACCES) return 3;
        return 0;
    });
    if (rc == 10) GTEST_SKIP() << "cannot drop privileges here (setgroups/setresuid)";
    EXPECT_EQ(0, rc);
    // A group mode lets the group's members in, and only them.
    constexpr gid_t kTrusted = 12345;
    ASSERT_EQ(0, chown(path.c_str(), 0, kTrusted));
    ASSERT_EQ(0, chmod(path.c_str(), 0660));
    EXPECT_EQ(0, as_other_user({kTrusted}, [&] {
        hsipc_region* r;
        if (hsipc_attach_existing(name.c_str(), &r) != HSIPC_OK) return 1;
        return hsipc_detach(r) == HSIPC_OK ? 0 : 2;
    }));
    EXPECT_EQ(0, as_other_user({kTrusted + 1}, [&] {
        hsipc_region* r;
        return hsipc_attach_existing(name.c_str(), &r) == HSIPC_EPERM ? 0 : 1;
    }));
    EXPECT_OK(attach_status(name));  // untouched through all of it
}

}  // namespace
