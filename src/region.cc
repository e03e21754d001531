// SPDX-License-Identifier: MIT
#include "region.h"

#include <cerrno>
#include <cstring>
#include <string>

#include "config.h"
#include "event_fd.h"
#include "liveness.h"
#include "naming.h"
#include "os.h"

namespace hsipc {
namespace {

constexpr int64_t kAttachTimeoutNs = 10'000'000'000;

std::string object_path(const char* name) { return os::shm_path((std::string("hsipc.") + name).c_str()); }

int status_from_errno(int err) {
    switch (err) {
        case ENOENT: return HSIPC_ENOENT;
        case EACCES: case EPERM: case ELOOP: case EISDIR: case ENXIO: return HSIPC_EPERM;
        default:
            errno = err;
            return HSIPC_ESYS;
    }
}

// Checks a header copy against the object's real size; fills *layout.
int validate_header(const RegionHeader& h, uint64_t object_size, Layout* layout) {
    if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0) return HSIPC_ECORRUPT;
    if (h.layout_version != kLayoutVersion) return HSIPC_EVERSION;
    if (h.header_size != sizeof(RegionHeader) || h.fingerprint != layout_fingerprint()) return HSIPC_EVERSION;
    // The stored configuration must be one a creator could have made.
    hsipc_config cfg;
    config_from_stored(h.config, &cfg);
    StoredConfig again;
    if (h.config.pool_count < 1 || h.config.pool_count > HSIPC_MAX_POOLS) return HSIPC_ECORRUPT;
    if (config_to_stored(cfg, &again) != HSIPC_OK || std::memcmp(&again, &h.config, sizeof again) != 0) {
        return HSIPC_ECORRUPT;
    }
    if (!compute_layout(h.config, layout)) return HSIPC_ECORRUPT;
    if (layout->total_size != h.total_size || layout->total_size != object_size) return HSIPC_ECORRUPT;
    return HSIPC_OK;
}

void init_region(uint8_t* base, const Layout& l) {
    // The object is fresh from fallocate, so every byte is already zero:
    // free buffers, free slots, zero tail hints. Only non-zero fields and
    // the header need writing.
    auto& h = *reinterpret_cast<RegionHeader*>(base);
    for (uint32_t i = 0; i < l.config.max_endpoints; i++) {
        auto& e = reinterpret_cast<EndpointSlot*>(base + l.endpoint_table_off)[i];
        e.gen.store(1, std::memory_order_relaxed);
    }
    h.layout_version = kLayoutVersion;
    h.header_size = sizeof(RegionHeader);
    h.fingerprint = layout_fingerprint();
    h.total_size = l.total_size;
    h.config = l.config;
    h.creator_pid = uint32_t(os::current_pid());
    std::memcpy(h.magic, kMagic, sizeof kMagic);
    // No one can see the object until publish_object gives it a name.
}

// Builds a complete region under no name, then publishes it. EEXIST (as
// HSIPC_ESYS with errno EEXIST) means another process published first.
int create_region(const std::string& path, const StoredConfig& stored) {
    Layout l;
    if (!compute_layout(stored, &l)) return HSIPC_EINVAL;
    int fd;
    int err = os::create_unnamed_object(stored.mode, l.total_size, &fd);
    if (err != 0) {
        errno = err;
        return err == EACCES || err == EPERM ? HSIPC_EPERM : HSIPC_ESYS;
    }
    void* addr;
    err = os::map_shared(fd, l.total_size, &addr);
    if (err == 0) {
        init_region(static_cast<uint8_t*>(addr), l);
        os::unmap(addr, l.total_size);
        err = os::publish_object(fd, path);
    }
    os::close_fd(fd);  // an unpublished object vanishes with its last descriptor
    if (err != 0) {
        errno = err;
        return HSIPC_ESYS;
    }
    return HSIPC_OK;
}

// Validates and maps the object open at fd (region `name`, found at path),
// and joins this process's attachment to it; takes fd. kObjectReplaced:
// start over.
int open_region(int fd, const char* name, const std::string& path, Region* r) {
    os::FileInfo info;
    int err = os::stat_fd(fd, &info);
    if (err == 0 && !info.regular) err = EPERM;
    if (err == 0 && info.uid != os::effective_uid() && !os::mode_grants_rw(info)) err = EPERM;
    if (err != 0) {
        os::close_fd(fd);
        return status_from_errno(err);
    }
    if (info.size < kPage || info.size > kMaxRegionSize) {
        os::close_fd(fd);
        return HSIPC_ECORRUPT;
    }
    void* addr;
    err = os::map_shared(fd, info.size, &addr);
    // The mapping keeps a reference to fd's open file description, which a
    // forked child inherits with it; so no lock is ever taken through this
    // one (attach_process opens another), and it is closed at once.
    os::close_fd(fd);
    if (err != 0) return status_from_errno(err);
    // Copy the header once: a peer may be writing it while we check.
    RegionHeader copy;
    std::memcpy(static_cast<void*>(&copy), addr, sizeof copy);
    int rc = validate_header(copy, info.size, &r->layout);
    if (rc != HSIPC_OK) {
        os::unmap(addr, info.size);
        return rc;
    }
    r->base = static_cast<uint8_t*>(addr);
    r->size = info.size;
    r->object_mode = info.mode;
    r->object_gid = info.gid;
    r->wake_path_prefix = wake_path_prefix(name, info.ino);
    rc = attach_process(*r, path, info);
    if (rc != HSIPC_OK) {
        int saved = errno;
        os::unmap(addr, info.size);
        r->base = nullptr;
        errno = saved;
    }
    return rc;
}

}  // namespace

