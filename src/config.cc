// SPDX-License-Identifier: MIT
#include "config.h"

#include <errno.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace hsipc {
namespace {

constexpr size_t kMaxConfigFileBytes = 1 << 20;

uint32_t round_up_pow2(uint32_t n) {
    uint32_t p = 1;
    while (p < n) p <<= 1;
    return p;
}

std::string trim(const std::string& s) {
    size_t b = 0, e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) b++;
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) e--;
    return s.substr(b, e - b);
}

// Unsigned integer in `base`, digits only (no sign, no spaces), into *out.
bool parse_unsigned(const std::string& s, int base, uint64_t* out) {
    if (s.empty() || s.size() > 22) return false;
    uint64_t v = 0;
    for (char c : s) {
        int d;
        if (c >= '0' && c <= '9') {
            d = c - '0';
        } else {
            return false;
        }
        if (d >= base) return false;
        if (v > (UINT64_MAX - uint64_t(d)) / uint64_t(base)) return false;
        v = v * uint64_t(base) + uint64_t(d);
    }
    *out = v;
    return true;
}

bool parse_u32(const std::string& s, uint32_t* out) {
    uint64_t v;
    if (!parse_unsigned(s, 10, &v) || v > UINT32_MAX) return false;
    *out = uint32_t(v);
    return true;
}

// "SIZE x COUNT", SIZE optionally suffixed K, M or G (binary multiples).
bool parse_pool(const std::string& value, hsipc_pool_config* out) {
    size_t x = value.find_first_of("xX");
    if (x == std::string::npos) return false;
    std::string size_text = trim(value.substr(0, x));
    std::string count_text = trim(value.substr(x + 1));
    uint64_t multiplier = 1;
    if (!size_text.empty()) {
        switch (size_text.back()) {
            case 'K': case 'k': multiplier = 1ull << 10; break;
            case 'M': case 'm': multiplier = 1ull << 20; break;
            case 'G': case 'g': multiplier = 1ull << 30; break;
            default: break;
        }
        if (multiplier != 1) size_text.pop_back();
    }
    uint64_t size;
    uint32_t count;
    if (!parse_unsigned(size_text, 10, &size) || !parse_u32(count_text, &count)) return false;
    if (size > UINT64_MAX / multiplier) return false;
    out->buffer_size = size * multiplier;
    out->buffer_count = count;
    out->reserved = 0;
    return true;
}

// "N", optionally suffixed ns, us, ms or s (decimal multiples; no space
// before the unit), as nanoseconds. Refuses what does not fit an int64_t;
// the limits are config_to_stored's business.
bool parse_duration_ns(const std::string& value, int64_t* out) {
    struct Unit {
        const char* suffix;
        uint64_t ns;
    };
    static const Unit kUnits[] = {{"ns", 1}, {"us", 1000}, {"ms", 1000000}, {"s", 1000000000}};
    std::string digits = value;
    uint64_t multiplier = 1;
    for (const Unit& u : kUnits) {
        size_t n = std::strlen(u.suffix);
        if (digits.size() > n && digits.compare(digits.size() - n, n, u.suffix) == 0) {
            digits.resize(digits.size() - n);
            multiplier = u.ns;
            break;
        }
    }
    uint64_t v;
    if (!parse_unsigned(digits, 10, &v) || v > uint64_t(INT64_MAX) / multiplier) return false;
    *out = int64_t(v * multiplier);
    return true;
}

int read_whole_file(const char* path, std::string* out) {
    FILE* f = std::fopen(path, "re");
    if (!f) {
        switch (errno) {
            case ENOENT: case ENOTDIR: return HSIPC_ENOENT;
            case EACCES: case EPERM: return HSIPC_EPERM;
            default: return HSIPC_ESYS;
        }
    }
    std::string text;
    char chunk[4096];
    size_t n;
    while ((n = std::fread(chunk, 1, sizeof chunk, f)) > 0) {
        text.append(chunk, n);
        if (text.size() > kMaxConfigFileBytes) {
            std::fclose(f);
            return HSIPC_EINVAL;
        }
    }
    bool failed = std::ferror(f) != 0;
    int saved = errno;
    std::fclose(f);
    if (failed) {
        errno = saved;
        return saved == EISDIR ? HSIPC_EINVAL : HSIPC_ESYS;
    }
    *out = std::move(text);
    return HSIPC_OK;
}

}  // namespace

