/* SPDX-License-Identifier: MIT */
/*
 * A program built against an older hsipc.h keeps working with this library.
 *
 * It declares hsipc_config as the 0.1.0 development header did before
 * spin_ns (152 bytes) and binds hsipc_config_init@HSIPC_0, the version such
 * a program was linked with, then checks: that version writes exactly the
 * old size; hsipc_attach, hsipc_config_load and hsipc_region_config accept
 * the old struct_size and never touch a byte past it (canaries follow every
 * struct); a region created with it gets the default spin_ns and topic
 * limits; struct sizes the struct never had are refused; and a program of
 * today's header (hsipc_config_init@@HSIPC_0.1) gets and sets spin_ns,
 * max_topics and max_subscribers.
 *
 * Built twice: against the shared library, where the dynamic linker picks
 * the versions (also looked up with dlvsym and dlsym, as ctypes does), and
 * from C against the static library, which must resolve both the plain
 * name and the explicit old version. Exits 0 on success; otherwise prints
 * what failed to stderr and exits 1.
 */
#define _GNU_SOURCE /* dlvsym, RTLD_DEFAULT */

#include <hsipc.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef ABI_TEST_SHARED
#include <dlfcn.h>
#endif

/* The 0.1.0-development layout of hsipc_config, frozen for this test: what
 * a program compiled before spin_ns was appended has in its own memory.
 * Never change it; a later field gets a frozen copy of its own. */
typedef struct config_0_1_0_dev {
    uint32_t struct_size;
    uint32_t max_endpoints;
    uint32_t inbox_capacity;
    uint32_t pool_count;
    hsipc_pool_config pools[HSIPC_MAX_POOLS];
    uint32_t mode;
    uint32_t max_buffers_per_process;
} config_0_1_0_dev;

_Static_assert(sizeof(config_0_1_0_dev) == 152, "the old struct");
_Static_assert(offsetof(hsipc_config, spin_ns) == sizeof(config_0_1_0_dev), "spin_ns is appended");
_Static_assert(sizeof(hsipc_config) == 168, "the current struct");

/* What the old program calls hsipc_config_init: the version it was linked
 * with, bound by name so this program links it as the old one did. */
void old_config_init(config_0_1_0_dev *cfg);
__asm__(".symver old_config_init, hsipc_config_init@HSIPC_0");

#define CANARY 0xA5
#define CANARY_BYTES 64

/* An old caller's struct with bytes after it that no call may touch. */
struct old_with_canary {
    config_0_1_0_dev cfg;
    unsigned char canary[CANARY_BYTES];
};
struct new_with_canary {
    hsipc_config cfg;
    unsigned char canary[CANARY_BYTES];
};

static int failures;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                          \
        }                                                                        \
    } while (0)

