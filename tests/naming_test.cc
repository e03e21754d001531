// SPDX-License-Identifier: MIT
// Names and the naming service: name validation for regions and endpoints,
// endpoint open/lookup/close, stale and made-up ids, the endpoint table's
// limit, dead owners, and several handles in one process.
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "region.h"
#include "test_util.h"

namespace {

using hsipc_test::ScopedName;

bool exists(const std::string& path) {
    struct stat st;
    return lstat(path.c_str(), &st) == 0;
}

// Unlinks an arbitrary (valid) region name at scope exit.
struct UnlinkAtExit {
    std::string name;
    explicit UnlinkAtExit(std::string n) : name(std::move(n)) { hsipc_unlink(name.c_str()); }
    ~UnlinkAtExit() { hsipc_unlink(name.c_str()); }
};

// A region with the small configuration, detached at scope exit.
class Region {
public:
    explicit Region(const char* name, hsipc_config cfg = hsipc_test::small_config()) {
        status_ = hsipc_attach(name, &cfg, &r_);
    }
    ~Region() {
        if (r_) hsipc_detach(r_);
    }
    int status() const { return status_; }
    hsipc_region* get() const { return r_; }
    // Detaches now (for tests of hsipc_detach).
    int detach() {
        int rc = hsipc_detach(r_);
        r_ = nullptr;
        return rc;
    }

private:
    hsipc_region* r_ = nullptr;
    int status_;
};

const std::string kBadNames[] = {
    "",
    std::string(64, 'a'),
    std::string(100, 'b'),
    "a/b",
    "/abc",
    "abc/",
    "a b",
    " ",
    "a\n",
    "\n",
    "a\tb",
    "caf\xc3\xa9",
    "\xff",
    "a:b",
    "a*",
    "a\\b",
    "a%b",
    "name\x7f",
};

std::string printable(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (c >= 0x21 && c < 0x7f) {
            out += char(c);
        } else {
            char buf[8];
            snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        }
    }
    return "\"" + out + "\" (" + std::to_string(s.size()) + " bytes)";
}

// ---- Name validation --------------------------------------------------------------

TEST(NamingRegionNames, ValidNamesAccepted) {
    std::string base = hsipc_test::unique_name("v");
    ASSERT_LT(base.size(), 40u);
    std::vector<std::string> names = {
        base,
        base + "-ABCxyz.019_-",
        base + std::string(63 - base.size(), 'Z'),  // exactly 63 bytes
        base + "." + std::string(62 - base.size(), '.'),
    };
    for (const std::string& name : names) {
        ASSERT_LE(name.size(), 63u);
        UnlinkAtExit guard(name);
        hsipc_region* r = nullptr;
        ASSERT_OK(hsipc_attach(name.c_str(), nullptr, &r)) << printable(name);
        EXPECT_TRUE(exists("/dev/shm/hsipc." + name)) << printable(name);
        hsipc_id id;
        EXPECT_STATUS(HSIPC_ENOENT, hsipc_lookup(r, "nobody", &id));
        EXPECT_OK(hsipc_detach(r));
        EXPECT_OK(hsipc_unlink(name.c_str())) << printable(name);
        EXPECT_FALSE(exists("/dev/shm/hsipc." + name));
        EXPECT_STATUS(HSIPC_ENOENT, hsipc_unlink(name.c_str())) << printable(name);
    }
}

TEST(NamingRegionNames, ShortNames) {
    // One-byte names: valid, though they are global; use ones unlikely to clash
    // and only if free (another run could hold them).
    for (const char* name : {"Q", "7", "_"}) {
        if (exists(std::string("/dev/shm/hsipc.") + name)) continue;
        UnlinkAtExit guard(name);
        hsipc_config cfg = hsipc_test::small_config();
        hsipc_region* r = nullptr;
        ASSERT_OK(hsipc_attach(name, &cfg, &r)) << name;
        EXPECT_OK(hsipc_detach(r));
        EXPECT_OK(hsipc_unlink(name)) << name;
    }
}

