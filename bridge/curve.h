// SPDX-License-Identifier: MIT
// CURVE on the bridge's ZeroMQ sockets (docs/bridge.md, "Security"): the
// listener is a CURVE server, each connection out a CURVE client that
// knows the peer's public key, and a ZAP handler lets in only the public
// keys of configured peers — every other key, and anything that does not
// speak CURVE, fails the handshake before a frame reaches the bridge.
//
// The handler is a REP socket on inproc://zeromq.zap.01 in the bridge's own
// context: ZeroMQ's I/O thread asks it, and the bridge's single-threaded
// loop polls it and answers at once. Until it answers, that one handshake
// waits; nothing else does.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "keys.h"

namespace hsipc_bridge {

// What CURVE adds to each part on the wire, where ZeroMQ's ZMQ_MAXMSGSIZE
// measures it: the MESSAGE command's name (8 bytes), nonce (8), MAC (16)
// and flags (1).
constexpr int64_t kCurvePartOverhead = 33;

// Whether this libzmq was built with CURVE (Debian's libzmq5 is, with
// libsodium).
bool curve_available();
// Makes a new key pair; false with *error where CURVE is missing.
bool curve_keypair(Key* public_key, Key* secret, std::string* error);
// Derives keys->public_key from keys->secret and checks it against the
// file's public-key line and the peers' keys; false with *error.
bool curve_complete(CurveKeys* keys, std::string* error);

// Socket options, set before bind or connect; false with *error.
bool curve_server(void* socket, const CurveKeys& keys, std::string* error);
bool curve_client(void* socket, const CurveKeys& keys, const Key& server_key, std::string* error);

class ZapHandler {
public:
    ZapHandler() = default;
    ~ZapHandler() { close(); }
    ZapHandler(const ZapHandler&) = delete;
    ZapHandler& operator=(const ZapHandler&) = delete;

    // Binds the handler in ctx, admitting the keys of `peers` (host name →
    // public key); a connection so admitted carries the peer's host name
    // as its User-Id, which the bridge checks every frame's host against.
    bool bind(void* ctx, const std::map<std::string, Key>& peers, std::string* error);
    // The socket to poll for requests; null before bind.
    void* socket() const { return socket_; }
    // Answers the requests waiting (a bounded batch: the loop polls again
    // for more); each refusal is counted in *refused and told to
    // on_refused with the client's address and key (Z85).
    void answer(uint64_t* refused,
                const std::function<void(const std::string& address, const std::string& key)>& on_refused);
    // Closes the socket (before the context is terminated).
    void close();

private:
    void* socket_ = nullptr;
    std::map<Key, std::string> admitted_;  // public key → host name
};

}  // namespace hsipc_bridge