bool valid_name(const char* name) {
    if (!name) return false;
    size_t n = 0;
    for (; name[n] != '\0'; n++) {
        if (n == HSIPC_NAME_MAX) return false;
        char c = name[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                  c == '_' || c == '-';
        if (!ok) return false;
    }
    return n > 0;
}

int region_attach(const char* name, const hsipc_config* cfg, AttachMode mode, Region** out) {
    if (!valid_name(name)) return HSIPC_EINVAL;
    if (cfg && cfg->struct_size != sizeof(hsipc_config)) return HSIPC_EINVAL;
    const std::string path = object_path(name);
    const int64_t deadline = os::monotonic_ns() + kAttachTimeoutNs;
    auto* r = new (std::nothrow) Region();
    if (!r) return HSIPC_ENOMEM;
    for (;;) {
        int fd;
        int err = os::open_object(path, &fd);
        if (err == 0) {
            int rc = open_region(fd, name, path, r);
            if (rc == HSIPC_OK) {
                *out = r;
                return HSIPC_OK;
            }
            // Unlinked or replaced between our two opens: what stands at the
            // name now (or nothing) is judged afresh.
            if (rc == kObjectReplaced && os::monotonic_ns() < deadline) continue;
            if (rc == kObjectReplaced) {
                errno = ESTALE;
                rc = HSIPC_ESYS;
            }
            int saved = errno;
            delete r;
            errno = saved;
            return rc;
        }
        if (err != ENOENT || mode == AttachMode::kExistingOnly) {
            delete r;
            return status_from_errno(err);
        }
        // No region yet: build one. Only now does cfg matter.
        hsipc_config effective;
        int rc = HSIPC_OK;
        if (cfg) {
            effective = *cfg;
        } else {
            rc = config_for_null(&effective);
        }
        StoredConfig stored;
        if (rc == HSIPC_OK) rc = config_to_stored(effective, &stored);
        if (rc == HSIPC_OK) rc = create_region(path, stored);
        if (rc == HSIPC_ESYS && errno == EEXIST) rc = HSIPC_OK;  // someone else's was first: use it
        // Loop to open what is now there; give up if it keeps vanishing
        // (someone unlinking as fast as we create).
        if (rc != HSIPC_OK || os::monotonic_ns() >= deadline) {
            int saved = errno;
            delete r;
            errno = saved;
            return rc != HSIPC_OK ? rc : HSIPC_ESYS;
        }
    }
}

int region_detach(Region* r) {
    // Close this handle's endpoints: their queued messages return to pools.
    int rc = HSIPC_OK;
    for (;;) {
        Endpoint* ep;
        {
            std::lock_guard<std::mutex> guard(r->endpoints_mutex);
            if (r->endpoints.empty()) break;
            ep = r->endpoints.back();
        }
        int closed = endpoint_close(ep);
        if (closed != HSIPC_OK) rc = closed;
    }
    int saved = errno;
    close_wake_sender(*r);
    detach_process(*r);
    os::unmap(r->base, r->size);
    delete r;
    errno = saved;
    return rc;
}

int region_unlink(const char* name) {
    if (!valid_name(name)) return HSIPC_EINVAL;
    int err = os::unlink_object(object_path(name));
    // With the region go the wake socket files its crashed receivers left
    // (live ones go as their endpoints close).
    remove_abandoned_wake_sockets(name);
    return err == 0 ? HSIPC_OK : status_from_errno(err);
}

}  // namespace hsipc
