/* SPDX-License-Identifier: MIT */
/*
 * The public header as strict C11 (-std=c11 -pedantic -Werror -Wall -Wextra):
 * every macro expanded, every type used, and every function called once
 * through the shared library in a real round trip. Exits 0 on success;
 * otherwise prints what failed to stderr and exits 1.
 */
#define _POSIX_C_SOURCE 200809L

#include <hsipc.h>

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- Compile-time checks ------------------------------------------------- */

_Static_assert(sizeof(hsipc_off) == 8, "hsipc_off is 64 bits");
_Static_assert(sizeof(hsipc_id) == 4, "hsipc_id is 32 bits");
_Static_assert((hsipc_off)-1 > 0, "hsipc_off is unsigned");
_Static_assert((hsipc_id)-1 > 0, "hsipc_id is unsigned");
_Static_assert(sizeof(hsipc_pool_config) == 16, "hsipc_pool_config size");
_Static_assert(offsetof(hsipc_pool_config, buffer_count) == 8, "hsipc_pool_config.buffer_count");
_Static_assert(offsetof(hsipc_pool_config, reserved) == 12, "hsipc_pool_config.reserved");
_Static_assert(sizeof(hsipc_config) == 168, "hsipc_config size");
_Static_assert(offsetof(hsipc_config, pools) == 16, "hsipc_config.pools");
_Static_assert(offsetof(hsipc_config, mode) == 144, "hsipc_config.mode");
_Static_assert(offsetof(hsipc_config, spin_ns) == 152, "hsipc_config.spin_ns");
_Static_assert(offsetof(hsipc_config, max_topics) == 160, "hsipc_config.max_topics");
_Static_assert(offsetof(hsipc_config, max_subscribers) == 164, "hsipc_config.max_subscribers");
_Static_assert(sizeof(hsipc_msg) == 32, "hsipc_msg size");
_Static_assert(offsetof(hsipc_msg, from) == 16, "hsipc_msg.from");
_Static_assert(offsetof(hsipc_msg, data) == 24, "hsipc_msg.data");
_Static_assert(HSIPC_MAX_POOLS == 8, "HSIPC_MAX_POOLS");
_Static_assert(HSIPC_NAME_MAX == 63, "HSIPC_NAME_MAX");
_Static_assert(HSIPC_FOREVER == -1, "HSIPC_FOREVER");
_Static_assert(HSIPC_VERSION == ((HSIPC_VERSION_MAJOR << 16) | (HSIPC_VERSION_MINOR << 8) | HSIPC_VERSION_PATCH),
               "HSIPC_VERSION");
_Static_assert(sizeof(((hsipc_config *)0)->pools) / sizeof(hsipc_pool_config) == HSIPC_MAX_POOLS,
               "hsipc_config.pools holds HSIPC_MAX_POOLS");

/* The export/linkage macros expand to nothing usable-breaking in a C client. */
HSIPC_API const char *hsipc_strerror(int status) HSIPC_NOEXCEPT;

/* ---- The status table, built with our own X-macro -------------------------- */

struct status_row {
    enum hsipc_status code;
    int value;
    const char *name;
    const char *sentence;
};

#define C11_TEST_ROW(name, value, sentence) {name, value, #name, sentence},
static const struct status_row status_rows[] = {HSIPC_STATUS_MAP(C11_TEST_ROW)};
#undef C11_TEST_ROW

#define STATUS_COUNT (sizeof status_rows / sizeof status_rows[0])
_Static_assert(sizeof status_rows / sizeof status_rows[0] == 15, "HSIPC_STATUS_MAP has 15 entries");

static const int explicit_codes[] = {
    HSIPC_OK,       HSIPC_EINVAL, HSIPC_ENOENT,   HSIPC_EEXIST,   HSIPC_ENOMEM,
    HSIPC_EFULL,    HSIPC_EAGAIN, HSIPC_EBADOFF,  HSIPC_EPEER,    HSIPC_EVERSION,
    HSIPC_ECORRUPT, HSIPC_EPERM,  HSIPC_ETOOBIG,  HSIPC_ESYS,     HSIPC_EINTR,
};
_Static_assert(sizeof explicit_codes / sizeof explicit_codes[0] == 15, "every status code");

/* ---- Checking ----------------------------------------------------------------- */

static int failures;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);  \
            failures++;                                                               \
        }                                                                             \
    } while (0)