TEST(NamingRegionNames, InvalidNamesRefused) {
    hsipc_config cfg = hsipc_test::small_config();
    for (const std::string& name : kBadNames) {
        hsipc_region* r = reinterpret_cast<hsipc_region*>(uintptr_t(0x5678));
        EXPECT_STATUS(HSIPC_EINVAL, hsipc_attach(name.c_str(), &cfg, &r)) << printable(name);
        EXPECT_EQ(reinterpret_cast<hsipc_region*>(uintptr_t(0x5678)), r) << printable(name);
        EXPECT_STATUS(HSIPC_EINVAL, hsipc_attach(name.c_str(), nullptr, &r)) << printable(name);
        EXPECT_STATUS(HSIPC_EINVAL, hsipc_unlink(name.c_str())) << printable(name);
        if (name.find('/') == std::string::npos && !name.empty()) {
            EXPECT_FALSE(exists("/dev/shm/hsipc." + name)) << printable(name);
        }
    }
    hsipc_region* r = nullptr;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_attach(nullptr, &cfg, &r));
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_unlink(nullptr));
}

TEST(NamingRegionNames, UnlinkOfTooLongNameIsInvalidNotMissing) {
    // 64 bytes would be a legal file name; it must still be refused as a name.
    std::string name(64, 'x');
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_unlink(name.c_str()));
    name.resize(63);
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_unlink(name.c_str()));
}

TEST(NamingEndpointNames, ValidNamesAccepted) {
    ScopedName name("epvalid");
    Region r(name.c_str(), hsipc_test::small_config(16, 4, 8, 16));
    ASSERT_OK(r.status());
    std::vector<std::string> names = {
        "a", "Z", "0", ".", "..", "-", "_", "A.b_c-9", "abcdefghijklmnopqrstuvwxABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-",
        std::string(63, 'e'),
    };
    ASSERT_EQ(63u, names[8].size());
    std::vector<hsipc_endpoint*> eps;
    for (const std::string& n : names) {
        hsipc_endpoint* ep = nullptr;
        ASSERT_OK(hsipc_endpoint_open(r.get(), n.c_str(), &ep)) << printable(n);
        ASSERT_NE(nullptr, ep);
        eps.push_back(ep);
    }
    for (size_t i = 0; i < names.size(); i++) {
        hsipc_id id = 0;
        ASSERT_OK(hsipc_lookup(r.get(), names[i].c_str(), &id)) << printable(names[i]);
        EXPECT_EQ(hsipc_endpoint_id(eps[i]), id) << printable(names[i]);
    }
    // Names are compared exactly: a prefix or a longer name is another name.
    hsipc_id id;
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_lookup(r.get(), "A.b_c-", &id));
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_lookup(r.get(), "A.b_c-99", &id));
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_lookup(r.get(), "A", &id));
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_lookup(r.get(), std::string(62, 'e').c_str(), &id));
    for (hsipc_endpoint* ep : eps) EXPECT_OK(hsipc_endpoint_close(ep));
}

TEST(NamingEndpointNames, InvalidNamesRefused) {
    ScopedName name("epinvalid");
    Region r(name.c_str());
    ASSERT_OK(r.status());
    for (const std::string& n : kBadNames) {
        hsipc_endpoint* ep = reinterpret_cast<hsipc_endpoint*>(uintptr_t(0x9abc));
        EXPECT_STATUS(HSIPC_EINVAL, hsipc_endpoint_open(r.get(), n.c_str(), &ep)) << printable(n);
        EXPECT_EQ(reinterpret_cast<hsipc_endpoint*>(uintptr_t(0x9abc)), ep) << printable(n);
        hsipc_id id = 777;
        EXPECT_STATUS(HSIPC_EINVAL, hsipc_lookup(r.get(), n.c_str(), &id)) << printable(n);
        EXPECT_EQ(777u, id) << printable(n);
    }
    hsipc_endpoint* ep = nullptr;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_endpoint_open(r.get(), nullptr, &ep));
    hsipc_id id;
    EXPECT_STATUS(HSIPC_EINVAL, hsipc_lookup(r.get(), nullptr, &id));
    // The table is untouched: every slot is still free.
    std::vector<hsipc_endpoint*> eps;
    for (int i = 0; i < 8; i++) {
        hsipc_endpoint* e = nullptr;
        ASSERT_OK(hsipc_endpoint_open(r.get(), ("ok" + std::to_string(i)).c_str(), &e));
        eps.push_back(e);
    }
    for (hsipc_endpoint* e : eps) EXPECT_OK(hsipc_endpoint_close(e));
}

