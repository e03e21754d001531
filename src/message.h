// SPDX-License-Identifier: MIT
// Sending and receiving: the hot path. Lock-free, and no system call except
// the wake of a receiver that announced it sleeps.
#pragma once

#include "region.h"

namespace hsipc {

int message_send(Endpoint& from, hsipc_id to, hsipc_off off, size_t length);
// Whether a poll would return now: a message, or a damaged entry to
// report. Passes over entries that carry no message; takes nothing.
bool message_waiting(Endpoint& ep);
// hsipc_publish: delivers buffer `off` to every current subscriber of
// `topic` whose inbox has room (share.h).
int message_publish(Endpoint& from, hsipc_id topic, hsipc_off off, size_t length, uint32_t* delivered,
                    uint32_t* skipped);
int message_poll(Endpoint& ep, hsipc_msg* msg, int64_t timeout_ns);
int message_poll_many(Endpoint& ep, hsipc_msg* msgs, size_t max, int64_t timeout_ns, size_t* count);
int message_poll_batch(Endpoint& ep, hsipc_msg* msgs, size_t max, int64_t timeout_ns, int64_t linger_ns,
                       size_t* count);

}  // namespace hsipc