int config_apply_text(const std::string& text, hsipc_config* cfg) {
    hsipc_pool_config pools[HSIPC_MAX_POOLS];
    uint32_t pool_lines = 0;
    size_t line_start = 0;
    while (line_start <= text.size()) {
        size_t line_end = text.find('\n', line_start);
        if (line_end == std::string::npos) line_end = text.size();
        std::string line = text.substr(line_start, line_end - line_start);
        line_start = line_end + 1;
        if (line.find('\0') != std::string::npos) return HSIPC_EINVAL;
        size_t hash = line.find('#');
        if (hash != std::string::npos) line.resize(hash);
        line = trim(line);
        if (line.empty()) continue;
        size_t eq = line.find('=');
        if (eq == std::string::npos) return HSIPC_EINVAL;
        std::string key = trim(line.substr(0, eq));
        std::string value = trim(line.substr(eq + 1));
        if (key == "max_endpoints") {
            if (!parse_u32(value, &cfg->max_endpoints)) return HSIPC_EINVAL;
        } else if (key == "inbox_capacity") {
            if (!parse_u32(value, &cfg->inbox_capacity)) return HSIPC_EINVAL;
        } else if (key == "mode") {
            uint64_t mode;
            if (!parse_unsigned(value, 8, &mode) || mode > 07777) return HSIPC_EINVAL;
            cfg->mode = uint32_t(mode);
        } else if (key == "max_buffers_per_process") {
            if (!parse_u32(value, &cfg->max_buffers_per_process)) return HSIPC_EINVAL;
        } else if (key == "max_topics") {
            if (!parse_u32(value, &cfg->max_topics)) return HSIPC_EINVAL;
        } else if (key == "max_subscribers") {
            if (!parse_u32(value, &cfg->max_subscribers)) return HSIPC_EINVAL;
        } else if (key == "spin_ns") {
            if (!parse_duration_ns(value, &cfg->spin_ns)) return HSIPC_EINVAL;
        } else if (key == "pool") {
            if (pool_lines == HSIPC_MAX_POOLS || !parse_pool(value, &pools[pool_lines])) return HSIPC_EINVAL;
            pool_lines++;
        } else {
            return HSIPC_EINVAL;
        }
    }
    if (pool_lines > 0) {
        cfg->pool_count = pool_lines;
        for (uint32_t i = 0; i < HSIPC_MAX_POOLS; i++) cfg->pools[i] = i < pool_lines ? pools[i] : hsipc_pool_config{};
    }
    return HSIPC_OK;
}

void config_defaults(hsipc_config* cfg) {
    *cfg = hsipc_config{};
    cfg->struct_size = sizeof(hsipc_config);
    cfg->max_endpoints = 64;
    cfg->inbox_capacity = 1024;
    cfg->pool_count = 3;
    cfg->pools[0] = {256, 4096, 0};
    cfg->pools[1] = {64 * 1024, 256, 0};
    cfg->pools[2] = {4 * 1024 * 1024, 8, 0};
    cfg->mode = 0600;
    cfg->spin_ns = kDefaultSpinNs;
    cfg->max_topics = kDefaultTopics;
    cfg->max_subscribers = kDefaultSubscribers;
}

bool config_size_known(uint32_t size) {
    for (uint32_t known : kConfigSizes) {
        if (size == known) return true;
    }
    return false;
}

uint32_t config_struct_size(const void* caller) {
    uint32_t size;
    std::memcpy(&size, caller, sizeof size);  // offset 0 in every version
    return size;
}

void config_defaults_sized(void* cfg, uint32_t size) {
    hsipc_config d;
    config_defaults(&d);
    d.struct_size = size;
    std::memcpy(cfg, &d, size);
}

int config_import(const void* caller, hsipc_config* full) {
    const uint32_t size = config_struct_size(caller);
    if (!config_size_known(size)) return HSIPC_EINVAL;
    config_defaults(full);
    std::memcpy(static_cast<void*>(full), caller, size);
    full->struct_size = sizeof(hsipc_config);
    return HSIPC_OK;
}

void config_export(const hsipc_config& full, void* caller) {
    const uint32_t size = config_struct_size(caller);
    hsipc_config out = full;
    out.struct_size = size;
    std::memcpy(caller, &out, size);
}