// ---- Open, lookup, close ---------------------------------------------------------------

TEST(NamingEndpoints, OpenLookupClose) {
    ScopedName name("eplife");
    Region r(name.c_str());
    ASSERT_OK(r.status());
    hsipc_endpoint* a = nullptr;
    hsipc_endpoint* sender = nullptr;
    ASSERT_OK(hsipc_endpoint_open(r.get(), "alpha", &a));
    ASSERT_OK(hsipc_endpoint_open(r.get(), "sender", &sender));
    const hsipc_id a_id = hsipc_endpoint_id(a);
    EXPECT_NE(0u, a_id);
    EXPECT_NE(a_id, hsipc_endpoint_id(sender));

    hsipc_id id = 0;
    ASSERT_OK(hsipc_lookup(r.get(), "alpha", &id));
    EXPECT_EQ(a_id, id);

    // A second open of a live name.
    hsipc_endpoint* dup = reinterpret_cast<hsipc_endpoint*>(uintptr_t(0x1111));
    EXPECT_STATUS(HSIPC_EEXIST, hsipc_endpoint_open(r.get(), "alpha", &dup));
    EXPECT_EQ(reinterpret_cast<hsipc_endpoint*>(uintptr_t(0x1111)), dup);
    // Still the same endpoint afterwards.
    ASSERT_OK(hsipc_lookup(r.get(), "alpha", &id));
    EXPECT_EQ(a_id, id);

    id = 4242;
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_lookup(r.get(), "beta", &id));
    EXPECT_EQ(4242u, id);

    // A message reaches it while it is open.
    hsipc_off off;
    ASSERT_OK(hsipc_alloc(r.get(), 8, &off));
    ASSERT_OK(hsipc_send_offset(sender, a_id, off, 8));
    hsipc_msg msg;
    ASSERT_OK(hsipc_poll(a, &msg, 0));
    EXPECT_EQ(off, msg.off);
    EXPECT_EQ(hsipc_endpoint_id(sender), msg.from);
    ASSERT_OK(hsipc_release(r.get(), msg.off));

    ASSERT_OK(hsipc_endpoint_close(a));
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_lookup(r.get(), "alpha", &id));

    // The old id is stale; the sender keeps its buffer.
    ASSERT_OK(hsipc_alloc(r.get(), 8, &off));
    EXPECT_STATUS(HSIPC_EPEER, hsipc_send_offset(sender, a_id, off, 8));
    EXPECT_NE(nullptr, hsipc_ptr(r.get(), off));

    // Reopening the name gives another id, and the old one stays stale.
    hsipc_endpoint* a2 = nullptr;
    ASSERT_OK(hsipc_endpoint_open(r.get(), "alpha", &a2));
    EXPECT_NE(a_id, hsipc_endpoint_id(a2));
    EXPECT_NE(0u, hsipc_endpoint_id(a2));
    ASSERT_OK(hsipc_lookup(r.get(), "alpha", &id));
    EXPECT_EQ(hsipc_endpoint_id(a2), id);
    EXPECT_STATUS(HSIPC_EPEER, hsipc_send_offset(sender, a_id, off, 8));
    ASSERT_OK(hsipc_send_offset(sender, id, off, 8));
    ASSERT_OK(hsipc_poll(a2, &msg, 0));
    EXPECT_EQ(off, msg.off);
    EXPECT_OK(hsipc_release(r.get(), msg.off));

    EXPECT_OK(hsipc_endpoint_close(a2));
    EXPECT_OK(hsipc_endpoint_close(sender));
}

TEST(NamingEndpoints, ReopenedIdsNeverRepeatRecentOnes) {
    ScopedName name("epgen");
    Region r(name.c_str());
    ASSERT_OK(r.status());
    std::vector<hsipc_id> seen;
    for (int i = 0; i < 20; i++) {
        hsipc_endpoint* ep = nullptr;
        ASSERT_OK(hsipc_endpoint_open(r.get(), "cycle", &ep));
        hsipc_id id = hsipc_endpoint_id(ep);
        EXPECT_NE(0u, id);
        for (hsipc_id old : seen) EXPECT_NE(old, id) << "iteration " << i;
        seen.push_back(id);
        ASSERT_OK(hsipc_endpoint_close(ep));
    }
}