#define CHECK_STATUS(expected, call)                                                                     \
    do {                                                                                                 \
        int rc_ = (call);                                                                                \
        if (rc_ != (expected)) {                                                                         \
            fprintf(stderr, "%s:%d: %s returned %d (%s), expected %s (%s)\n", __FILE__, __LINE__, #call, \
                    rc_, hsipc_strerror(rc_), #expected, hsipc_strerror(expected));                      \
            failures++;                                                                                  \
        }                                                                                                \
    } while (0)

static int canary_intact(const unsigned char *canary) {
    for (size_t i = 0; i < CANARY_BYTES; i++) {
        if (canary[i] != CANARY) return 0;
    }
    return 1;
}

static void old_fresh(struct old_with_canary *o) {
    memset(o, CANARY, sizeof *o);
    old_config_init(&o->cfg);
}

/* Small enough to create quickly: one pool of 64 B x 8, four endpoints. */
static void make_small(config_0_1_0_dev *c) {
    c->max_endpoints = 4;
    c->inbox_capacity = 8;
    c->pool_count = 1;
    c->pools[0].buffer_size = 64;
    c->pools[0].buffer_count = 8;
    for (int p = 1; p < HSIPC_MAX_POOLS; p++) memset(&c->pools[p], 0, sizeof c->pools[p]);
}

static void check_old_defaults(const config_0_1_0_dev *c) {
    CHECK(c->struct_size == 152);
    CHECK(c->max_endpoints == 64);
    CHECK(c->inbox_capacity == 1024);
    CHECK(c->pool_count == 3);
    CHECK(c->pools[0].buffer_size == 256 && c->pools[0].buffer_count == 4096);
    CHECK(c->pools[2].buffer_size == 4u << 20 && c->pools[2].buffer_count == 8);
    CHECK(c->pools[3].buffer_size == 0 && c->pools[3].buffer_count == 0);
    CHECK(c->mode == 0600);
    CHECK(c->max_buffers_per_process == 0);
}

/* hsipc_config_init@HSIPC_0 writes the old struct's 152 bytes, no more. */
static void test_old_init(void) {
    struct old_with_canary o;
    old_fresh(&o);
    check_old_defaults(&o.cfg);
    CHECK(canary_intact(o.canary));
    old_config_init(NULL); /* ignored, as ever */
}

/* An old caller creates a region: it gets the default spin. */
static void test_old_attach(const char *name) {
    struct old_with_canary o;
    old_fresh(&o);
    make_small(&o.cfg);
    hsipc_region *r = NULL;
    CHECK_STATUS(HSIPC_OK, hsipc_attach(name, (const hsipc_config *)&o.cfg, &r));
    CHECK(canary_intact(o.canary));
    if (!r) return;

    /* Read back by an old caller: 152 bytes, struct_size kept. */
    struct old_with_canary got;
    memset(&got, CANARY, sizeof got);
    got.cfg.struct_size = sizeof got.cfg;
    CHECK_STATUS(HSIPC_OK, hsipc_region_config(r, (hsipc_config *)&got.cfg));
    CHECK(got.cfg.struct_size == 152);
    CHECK(got.cfg.max_endpoints == 4);
    CHECK(got.cfg.inbox_capacity == 8);
    CHECK(got.cfg.pool_count == 1 && got.cfg.pools[0].buffer_size == 64 && got.cfg.pools[0].buffer_count == 8);
    CHECK(got.cfg.mode == 0600);
    CHECK(canary_intact(got.canary));

    /* Read back by a new caller: the spin is the default. */
    struct new_with_canary now;
    memset(&now, CANARY, sizeof now);
    hsipc_config_init(&now.cfg);
    CHECK_STATUS(HSIPC_OK, hsipc_region_config(r, &now.cfg));
    CHECK(now.cfg.struct_size == sizeof(hsipc_config));
    CHECK(now.cfg.spin_ns == 50000);
    CHECK(now.cfg.max_topics == 64 && now.cfg.max_subscribers == 16);
    CHECK(now.cfg.max_endpoints == 4);
    CHECK(canary_intact(now.canary));

    /* The region works for it. */
    hsipc_endpoint *ep = NULL;
    CHECK_STATUS(HSIPC_OK, hsipc_endpoint_open(r, "old", &ep));
    if (ep) {
        hsipc_off off;
        hsipc_msg msg;
        CHECK_STATUS(HSIPC_OK, hsipc_alloc(r, 16, &off));
        CHECK_STATUS(HSIPC_OK, hsipc_send_offset(ep, hsipc_endpoint_id(ep), off, 16));
        CHECK_STATUS(HSIPC_OK, hsipc_poll(ep, &msg, 1000000));
        CHECK_STATUS(HSIPC_OK, hsipc_release(r, msg.off));
        CHECK_STATUS(HSIPC_EAGAIN, hsipc_poll(ep, &msg, 1000)); /* a short wait on the region's spin */
        CHECK_STATUS(HSIPC_OK, hsipc_endpoint_close(ep));
    }
    CHECK_STATUS(HSIPC_OK, hsipc_detach(r));
    CHECK_STATUS(HSIPC_OK, hsipc_unlink(name));
}

/* hsipc_config_load with the old struct: keys it has are applied, spin_ns
 * (which it lacks) is checked and dropped, and nothing past it is written. */
static void test_old_load(void) {
    char path[] = "/tmp/hsipc-abi-compat-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    const char text[] = "max_endpoints = 5\nspin_ns = 7us\n";
    CHECK(write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1));
    close(fd);

    struct old_with_canary o;
    old_fresh(&o);
    CHECK_STATUS(HSIPC_OK, hsipc_config_load((hsipc_config *)&o.cfg, path));
    CHECK(o.cfg.struct_size == 152);
    CHECK(o.cfg.max_endpoints == 5);
    CHECK(o.cfg.inbox_capacity == 1024);
    CHECK(canary_intact(o.canary));

    /* The same file into today's struct carries spin_ns. */
    struct new_with_canary n;
    memset(&n, CANARY, sizeof n);
    hsipc_config_init(&n.cfg);
    CHECK_STATUS(HSIPC_OK, hsipc_config_load(&n.cfg, path));
    CHECK(n.cfg.max_endpoints == 5);
    CHECK(n.cfg.spin_ns == 7000);
    CHECK(canary_intact(n.canary));

    /* Out of range is refused for the old caller too, struct unchanged. */
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("max_endpoints = 6\nspin_ns = 2s\n", f);
        fclose(f);
    }
    struct old_with_canary before = o;
    CHECK_STATUS(HSIPC_EINVAL, hsipc_config_load((hsipc_config *)&o.cfg, path));
    CHECK(memcmp(&before, &o, sizeof o) == 0);
    unlink(path);
}

