// SPDX-License-Identifier: MIT
// Configurations: defaults, validation, and the stored configuration file.
#pragma once

#include <string>

#include "hsipc.h"
#include "layout.h"

namespace hsipc {

// Topic limits a desktop's programs do not outgrow: 64 topics of up to 16
// subscribers cost 16 reference words (128 bytes) per buffer.
constexpr uint32_t kDefaultTopics = 64;
constexpr uint32_t kDefaultSubscribers = 16;

void config_defaults(hsipc_config* cfg);

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