TEST(NamingEndpoints, MadeUpIdsAreRefused) {
    ScopedName name("epfake");
    Region r(name.c_str());
    ASSERT_OK(r.status());
    hsipc_endpoint* sender = nullptr;
    hsipc_endpoint* live = nullptr;
    ASSERT_OK(hsipc_endpoint_open(r.get(), "sender", &sender));
    ASSERT_OK(hsipc_endpoint_open(r.get(), "live", &live));
    const hsipc_id live_id = hsipc_endpoint_id(live);
    hsipc_off off;
    ASSERT_OK(hsipc_alloc(r.get(), 16, &off));
    void* p = hsipc_ptr(r.get(), off);
    ASSERT_NE(nullptr, p);
    std::memcpy(p, "payload", 8);

    // Ids carry the slot + 1 in just enough bits for max_endpoints (8
    // here: 4 bits), the gen above.
    const uint32_t bits = reinterpret_cast<hsipc::Region*>(r.get())->layout.id_index_bits;
    ASSERT_EQ(4u, bits);
    const uint32_t index_mask = (1u << bits) - 1;
    std::vector<hsipc_id> fakes = {
        0,
        0xFFFFFFFFu,
        12345,
        1,                          // slot 0, generation 0
        live_id & index_mask,       // the live slot, generation 0
        live_id + (1u << bits),     // the live slot, the next generation
        (1u << bits) | 8,           // slot 7 (free), generation 1
        (1u << bits) | 9,           // slot 8: past max_endpoints (8)
        (1u << bits) | index_mask,  // slot 14
    };
    for (hsipc_id fake : fakes) {
        ASSERT_NE(live_id, fake);
        EXPECT_STATUS(HSIPC_EPEER, hsipc_send_offset(sender, fake, off, 8)) << "id " << fake;
        // On error the sender still owns the buffer.
        EXPECT_EQ(p, hsipc_ptr(r.get(), off)) << "id " << fake;
        EXPECT_GE(hsipc_capacity(r.get(), off), 16u) << "id " << fake;
    }
    hsipc_msg msg;
    EXPECT_STATUS(HSIPC_EAGAIN, hsipc_poll(live, &msg, 0));
    EXPECT_STATUS(HSIPC_EAGAIN, hsipc_poll(sender, &msg, 0));
    EXPECT_EQ(0, std::memcmp(p, "payload", 8));
    // The buffer was never lost: it can be sent to the real id, or released.
    ASSERT_OK(hsipc_send_offset(sender, live_id, off, 8));
    ASSERT_OK(hsipc_poll(live, &msg, 0));
    EXPECT_EQ(0, std::memcmp(msg.data, "payload", 8));
    EXPECT_OK(hsipc_release(r.get(), msg.off));

    hsipc_off off2;
    ASSERT_OK(hsipc_alloc(r.get(), 16, &off2));
    EXPECT_STATUS(HSIPC_EPEER, hsipc_send_offset(sender, 0, off2, 1));
    EXPECT_OK(hsipc_release(r.get(), off2));
    EXPECT_STATUS(HSIPC_EBADOFF, hsipc_release(r.get(), off2));

    EXPECT_OK(hsipc_endpoint_close(live));
    EXPECT_OK(hsipc_endpoint_close(sender));
}

