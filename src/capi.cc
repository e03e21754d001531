// SPDX-License-Identifier: MIT
// The C ABI: checks arguments, calls the core, and lets nothing escape.
// Every function catches all exceptions (the core throws only std::bad_alloc
// from containers, which becomes HSIPC_ENOMEM).
#include "hsipc.h"

#include "config.h"
#include "event_fd.h"
#include "message.h"
#include "naming.h"
#include "pool.h"
#include "reap.h"
#include "region.h"
#include "stats.h"
#include "topic.h"

using hsipc::Endpoint;
using hsipc::Region;

namespace {

template <class F>
int guarded(F body) noexcept {
    try {
        return body();
    } catch (...) {
        return HSIPC_ENOMEM;
    }
}

// The opaque C handles are the core's objects; the C types stay incomplete.
Region* core(hsipc_region* r) { return reinterpret_cast<Region*>(r); }
Endpoint* core(hsipc_endpoint* ep) { return reinterpret_cast<Endpoint*>(ep); }

}  // namespace

// ---- Symbol versions ------------------------------------------------------
// hsipc_config_init cannot tell how large the caller's struct is, so each
// size hsipc_config has had (config.h, kConfigSizes) has its own version of
// it: a program binds the version that was the default when it was linked
// and keeps it. Each is a function under an assembler name of its own,
// outside hsipc_* (the version script exports hsipc_* and hides the rest),
// bound to the versioned name hsipc_config_init@NODE; "@@" marks the default,
// which new links, static ones included, resolve hsipc_config_init to.
// GCC's symver attribute survives link-time optimization, which a top-level
// .symver does not; compilers without the attribute (clang) get the
// directive, which names the function the same way.
#ifdef __has_attribute
#if __has_attribute(symver)
#define HSIPC_SYMVER_ATTRIBUTE 1
#endif
#endif
#ifdef HSIPC_SYMVER_ATTRIBUTE
#define HSIPC_SYMVER(versioned) __attribute__((symver(versioned)))
#else
#define HSIPC_SYMVER(versioned)
#endif

namespace hsipc::abi {

// HSIPC_0: hsipc_config up to max_buffers_per_process (152 bytes), as the
// 0.1.0 development headers before spin_ns declared it.
HSIPC_SYMVER("hsipc_config_init@HSIPC_0")
HSIPC_API void config_init_HSIPC_0(hsipc_config* cfg) noexcept __asm__("_hsipc_config_init_HSIPC_0");
void config_init_HSIPC_0(hsipc_config* cfg) noexcept {
    if (cfg) hsipc::config_defaults_sized(cfg, hsipc::kConfigSizeBeforeSpin);
}

// HSIPC_0.1, the default: the whole struct of this header, with spin_ns and
// the topic limits.
HSIPC_SYMVER("hsipc_config_init@@HSIPC_0.1")
HSIPC_API void config_init_HSIPC_0_1(hsipc_config* cfg) noexcept __asm__("_hsipc_config_init_HSIPC_0_1");
void config_init_HSIPC_0_1(hsipc_config* cfg) noexcept {
    if (cfg) hsipc::config_defaults(cfg);
}
static_assert(sizeof hsipc::kConfigSizes / sizeof hsipc::kConfigSizes[0] == 2,
              "every size of hsipc_config has a version of hsipc_config_init here");

}  // namespace hsipc::abi

#ifndef HSIPC_SYMVER_ATTRIBUTE
__asm__(".symver _hsipc_config_init_HSIPC_0, hsipc_config_init@HSIPC_0");
__asm__(".symver _hsipc_config_init_HSIPC_0_1, hsipc_config_init@@HSIPC_0.1");
#endif

