// SPDX-License-Identifier: MIT
// Introspection: snapshots of pools, endpoints and topics for tools.
#pragma once

#include "region.h"

namespace hsipc {

void pool_stats(Region& r, uint32_t pool, hsipc_pool_stats* out);
int endpoint_info(Region& r, uint32_t slot, hsipc_endpoint_info* out);
int topic_info(Region& r, uint32_t slot, hsipc_topic_info* out);

}  // namespace hsipc