TEST(NamingEndpoints, TableFull) {
    ScopedName name("epfull");
    Region r(name.c_str(), hsipc_test::small_config(16, 4, 8, 4));
    ASSERT_OK(r.status());
    std::vector<hsipc_endpoint*> eps(4, nullptr);
    for (int i = 0; i < 4; i++) {
        ASSERT_OK(hsipc_endpoint_open(r.get(), ("ep" + std::to_string(i)).c_str(), &eps[i])) << i;
    }
    hsipc_endpoint* fifth = reinterpret_cast<hsipc_endpoint*>(uintptr_t(0x2222));
    EXPECT_STATUS(HSIPC_ENOMEM, hsipc_endpoint_open(r.get(), "ep4", &fifth));
    EXPECT_EQ(reinterpret_cast<hsipc_endpoint*>(uintptr_t(0x2222)), fifth);
    hsipc_id id;
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_lookup(r.get(), "ep4", &id));
    // The existing endpoints are untouched by the refusal.
    for (int i = 0; i < 4; i++) {
        ASSERT_OK(hsipc_lookup(r.get(), ("ep" + std::to_string(i)).c_str(), &id));
        EXPECT_EQ(hsipc_endpoint_id(eps[i]), id);
    }
    // Closing one makes room.
    const hsipc_id closed_id = hsipc_endpoint_id(eps[2]);
    ASSERT_OK(hsipc_endpoint_close(eps[2]));
    eps[2] = nullptr;
    fifth = nullptr;
    ASSERT_OK(hsipc_endpoint_open(r.get(), "ep4", &fifth));
    EXPECT_NE(closed_id, hsipc_endpoint_id(fifth));
    ASSERT_OK(hsipc_lookup(r.get(), "ep4", &id));
    EXPECT_EQ(hsipc_endpoint_id(fifth), id);
    hsipc_endpoint* sixth = nullptr;
    EXPECT_STATUS(HSIPC_ENOMEM, hsipc_endpoint_open(r.get(), "ep5", &sixth));
    EXPECT_OK(hsipc_endpoint_close(fifth));
    for (hsipc_endpoint* ep : eps) {
        if (ep) {
            EXPECT_OK(hsipc_endpoint_close(ep));
        }
    }
}

TEST(NamingEndpoints, QueuedMessagesReturnToPoolOnClose) {
    ScopedName name("epqueue");
    Region r(name.c_str());
    ASSERT_OK(r.status());
    const int total = hsipc_test::count_free_buffers(r.get(), 1);
    ASSERT_EQ(20, total);  // small_config: 16 + 4
    hsipc_endpoint* sender = nullptr;
    hsipc_endpoint* receiver = nullptr;
    ASSERT_OK(hsipc_endpoint_open(r.get(), "sender", &sender));
    ASSERT_OK(hsipc_endpoint_open(r.get(), "receiver", &receiver));
    const hsipc_id to = hsipc_endpoint_id(receiver);
    for (int i = 0; i < 3; i++) {
        hsipc_off off;
        ASSERT_OK(hsipc_alloc(r.get(), 32, &off));
        ASSERT_OK(hsipc_send_offset(sender, to, off, 32));
    }
    hsipc_off big;
    ASSERT_OK(hsipc_alloc(r.get(), 1000, &big));
    ASSERT_OK(hsipc_send_offset(sender, to, big, 1000));
    EXPECT_EQ(total - 4, hsipc_test::count_free_buffers(r.get(), 1));
    ASSERT_OK(hsipc_endpoint_close(receiver));
    EXPECT_EQ(total, hsipc_test::count_free_buffers(r.get(), 1));
    EXPECT_OK(hsipc_endpoint_close(sender));
}

// ---- Dead owners --------------------------------------------------------------------------

// Forks a child that attaches `region` anew, opens endpoint `ep_name`, tells
// the parent through a pipe, and waits to be killed. Returns the pid, or -1
// where the child did not get that far.
pid_t start_holder(const char* region, const char* ep_name) {
    int fds[2];
    if (pipe(fds) != 0) return -1;
    pid_t pid = hsipc_test::fork_child([&]() -> int {
        close(fds[0]);
        hsipc_region* r = nullptr;
        if (hsipc_attach(region, nullptr, &r) != HSIPC_OK) return 1;
        hsipc_endpoint* ep = nullptr;
        if (hsipc_endpoint_open(r, ep_name, &ep) != HSIPC_OK) return 2;
        // Hold a buffer too.
        hsipc_off off;
        if (hsipc_alloc(r, 8, &off) != HSIPC_OK) return 3;
        char ok = 'k';
        if (write(fds[1], &ok, 1) != 1) return 4;
        for (;;) pause();
    });
    close(fds[1]);
    char c = 0;
    ssize_t n;
    do {
        n = read(fds[0], &c, 1);
    } while (n < 0 && errno == EINTR);
    close(fds[0]);
    if (n != 1 || c != 'k') {
        if (pid > 0) hsipc_test::wait_child(pid, 10);
        return -1;
    }
    return pid;
}