extern "C" {

HSIPC_API const char* hsipc_strerror(int status) noexcept {
#define HSIPC_STATUS_CASE_(name, value, sentence) \
    case value:                                   \
        return sentence;
    switch (status) {
        HSIPC_STATUS_MAP(HSIPC_STATUS_CASE_)
        default:
            return "unknown hsipc status code";
    }
#undef HSIPC_STATUS_CASE_
}

HSIPC_API uint32_t hsipc_version(void) noexcept { return HSIPC_VERSION; }

// hsipc_config_init: see "Symbol versions" above. The functions below that
// take a hsipc_config accept every size it has had (config_import,
// config_export) and never touch a byte past the caller's struct_size.

HSIPC_API int hsipc_config_load(hsipc_config* cfg, const char* path) noexcept {
    if (!cfg || !path) return HSIPC_EINVAL;
    return guarded([&] {
        hsipc_config full;
        int rc = hsipc::config_import(cfg, &full);
        if (rc == HSIPC_OK) rc = hsipc::config_load_file(&full, path);
        if (rc == HSIPC_OK) hsipc::config_export(full, cfg);
        return rc;
    });
}

HSIPC_API int hsipc_attach(const char* name, const hsipc_config* cfg, hsipc_region** out) noexcept {
    if (!name || !out) return HSIPC_EINVAL;
    hsipc_config full;
    if (cfg && hsipc::config_import(cfg, &full) != HSIPC_OK) return HSIPC_EINVAL;
    return guarded([&] {
        Region* r;
        int rc = hsipc::region_attach(name, cfg ? &full : nullptr, hsipc::AttachMode::kCreateIfMissing, &r);
        if (rc == HSIPC_OK) *out = reinterpret_cast<hsipc_region*>(r);
        return rc;
    });
}

HSIPC_API int hsipc_attach_existing(const char* name, hsipc_region** out) noexcept {
    if (!name || !out) return HSIPC_EINVAL;
    return guarded([&] {
        Region* r;
        int rc = hsipc::region_attach(name, nullptr, hsipc::AttachMode::kExistingOnly, &r);
        if (rc == HSIPC_OK) *out = reinterpret_cast<hsipc_region*>(r);
        return rc;
    });
}

HSIPC_API int hsipc_detach(hsipc_region* r) noexcept {
    if (!r) return HSIPC_EINVAL;
    return guarded([&] { return hsipc::region_detach(core(r)); });
}

HSIPC_API int hsipc_unlink(const char* name) noexcept {
    if (!name) return HSIPC_EINVAL;
    return guarded([&] { return hsipc::region_unlink(name); });
}

HSIPC_API int hsipc_region_config(hsipc_region* r, hsipc_config* out) noexcept {
    if (!r || !out || !hsipc::config_size_known(hsipc::config_struct_size(out))) return HSIPC_EINVAL;
    hsipc_config full;
    hsipc::config_from_stored(core(r)->layout.config, &full);
    hsipc::config_export(full, out);
    return HSIPC_OK;
}

HSIPC_API int hsipc_region_pool_stats(hsipc_region* r, uint32_t pool, hsipc_pool_stats* out) noexcept {
    if (!r || !out || out->struct_size != sizeof(hsipc_pool_stats) || pool >= core(r)->layout.config.pool_count) {
        return HSIPC_EINVAL;
    }
    hsipc::pool_stats(*core(r), pool, out);
    return HSIPC_OK;
}

HSIPC_API int hsipc_region_endpoint_info(hsipc_region* r, uint32_t slot, hsipc_endpoint_info* out) noexcept {
    if (!r || !out || out->struct_size != sizeof(hsipc_endpoint_info) || slot >= core(r)->max_endpoints()) {
        return HSIPC_EINVAL;
    }
    return guarded([&] { return hsipc::endpoint_info(*core(r), slot, out); });
}

HSIPC_API int hsipc_region_topic_info(hsipc_region* r, uint32_t slot, hsipc_topic_info* out) noexcept {
    if (!r || !out || out->struct_size != sizeof(hsipc_topic_info) || slot >= core(r)->max_topics()) {
        return HSIPC_EINVAL;
    }
    return guarded([&] { return hsipc::topic_info(*core(r), slot, out); });
}

HSIPC_API int hsipc_endpoint_open(hsipc_region* r, const char* name, hsipc_endpoint** out) noexcept {
    if (!r || !name || !out) return HSIPC_EINVAL;
    return guarded([&] {
        Endpoint* ep;
        int rc = hsipc::endpoint_open(*core(r), name, &ep);
        if (rc == HSIPC_OK) *out = reinterpret_cast<hsipc_endpoint*>(ep);
        return rc;
    });
}

HSIPC_API int hsipc_endpoint_close(hsipc_endpoint* ep) noexcept {
    if (!ep) return HSIPC_EINVAL;
    return guarded([&] { return hsipc::endpoint_close(core(ep)); });
}

HSIPC_API hsipc_id hsipc_endpoint_id(const hsipc_endpoint* ep) noexcept { return ep ? reinterpret_cast<const Endpoint*>(ep)->id : 0; }

HSIPC_API int hsipc_lookup(hsipc_region* r, const char* name, hsipc_id* out) noexcept {
    if (!r || !name || !out) return HSIPC_EINVAL;
    return guarded([&] { return hsipc::endpoint_lookup(*core(r), name, out); });
}

HSIPC_API int hsipc_lookup_wait(hsipc_region* r, const char* name, int64_t timeout_ns, hsipc_id* out) noexcept {
    if (!r || !name || !out) return HSIPC_EINVAL;
    return guarded([&] { return hsipc::endpoint_lookup_wait(*core(r), name, timeout_ns, out); });
}

HSIPC_API int hsipc_endpoint_set_spin(hsipc_endpoint* ep, int64_t spin_ns) noexcept {
    if (!ep || spin_ns < 0) return HSIPC_EINVAL;
    core(ep)->spin_ns.store(spin_ns, std::memory_order_relaxed);  // relaxed: see Endpoint::spin_ns
    return HSIPC_OK;
}

HSIPC_API int hsipc_endpoint_fd(hsipc_endpoint* ep, int* fd) noexcept {
    if (!ep || !fd) return HSIPC_EINVAL;
    return guarded([&] { return hsipc::endpoint_fd(*core(ep), fd); });
}

HSIPC_API int hsipc_endpoint_arm(hsipc_endpoint* ep) noexcept {
    if (!ep) return HSIPC_EINVAL;
    return guarded([&] { return hsipc::endpoint_arm(*core(ep)); });
}

HSIPC_API int hsipc_alloc(hsipc_region* r, size_t size, hsipc_off* out) noexcept {
    if (!r || !out) return HSIPC_EINVAL;
    return guarded([&] { return hsipc::pool_alloc(*core(r), size, out); });
}

HSIPC_API void* hsipc_ptr(hsipc_region* r, hsipc_off off) noexcept {
    uint32_t index;
    if (!r || hsipc::readable_buffer(*core(r), off, &index) != HSIPC_OK) return nullptr;
    return core(r)->base + off;
}

HSIPC_API size_t hsipc_capacity(hsipc_region* r, hsipc_off off) noexcept {
    uint32_t index;
    if (!r || hsipc::readable_buffer(*core(r), off, &index) != HSIPC_OK) return 0;
    return size_t(hsipc::buffer_capacity(core(r)->layout, index));
}

HSIPC_API int hsipc_send_offset(hsipc_endpoint* from, hsipc_id to, hsipc_off off, size_t length) noexcept {
    if (!from) return HSIPC_EINVAL;
    return hsipc::message_send(*core(from), to, off, length);  // allocates nothing, cannot throw
}

HSIPC_API int hsipc_poll(hsipc_endpoint* ep, hsipc_msg* msg, int64_t timeout_ns) noexcept {
    if (!ep || !msg) return HSIPC_EINVAL;
    return hsipc::message_poll(*core(ep), msg, timeout_ns);  // allocates nothing, cannot throw
}

HSIPC_API int hsipc_poll_many(hsipc_endpoint* ep, hsipc_msg* msgs, size_t max, int64_t timeout_ns,
                              size_t* count) noexcept {
    if (!ep || !msgs || max == 0 || !count) return HSIPC_EINVAL;
    return hsipc::message_poll_many(*core(ep), msgs, max, timeout_ns, count);  // cannot throw
}

HSIPC_API int hsipc_poll_batch(hsipc_endpoint* ep, hsipc_msg* msgs, size_t max, int64_t timeout_ns,
                               int64_t linger_ns, size_t* count) noexcept {
    if (!ep || !msgs || max == 0 || !count) return HSIPC_EINVAL;
    return hsipc::message_poll_batch(*core(ep), msgs, max, timeout_ns, linger_ns, count);  // cannot throw
}

HSIPC_API int hsipc_release(hsipc_region* r, hsipc_off off) noexcept {
    if (!r) return HSIPC_EINVAL;
    return hsipc::pool_release(*core(r), off);
}

HSIPC_API int hsipc_topic_open(hsipc_region* r, const char* name, hsipc_id* out) noexcept {
    if (!r || !name || !out) return HSIPC_EINVAL;
    return guarded([&] { return hsipc::topic_open(*core(r), name, out); });
}

HSIPC_API int hsipc_subscribe(hsipc_endpoint* ep, const char* topic) noexcept {
    if (!ep || !topic) return HSIPC_EINVAL;
    return guarded([&] { return hsipc::topic_subscribe(*core(ep), topic); });
}

HSIPC_API int hsipc_unsubscribe(hsipc_endpoint* ep, const char* topic) noexcept {
    if (!ep || !topic) return HSIPC_EINVAL;
    return guarded([&] { return hsipc::topic_unsubscribe(*core(ep), topic); });
}

HSIPC_API int hsipc_publish(hsipc_endpoint* from, hsipc_id topic, hsipc_off off, size_t length,
                            uint32_t* delivered, uint32_t* skipped) noexcept {
    if (!from || !delivered) return HSIPC_EINVAL;
    return guarded([&] { return hsipc::message_publish(*core(from), topic, off, length, delivered, skipped); });
}

HSIPC_API int hsipc_reap(hsipc_region* r) noexcept {
    if (!r) return HSIPC_EINVAL;
    return guarded([&] { return hsipc::reap(*core(r)); });
}

}  // extern "C"