/* Like CHECK, for a status, and jumps to `done` on failure. */
#define REQUIRE_STATUS(expected, call)                                                      \
    do {                                                                                    \
        int rc_ = (call);                                                                   \
        if (rc_ != (expected)) {                                                            \
            fprintf(stderr, "%s:%d: %s returned %d (%s), expected %s\n", __FILE__, __LINE__, \
                    #call, rc_, hsipc_strerror(rc_), #expected);                             \
            failures++;                                                                     \
            goto done;                                                                      \
        }                                                                                   \
    } while (0)

static void check_statuses(void) {
    size_t i, j;
    CHECK(STATUS_COUNT == 15);
    for (i = 0; i < STATUS_COUNT; i++) {
        const char *s = hsipc_strerror(status_rows[i].code);
        CHECK((int)status_rows[i].code == status_rows[i].value);
        CHECK(status_rows[i].value == explicit_codes[i]);
        CHECK(status_rows[i].value == -(int)i);
        CHECK(s != NULL && strcmp(s, status_rows[i].sentence) == 0);
        CHECK(status_rows[i].name[0] == 'H');
        for (j = 0; j < i; j++) CHECK(strcmp(status_rows[i].sentence, status_rows[j].sentence) != 0);
    }
    CHECK(HSIPC_OK == 0);
    CHECK(HSIPC_EINVAL == -1);
    CHECK(HSIPC_ENOENT == -2);
    CHECK(HSIPC_EEXIST == -3);
    CHECK(HSIPC_ENOMEM == -4);
    CHECK(HSIPC_EFULL == -5);
    CHECK(HSIPC_EAGAIN == -6);
    CHECK(HSIPC_EBADOFF == -7);
    CHECK(HSIPC_EPEER == -8);
    CHECK(HSIPC_EVERSION == -9);
    CHECK(HSIPC_ECORRUPT == -10);
    CHECK(HSIPC_EPERM == -11);
    CHECK(HSIPC_ETOOBIG == -12);
    CHECK(HSIPC_ESYS == -13);
    CHECK(HSIPC_EINTR == -14);
    CHECK(hsipc_strerror(1) != NULL);
    CHECK(hsipc_strerror(-14) != NULL);
    CHECK(hsipc_strerror(INT_MIN) != NULL);
    CHECK(hsipc_strerror(INT_MAX) != NULL);
}

static void round_trip(void) {
    char name[HSIPC_NAME_MAX + 1];
    static const char payload[] = "hello from C11";
    hsipc_config cfg;
    hsipc_config got;
    hsipc_pool_config pool;
    hsipc_region *r = NULL;
    hsipc_endpoint *ep = NULL;
    hsipc_id id = 0;
    hsipc_off off = 0;
    hsipc_msg msg;
    void *p;
    int reaped;
    int unlinked = 0;

    snprintf(name, sizeof name, "c11-%ld", (long)getpid());

    hsipc_config_init(&cfg);
    CHECK(cfg.struct_size == sizeof(hsipc_config));
    CHECK(cfg.pool_count == 3 && cfg.mode == 0600);
    pool.buffer_size = 256;
    pool.buffer_count = 16;
    pool.reserved = 0;
    memset(cfg.pools, 0, sizeof cfg.pools);
    cfg.pools[0] = pool;
    cfg.pool_count = 1;
    cfg.max_endpoints = 4;
    cfg.inbox_capacity = 5;

    (void)hsipc_unlink(name); /* a leftover of an earlier, crashed run */
    REQUIRE_STATUS(HSIPC_OK, hsipc_attach(name, &cfg, &r));

    hsipc_config_init(&got);
    REQUIRE_STATUS(HSIPC_OK, hsipc_region_config(r, &got));
    CHECK(got.max_endpoints == 4);
    CHECK(got.inbox_capacity == 8);
    CHECK(got.pool_count == 1);
    CHECK(got.pools[0].buffer_size == 256 && got.pools[0].buffer_count == 16);

    REQUIRE_STATUS(HSIPC_OK, hsipc_endpoint_open(r, "c11-endpoint", &ep));
    CHECK(hsipc_endpoint_id(ep) != 0);
    REQUIRE_STATUS(HSIPC_OK, hsipc_lookup(r, "c11-endpoint", &id));
    REQUIRE_STATUS(HSIPC_OK, hsipc_lookup_wait(r, "c11-endpoint", 0, &id));
    REQUIRE_STATUS(HSIPC_ENOENT, hsipc_lookup_wait(r, "c11-nobody", 1000, &id));
    REQUIRE_STATUS(HSIPC_OK, hsipc_endpoint_set_spin(ep, 0));
    REQUIRE_STATUS(HSIPC_EINVAL, hsipc_endpoint_set_spin(ep, -1));
    CHECK(id == hsipc_endpoint_id(ep));

    REQUIRE_STATUS(HSIPC_OK, hsipc_alloc(r, sizeof payload, &off));
    CHECK(off != 0);
    p = hsipc_ptr(r, off);
    CHECK(p != NULL);
    CHECK(hsipc_capacity(r, off) >= sizeof payload);
    if (p == NULL) goto done;
    memcpy(p, payload, sizeof payload);

    REQUIRE_STATUS(HSIPC_OK, hsipc_send_offset(ep, id, off, sizeof payload));
    REQUIRE_STATUS(HSIPC_OK, hsipc_poll(ep, &msg, HSIPC_FOREVER)); /* already queued: returns at once */
    CHECK(msg.off == off);
    CHECK(msg.length == sizeof payload);
    CHECK(msg.from == id);
    CHECK(msg.data != NULL && memcmp(msg.data, payload, sizeof payload) == 0);
    REQUIRE_STATUS(HSIPC_EAGAIN, hsipc_poll(ep, &msg, 0));
    {
        size_t count = 0;
        REQUIRE_STATUS(HSIPC_EAGAIN, hsipc_poll_many(ep, &msg, 1, 0, &count));
        CHECK(count == 0);
        REQUIRE_STATUS(HSIPC_EAGAIN, hsipc_poll_batch(ep, &msg, 1, 0, 1000, &count));
        CHECK(count == 0);
    }
    REQUIRE_STATUS(HSIPC_OK, hsipc_release(r, off));
    REQUIRE_STATUS(HSIPC_EBADOFF, hsipc_release(r, off));

    reaped = hsipc_reap(r);
    CHECK(reaped == 0);

    {
        hsipc_pool_stats ps;
        hsipc_endpoint_info info;
        hsipc_region *again = NULL;
        ps.struct_size = sizeof ps;
        REQUIRE_STATUS(HSIPC_OK, hsipc_region_pool_stats(r, 0, &ps));
        CHECK(ps.free_count == ps.buffer_count);
        info.struct_size = sizeof info;
        CHECK(hsipc_region_endpoint_info(r, 0, &info) == HSIPC_OK ? info.owner_alive == 1 : 1);
        REQUIRE_STATUS(HSIPC_OK, hsipc_attach_existing(name, &again));
        REQUIRE_STATUS(HSIPC_OK, hsipc_detach(again));
    }

    REQUIRE_STATUS(HSIPC_OK, hsipc_endpoint_close(ep));
    ep = NULL;
    REQUIRE_STATUS(HSIPC_ENOENT, hsipc_lookup(r, "c11-endpoint", &id));
    REQUIRE_STATUS(HSIPC_OK, hsipc_detach(r));
    r = NULL;
    REQUIRE_STATUS(HSIPC_OK, hsipc_unlink(name));
    unlinked = 1;
    REQUIRE_STATUS(HSIPC_ENOENT, hsipc_unlink(name));

done:
    if (ep) hsipc_endpoint_close(ep);
    if (r) hsipc_detach(r);
    if (!unlinked) hsipc_unlink(name);
}

static void check_config_load(void) {
    hsipc_config cfg;
    hsipc_config before;
    int rc;
    hsipc_config_init(&cfg);
    memcpy(&before, &cfg, sizeof cfg);
    rc = hsipc_config_load(&cfg, "/nonexistent-hsipc-c11-dir/none.conf");
    if (rc != HSIPC_ENOENT) {
        fprintf(stderr, "hsipc_config_load on a missing path returned %d (%s)\n", rc, hsipc_strerror(rc));
        failures++;
    }
    CHECK(memcmp(&before, &cfg, sizeof cfg) == 0);
}

int main(void) {
    uint32_t v = hsipc_version();
    int64_t forever = HSIPC_FOREVER;

    CHECK(v == HSIPC_VERSION);
    CHECK((v >> 16) == HSIPC_VERSION_MAJOR);
    CHECK(((v >> 8) & 0xffu) == HSIPC_VERSION_MINOR);
    CHECK((v & 0xffu) == HSIPC_VERSION_PATCH);
    CHECK(forever == -1);

    check_statuses();
    round_trip();
    check_config_load();

    if (failures != 0) {
        fprintf(stderr, "header_c11_test: %d check(s) failed\n", failures);
        return 1;
    }
    return 0;
}