TEST(NamingDeadOwner, LookupReapsAndNameCanBeReopened) {
    ScopedName name("epdead");
    Region r(name.c_str());
    ASSERT_OK(r.status());
    const int free_before = hsipc_test::count_free_buffers(r.get(), 1);
    pid_t pid = start_holder(name.c_str(), "held");
    ASSERT_GT(pid, 0) << "child failed to open its endpoint";

    hsipc_id id = 0;
    ASSERT_OK(hsipc_lookup(r.get(), "held", &id));
    hsipc_endpoint* ep = nullptr;
    EXPECT_STATUS(HSIPC_EEXIST, hsipc_endpoint_open(r.get(), "held", &ep));
    EXPECT_EQ(free_before - 1, hsipc_test::count_free_buffers(r.get(), 1));

    ASSERT_EQ(0, kill(pid, SIGKILL));
    ASSERT_EQ(128 + SIGKILL, hsipc_test::wait_child(pid));

    hsipc_id after = 12;
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_lookup(r.get(), "held", &after));
    EXPECT_EQ(12u, after);
    ASSERT_OK(hsipc_endpoint_open(r.get(), "held", &ep));
    EXPECT_NE(id, hsipc_endpoint_id(ep));
    hsipc_id now = 0;
    ASSERT_OK(hsipc_lookup(r.get(), "held", &now));
    EXPECT_EQ(hsipc_endpoint_id(ep), now);
    // The dead child's id is stale.
    hsipc_off off;
    ASSERT_OK(hsipc_alloc(r.get(), 8, &off));
    EXPECT_STATUS(HSIPC_EPEER, hsipc_send_offset(ep, id, off, 8));
    EXPECT_OK(hsipc_release(r.get(), off));
    // Its buffer came back as well.
    EXPECT_EQ(free_before, hsipc_test::count_free_buffers(r.get(), 1));
    EXPECT_OK(hsipc_endpoint_close(ep));
}

TEST(NamingDeadOwner, OpenReapsDeadHolderWithoutLookup) {
    ScopedName name("epdead2");
    Region r(name.c_str());
    ASSERT_OK(r.status());
    pid_t pid = start_holder(name.c_str(), "held");
    ASSERT_GT(pid, 0) << "child failed to open its endpoint";
    hsipc_id id = 0;
    ASSERT_OK(hsipc_lookup(r.get(), "held", &id));
    ASSERT_EQ(0, kill(pid, SIGKILL));
    ASSERT_EQ(128 + SIGKILL, hsipc_test::wait_child(pid));

    hsipc_endpoint* ep = nullptr;
    ASSERT_OK(hsipc_endpoint_open(r.get(), "held", &ep));
    EXPECT_NE(id, hsipc_endpoint_id(ep));
    hsipc_id now = 0;
    ASSERT_OK(hsipc_lookup(r.get(), "held", &now));
    EXPECT_EQ(hsipc_endpoint_id(ep), now);
    EXPECT_OK(hsipc_endpoint_close(ep));
}

TEST(NamingDeadOwner, DeadHoldersFreeTableSlots) {
    // A table full of a dead process's endpoints has room for new ones.
    ScopedName name("epdead3");
    Region r(name.c_str(), hsipc_test::small_config(16, 4, 8, 2));
    ASSERT_OK(r.status());
    int fds[2];
    ASSERT_EQ(0, pipe(fds));
    const char* region = name.c_str();
    pid_t pid = hsipc_test::fork_child([&]() -> int {
        close(fds[0]);
        hsipc_region* cr = nullptr;
        if (hsipc_attach(region, nullptr, &cr) != HSIPC_OK) return 1;
        hsipc_endpoint *a = nullptr, *b = nullptr;
        if (hsipc_endpoint_open(cr, "x", &a) != HSIPC_OK) return 2;
        if (hsipc_endpoint_open(cr, "y", &b) != HSIPC_OK) return 3;
        char ok = 'k';
        if (write(fds[1], &ok, 1) != 1) return 4;
        for (;;) pause();
    });
    close(fds[1]);
    char c = 0;
    ASSERT_EQ(1, read(fds[0], &c, 1));
    close(fds[0]);
    hsipc_endpoint* ep = nullptr;
    EXPECT_STATUS(HSIPC_ENOMEM, hsipc_endpoint_open(r.get(), "z", &ep));
    ASSERT_EQ(0, kill(pid, SIGKILL));
    ASSERT_EQ(128 + SIGKILL, hsipc_test::wait_child(pid));
    ASSERT_OK(hsipc_endpoint_open(r.get(), "z", &ep));
    hsipc_endpoint* ep2 = nullptr;
    ASSERT_OK(hsipc_endpoint_open(r.get(), "x", &ep2));
    hsipc_id id;
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_lookup(r.get(), "y", &id));
    EXPECT_OK(hsipc_endpoint_close(ep2));
    EXPECT_OK(hsipc_endpoint_close(ep));
}