/* A size the struct never had is refused by every function, which then
 * writes nothing. */
static void test_unknown_sizes(const char *name) {
    static const uint32_t sizes[] = {0, 4, 148, 156, 160, 164, 176, 0xFFFFFFFFu};
    hsipc_region *r = NULL;
    hsipc_config c;
    hsipc_config_init(&c);
    c.max_endpoints = 4;
    c.pool_count = 1;
    for (int p = 1; p < HSIPC_MAX_POOLS; p++) memset(&c.pools[p], 0, sizeof c.pools[p]);
    CHECK_STATUS(HSIPC_OK, hsipc_attach(name, &c, &r));
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        struct new_with_canary n;
        memset(&n, CANARY, sizeof n);
        n.cfg.struct_size = sizes[i];
        struct new_with_canary before = n;
        hsipc_region *other = NULL;
        CHECK_STATUS(HSIPC_EINVAL, hsipc_attach("abi-compat-never-made", &n.cfg, &other));
        CHECK_STATUS(HSIPC_EINVAL, hsipc_config_load(&n.cfg, "/nonexistent"));
        if (r) CHECK_STATUS(HSIPC_EINVAL, hsipc_region_config(r, &n.cfg));
        CHECK(memcmp(&before, &n, sizeof n) == 0);
        CHECK(other == NULL);
    }
    if (r) {
        CHECK_STATUS(HSIPC_OK, hsipc_detach(r));
        CHECK_STATUS(HSIPC_OK, hsipc_unlink(name));
    }
}

/* Today's callers: the default version writes spin_ns and the topic
 * limits, and a region keeps what they set. */
