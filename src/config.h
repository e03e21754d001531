// SPDX-License-Identifier: MIT
// Configurations: defaults, validation, and the stored configuration file.
#pragma once

#include <cstddef>
#include <string>

#include "hsipc.h"
#include "layout.h"

namespace hsipc {

// Topic limits a desktop's programs do not outgrow: 64 topics of up to 16
// subscribers cost 16 reference words (128 bytes) per buffer.
constexpr uint32_t kDefaultTopics = 64;
constexpr uint32_t kDefaultSubscribers = 16;

void config_defaults(hsipc_config* cfg);

// ---- The struct's sizes (the ABI) -------------------------------------------
// Every size hsipc_config has had, oldest first. Fields are only appended,
// so each is a prefix of the current struct: a caller built against an
// older header passes and gets only that prefix, and the fields past it
// take their defaults. The C API converts at its edge (config_import,
// config_export); the core works on whole current structs only. A new
// field appends its size here and a version of hsipc_config_init that
// writes it (capi.cc, hsipc.map, cmake/debian/symbols).
constexpr uint32_t kConfigSizeBeforeSpin = offsetof(hsipc_config, spin_ns);  // 0.1.0 development: 152
constexpr uint32_t kConfigSizes[] = {kConfigSizeBeforeSpin, sizeof(hsipc_config)};
static_assert(sizeof(hsipc_config) == 168, "the size with spin_ns and the topic limits");
static_assert(kConfigSizeBeforeSpin == 152, "the first size callers were built with");

bool config_size_known(uint32_t size);

// The struct_size of a caller's struct of any version (read by bytes: the
// caller's object may be smaller than a hsipc_config).
uint32_t config_struct_size(const void* caller);

// What hsipc_config_init does for a caller built with struct size `size`
// (one of kConfigSizes): the defaults in exactly `size` bytes, struct_size
// set to it.
void config_defaults_sized(void* cfg, uint32_t size);

// A caller's struct (of a known struct_size, which it reads first) as a
// whole current one: its bytes, then the defaults past them; struct_size
// becomes sizeof(hsipc_config). Reads nothing past the caller's size.
// HSIPC_EINVAL for an unknown size (*full untouched).
int config_import(const void* caller, hsipc_config* full);

// Writes `full` to a caller's struct of a known struct_size, as far as that
// size reaches; struct_size stays the caller's.
void config_export(const hsipc_config& full, void* caller);

// Checks cfg against every limit (see hsipc.h) and produces the form stored
// in a region header: inbox capacity rounded up, process slots derived, and
// the whole region small enough. HSIPC_OK or HSIPC_EINVAL.
int config_to_stored(const hsipc_config& cfg, StoredConfig* out);

// The public struct for a stored (already validated) configuration.
void config_from_stored(const StoredConfig& stored, hsipc_config* out);

// Applies the text of a configuration file to *cfg, key by key, without
// validating the result; HSIPC_EINVAL on any malformed line (then *cfg may
// be partly changed: config_load_file works on a copy).
int config_apply_text(const std::string& text, hsipc_config* cfg);

// Overlays the file at `path` on *cfg; *cfg unchanged on any error.
int config_load_file(hsipc_config* cfg, const char* path);

// The configuration hsipc_attach creates with when given NULL: defaults,
// overlaid with the file named by HSIPC_CONFIG where that is set.
int config_for_null(hsipc_config* out);

}  // namespace hsipc
