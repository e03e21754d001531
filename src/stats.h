// SPDX-License-Identifier: MIT
// Introspection: snapshots of pools and endpoints for tools.
#pragma once

#include "region.h"

namespace hsipc {

void pool_stats(Region& r, uint32_t pool, hsipc_pool_stats* out);
int endpoint_info(Region& r, uint32_t slot, hsipc_endpoint_info* out);

}  // namespace hsipc