static void test_new_caller(const char *name) {
    struct new_with_canary n;
    memset(&n, CANARY, sizeof n);
    hsipc_config_init(&n.cfg);
    CHECK(n.cfg.struct_size == 168);
    CHECK(n.cfg.spin_ns == 50000);
    CHECK(n.cfg.max_topics == 64 && n.cfg.max_subscribers == 16);
    CHECK(canary_intact(n.canary));
    n.cfg.max_endpoints = 4;
    n.cfg.pool_count = 1;
    for (int p = 1; p < HSIPC_MAX_POOLS; p++) memset(&n.cfg.pools[p], 0, sizeof n.cfg.pools[p]);

    hsipc_region *r = NULL;
    n.cfg.spin_ns = -1;
    CHECK_STATUS(HSIPC_EINVAL, hsipc_attach(name, &n.cfg, &r));
    n.cfg.spin_ns = 1000000001;
    CHECK_STATUS(HSIPC_EINVAL, hsipc_attach(name, &n.cfg, &r));
    n.cfg.spin_ns = 0;
    n.cfg.max_subscribers = 65;
    CHECK_STATUS(HSIPC_EINVAL, hsipc_attach(name, &n.cfg, &r));
    n.cfg.max_subscribers = 3;
    n.cfg.max_topics = 4097;
    CHECK_STATUS(HSIPC_EINVAL, hsipc_attach(name, &n.cfg, &r));
    n.cfg.max_topics = 2;
    CHECK_STATUS(HSIPC_OK, hsipc_attach(name, &n.cfg, &r));
    if (!r) return;
    hsipc_config got;
    hsipc_config_init(&got);
    got.spin_ns = 12345;
    CHECK_STATUS(HSIPC_OK, hsipc_region_config(r, &got));
    CHECK(got.spin_ns == 0);
    CHECK(got.max_topics == 2 && got.max_subscribers == 3);
    CHECK(got.max_endpoints == 4);
    /* An old caller's view of the same region. */
    struct old_with_canary o;
    old_fresh(&o);
    CHECK_STATUS(HSIPC_OK, hsipc_region_config(r, (hsipc_config *)&o.cfg));
    CHECK(o.cfg.struct_size == 152 && o.cfg.max_endpoints == 4);
    CHECK(canary_intact(o.canary));
    CHECK_STATUS(HSIPC_OK, hsipc_detach(r));
    CHECK_STATUS(HSIPC_OK, hsipc_unlink(name));
}

#ifdef ABI_TEST_SHARED
/* The versions as the dynamic linker sees them; dlsym (what ctypes and
 * other FFIs use) finds the default, today's. */
typedef void (*init_fn)(void *);

/* A symbol as a function (POSIX lets a data pointer hold one; ISO C has no
 * cast between them, so copy the bytes). */
static init_fn as_init_fn(void *symbol) {
    init_fn f;
    memcpy(&f, &symbol, sizeof f);
    return f;
}

static void test_dynamic_lookup(void) {
    init_fn v0 = as_init_fn(dlvsym(RTLD_DEFAULT, "hsipc_config_init", "HSIPC_0"));
    init_fn v01 = as_init_fn(dlvsym(RTLD_DEFAULT, "hsipc_config_init", "HSIPC_0.1"));
    init_fn plain = as_init_fn(dlsym(RTLD_DEFAULT, "hsipc_config_init"));
    CHECK(v0 != NULL && v01 != NULL && plain != NULL);
    if (!v0 || !v01 || !plain) return;
    CHECK(v0 != v01);
    CHECK(plain == v01);
    struct old_with_canary o;
    memset(&o, CANARY, sizeof o);
    v0(&o.cfg);
    check_old_defaults(&o.cfg);
    CHECK(canary_intact(o.canary));
    struct new_with_canary n;
    memset(&n, CANARY, sizeof n);
    v01(&n.cfg);
    CHECK(n.cfg.struct_size == 168 && n.cfg.spin_ns == 50000 && n.cfg.max_subscribers == 16);
    CHECK(canary_intact(n.canary));
}
#endif

int main(void) {
    char name[HSIPC_NAME_MAX + 1];
    snprintf(name, sizeof name, "abi-compat-%ld", (long)getpid());
    hsipc_unlink(name);

    test_old_init();
    test_old_attach(name);
    test_old_load();
    test_unknown_sizes(name);
    test_new_caller(name);
#ifdef ABI_TEST_SHARED
    test_dynamic_lookup();
#endif

    hsipc_unlink(name);
    if (failures) {
        fprintf(stderr, "abi_compat_test: %d check(s) failed\n", failures);
        return 1;
    }
    printf("abi_compat_test: old and new hsipc_config callers work\n");
    return 0;
}