int config_to_stored(const hsipc_config& cfg, StoredConfig* out) {
    if (cfg.struct_size != sizeof(hsipc_config)) return HSIPC_EINVAL;
    if (cfg.max_endpoints < 1 || cfg.max_endpoints > kMaxEndpoints) return HSIPC_EINVAL;
    if (cfg.inbox_capacity < 1 || cfg.inbox_capacity > kMaxInboxCapacity) return HSIPC_EINVAL;
    if (cfg.pool_count < 1 || cfg.pool_count > HSIPC_MAX_POOLS) return HSIPC_EINVAL;
    if ((cfg.mode & ~0777u) != 0 || (cfg.mode & 0600) != 0600) return HSIPC_EINVAL;
    StoredConfig s{};
    uint64_t buffers = 0;
    for (uint32_t p = 0; p < cfg.pool_count; p++) {
        const hsipc_pool_config& pool = cfg.pools[p];
        if (pool.buffer_size < 1 || pool.buffer_size > kMaxBufferSize) return HSIPC_EINVAL;
        if (pool.buffer_count < 1 || pool.reserved != 0) return HSIPC_EINVAL;
        if (p > 0 && pool.buffer_size <= cfg.pools[p - 1].buffer_size) return HSIPC_EINVAL;
        buffers += pool.buffer_count;
        s.pools[p] = {pool.buffer_size, pool.buffer_count, 0};
    }
    if (buffers > kMaxTotalBuffers) return HSIPC_EINVAL;
    if (cfg.max_buffers_per_process > buffers) return HSIPC_EINVAL;
    if (cfg.spin_ns < 0 || cfg.spin_ns > kMaxSpinNs) return HSIPC_EINVAL;
    if (cfg.max_topics > kMaxTopics) return HSIPC_EINVAL;
    if (cfg.max_subscribers < 1 || cfg.max_subscribers > kMaxSubscribers) return HSIPC_EINVAL;
    s.max_buffers_per_process = cfg.max_buffers_per_process;
    s.spin_ns = cfg.spin_ns;
    s.max_endpoints = cfg.max_endpoints;
    s.inbox_capacity = round_up_pow2(cfg.inbox_capacity);
    s.pool_count = cfg.pool_count;
    s.process_slots = process_slots_for(cfg.max_endpoints);
    s.mode = cfg.mode;
    s.max_topics = cfg.max_topics;
    s.max_subscribers = cfg.max_subscribers;
    Layout layout;
    if (!compute_layout(s, &layout)) return HSIPC_EINVAL;
    *out = s;
    return HSIPC_OK;
}

void config_from_stored(const StoredConfig& stored, hsipc_config* out) {
    hsipc_config c{};
    c.struct_size = sizeof(hsipc_config);
    c.max_endpoints = stored.max_endpoints;
    c.inbox_capacity = stored.inbox_capacity;
    c.pool_count = stored.pool_count;
    for (uint32_t p = 0; p < stored.pool_count && p < HSIPC_MAX_POOLS; p++) {
        c.pools[p] = {stored.pools[p].buffer_size, stored.pools[p].buffer_count, 0};
    }
    c.mode = stored.mode;
    c.max_buffers_per_process = stored.max_buffers_per_process;
    c.spin_ns = stored.spin_ns;
    c.max_topics = stored.max_topics;
    c.max_subscribers = stored.max_subscribers;
    *out = c;
}

int config_load_file(hsipc_config* cfg, const char* path) {
    if (cfg->struct_size != sizeof(hsipc_config)) return HSIPC_EINVAL;
    std::string text;
    int rc = read_whole_file(path, &text);
    if (rc != HSIPC_OK) return rc;
    hsipc_config merged = *cfg;
    rc = config_apply_text(text, &merged);
    if (rc != HSIPC_OK) return rc;
    StoredConfig ignored;
    rc = config_to_stored(merged, &ignored);
    if (rc != HSIPC_OK) return rc;
    *cfg = merged;
    return HSIPC_OK;
}

int config_for_null(hsipc_config* out) {
    hsipc_config cfg;
    config_defaults(&cfg);
    const char* path = std::getenv("HSIPC_CONFIG");
    if (path && *path) {
        int rc = config_load_file(&cfg, path);
        if (rc != HSIPC_OK) return rc;
    }
    *out = cfg;
    return HSIPC_OK;
}

}  // namespace hsipc