TEST(NamingCrossProcess, ChildFindsParentsEndpointAndSends) {
    ScopedName name("epxproc");
    Region r(name.c_str());
    ASSERT_OK(r.status());
    hsipc_endpoint* ep = nullptr;
    ASSERT_OK(hsipc_endpoint_open(r.get(), "parent", &ep));
    const hsipc_id my_id = hsipc_endpoint_id(ep);
    const char* region = name.c_str();
    pid_t pid = hsipc_test::fork_child([&]() -> int {
        hsipc_region* cr = nullptr;
        if (hsipc_attach(region, nullptr, &cr) != HSIPC_OK) return 1;
        hsipc_id id = 0;
        if (hsipc_lookup(cr, "parent", &id) != HSIPC_OK) return 2;
        if (id != my_id) return 3;
        hsipc_endpoint* mine = nullptr;
        if (hsipc_endpoint_open(cr, "child", &mine) != HSIPC_OK) return 4;
        if (hsipc_endpoint_open(cr, "parent", &mine) != HSIPC_EEXIST) return 5;
        hsipc_off off;
        if (hsipc_alloc(cr, 6, &off) != HSIPC_OK) return 6;
        std::memcpy(hsipc_ptr(cr, off), "hello", 6);
        if (hsipc_send_offset(mine, id, off, 6) != HSIPC_OK) return 7;
        return hsipc_detach(cr) == HSIPC_OK ? 0 : 8;
    });
    ASSERT_EQ(0, hsipc_test::wait_child(pid));
    hsipc_msg msg;
    ASSERT_OK(hsipc_poll(ep, &msg, 0));
    EXPECT_EQ(6u, msg.length);
    EXPECT_STREQ("hello", static_cast<const char*>(msg.data));
    EXPECT_NE(0u, msg.from);
    // The child detached, which closed its endpoint.
    hsipc_id id;
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_lookup(r.get(), "child", &id));
    EXPECT_OK(hsipc_release(r.get(), msg.off));
    EXPECT_OK(hsipc_endpoint_close(ep));
}

// ---- Two handles in one process -------------------------------------------------------------

