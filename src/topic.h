// SPDX-License-Identifier: MIT
// Topics: named groups of endpoints, in the region's topic table. A topic
// is a name and a list of subscriber endpoint ids; publishing to it
// delivers one buffer to every subscriber (share.h holds the references,
// message.cc the delivery). Every change of a list happens under the
// region lock; publishers read the lists without it.
#pragma once

#include "hsipc.h"
#include "region.h"

namespace hsipc {

// Finds or creates topic `name`; its id in the topic id space.
int topic_open(Region& r, const char* name, hsipc_id* out);

// Adds ep to topic `name` (made if need be); HSIPC_OK where it was already
// there. HSIPC_ENOMEM where the topic has max_subscribers already.
int topic_subscribe(Endpoint& ep, const char* name);

// Removes ep from topic `name`; HSIPC_ENOENT where it was not subscribed.
int topic_unsubscribe(Endpoint& ep, const char* name);

// Under the region lock, as endpoint `id` closes: out of every topic.
void topic_forget_endpoint_locked(Region& r, hsipc_id id);

// The id of topic table slot `index`.
constexpr hsipc_id topic_id(uint32_t index) { return kTopicIdBit | (index + 1); }

// The topic table index a topic id names, or false.
bool topic_id_decode(const Region& r, hsipc_id topic, uint32_t* index);

// The subscribers of topic `index` now: up to max_subscribers ids into
// out, returning how many (a snapshot read without the lock).
uint32_t topic_subscribers(const Region& r, uint32_t index, hsipc_id* out);

}  // namespace hsipc