TEST(NamingTwoHandles, EndpointsVisibleAcrossHandles) {
    ScopedName name("ep2h");
    Region h1(name.c_str());
    ASSERT_OK(h1.status());
    Region h2(name.c_str());
    ASSERT_OK(h2.status());
    ASSERT_NE(h1.get(), h2.get());

    hsipc_endpoint* one = nullptr;
    hsipc_endpoint* two = nullptr;
    ASSERT_OK(hsipc_endpoint_open(h1.get(), "one", &one));
    ASSERT_OK(hsipc_endpoint_open(h2.get(), "two", &two));
    hsipc_endpoint* dup = nullptr;
    EXPECT_STATUS(HSIPC_EEXIST, hsipc_endpoint_open(h2.get(), "one", &dup));

    hsipc_id id_one = 0, id_two = 0;
    ASSERT_OK(hsipc_lookup(h2.get(), "one", &id_one));
    EXPECT_EQ(hsipc_endpoint_id(one), id_one);
    ASSERT_OK(hsipc_lookup(h1.get(), "two", &id_two));
    EXPECT_EQ(hsipc_endpoint_id(two), id_two);

    // h1 -> h2.
    hsipc_off off;
    ASSERT_OK(hsipc_alloc(h1.get(), 12, &off));
    void* p1 = hsipc_ptr(h1.get(), off);
    ASSERT_NE(nullptr, p1);
    std::memcpy(p1, "across", 7);
    ASSERT_OK(hsipc_send_offset(one, id_two, off, 7));
    hsipc_msg msg;
    ASSERT_OK(hsipc_poll(two, &msg, 0));
    EXPECT_EQ(off, msg.off);  // offsets mean the same in both handles
    EXPECT_EQ(7u, msg.length);
    EXPECT_EQ(id_one, msg.from);
    EXPECT_EQ(hsipc_ptr(h2.get(), msg.off), msg.data);
    EXPECT_NE(p1, msg.data);  // two mappings at different addresses
    EXPECT_STREQ("across", static_cast<const char*>(msg.data));

    // And back, forwarding the same buffer through the other handle.
    std::memcpy(msg.data, "reply", 6);
    ASSERT_OK(hsipc_send_offset(two, msg.from, msg.off, 6));
    hsipc_msg back;
    ASSERT_OK(hsipc_poll(one, &back, 0));
    EXPECT_EQ(off, back.off);
    EXPECT_EQ(id_two, back.from);
    EXPECT_EQ(p1, back.data);
    EXPECT_STREQ("reply", static_cast<const char*>(back.data));
    EXPECT_OK(hsipc_release(h1.get(), back.off));

    EXPECT_OK(hsipc_endpoint_close(one));
    EXPECT_OK(hsipc_endpoint_close(two));
}

TEST(NamingTwoHandles, DetachClosesThatHandlesEndpoints) {
    ScopedName name("ep2hdet");
    Region h1(name.c_str());
    ASSERT_OK(h1.status());
    Region h2(name.c_str());
    ASSERT_OK(h2.status());
    const int total = hsipc_test::count_free_buffers(h1.get(), 1);

    hsipc_endpoint* one = nullptr;
    hsipc_endpoint* two = nullptr;
    hsipc_endpoint* three = nullptr;
    ASSERT_OK(hsipc_endpoint_open(h1.get(), "one", &one));
    ASSERT_OK(hsipc_endpoint_open(h2.get(), "two", &two));
    ASSERT_OK(hsipc_endpoint_open(h2.get(), "three", &three));
    const hsipc_id id_two = hsipc_endpoint_id(two);
    // Two messages wait in "two" when its handle goes.
    for (int i = 0; i < 2; i++) {
        hsipc_off off;
        ASSERT_OK(hsipc_alloc(h1.get(), 8, &off));
        ASSERT_OK(hsipc_send_offset(one, id_two, off, 8));
    }
    EXPECT_EQ(total - 2, hsipc_test::count_free_buffers(h1.get(), 1));
    // A buffer held through h2: ownership is the process's, so it outlives
    // h2 while h1 remains.
    hsipc_off kept;
    ASSERT_OK(hsipc_alloc(h2.get(), 8, &kept));

    ASSERT_OK(h2.detach());  // closes "two" and "three"; do not touch them again
    EXPECT_NE(nullptr, hsipc_ptr(h1.get(), kept));
    EXPECT_OK(hsipc_release(h1.get(), kept));

    hsipc_id id;
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_lookup(h1.get(), "two", &id));
    EXPECT_STATUS(HSIPC_ENOENT, hsipc_lookup(h1.get(), "three", &id));
    ASSERT_OK(hsipc_lookup(h1.get(), "one", &id));
    EXPECT_EQ(hsipc_endpoint_id(one), id);
    EXPECT_EQ(total, hsipc_test::count_free_buffers(h1.get(), 1));
    hsipc_off off;
    ASSERT_OK(hsipc_alloc(h1.get(), 8, &off));
    EXPECT_STATUS(HSIPC_EPEER, hsipc_send_offset(one, id_two, off, 8));
    EXPECT_OK(hsipc_release(h1.get(), off));
    // The names are free again.
    hsipc_endpoint* again = nullptr;
    ASSERT_OK(hsipc_endpoint_open(h1.get(), "two", &again));
    EXPECT_NE(id_two, hsipc_endpoint_id(again));
    EXPECT_OK(hsipc_endpoint_close(again));
    EXPECT_OK(hsipc_endpoint_close(one));
}

}  // namespace
