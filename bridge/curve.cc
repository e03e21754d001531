// SPDX-License-Identifier: MIT
#include "curve.h"

#include <zmq.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace hsipc_bridge {

namespace {

// ZAP (ZeroMQ RFC 27): a request is version, request id, domain, address,
// routing id, mechanism, then the mechanism's credentials (for CURVE the
// client's 32-byte public key); a reply is version, request id, status
// code, status text, user id, metadata.
constexpr size_t kZapParts = 7;
constexpr size_t kZapPartsKept = 8;  // one more, to see a longer request
const char kZapEndpoint[] = "inproc://zeromq.zap.01";
constexpr int kZapBatch = 256;  // requests per turn of the loop, which polls again for the rest

std::string zmq_error(const char* what) { return std::string(what) + ": " + zmq_strerror(zmq_errno()); }

std::string part_text(zmq_msg_t& m) {
    return std::string(static_cast<const char*>(zmq_msg_data(&m)), zmq_msg_size(&m));
}

}  // namespace

bool curve_available() { return zmq_has("curve") != 0; }

bool curve_keypair(Key* public_key, Key* secret, std::string* error) {
    char pub_text[kKeyTextSize + 1], secret_text[kKeyTextSize + 1];
    if (!curve_available() || zmq_curve_keypair(pub_text, secret_text) != 0) {
        *error = "this libzmq has no CURVE (zmq_has(\"curve\") is false): it was built without libsodium";
        return false;
    }
    const bool ok = z85_decode_key(pub_text, public_key) && z85_decode_key(secret_text, secret);
    std::memset(secret_text, 0, sizeof secret_text);
    if (!ok) *error = "zmq_curve_keypair returned what is not Z85";
    return ok;
}

bool curve_complete(CurveKeys* keys, std::string* error) {
    if (!keys->enabled) return true;
    if (!curve_available()) {
        *error = "keys are configured, but this libzmq has no CURVE (zmq_has(\"curve\") is false): "
                 "it was built without libsodium";
        return false;
    }
    std::string secret_text = z85_encode_key(keys->secret);
    char pub_text[kKeyTextSize + 1];
    const int rc = zmq_curve_public(pub_text, secret_text.c_str());
    std::fill(secret_text.begin(), secret_text.end(), '\0');
    Key derived;
    if (rc != 0 || !z85_decode_key(pub_text, &derived)) {
        *error = zmq_error("zmq_curve_public");
        return false;
    }
    if (keys->public_given && derived != keys->public_key) {
        *error = "the secret key file's public-key line is not the public key of its secret-key";
        return false;
    }
    keys->public_key = derived;
    for (const auto& [name, key] : keys->peers) {
        if (key == derived) {
            *error = "peer_key for " + name + " is this bridge's own public key";
            return false;
        }
    }
    return true;
}

bool curve_server(void* socket, const CurveKeys& keys, std::string* error) {
    const int server = 1;
    if (zmq_setsockopt(socket, ZMQ_CURVE_SERVER, &server, sizeof server) != 0 ||
        zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, keys.secret.data(), keys.secret.size()) != 0) {
        *error = zmq_error("CURVE server options");
        return false;
    }
    return true;
}

bool curve_client(void* socket, const CurveKeys& keys, const Key& server_key, std::string* error) {
    if (zmq_setsockopt(socket, ZMQ_CURVE_SERVERKEY, server_key.data(), server_key.size()) != 0 ||
        zmq_setsockopt(socket, ZMQ_CURVE_PUBLICKEY, keys.public_key.data(), keys.public_key.size()) != 0 ||
        zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, keys.secret.data(), keys.secret.size()) != 0) {
        *error = zmq_error("CURVE client options");
        return false;
    }
    return true;
}

bool ZapHandler::bind(void* ctx, const std::map<std::string, Key>& peers, std::string* error) {
    admitted_.clear();
    for (const auto& [name, key] : peers) admitted_[key] = name;
    socket_ = zmq_socket(ctx, ZMQ_REP);
    const int linger = 0;
    if (!socket_ || zmq_setsockopt(socket_, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_bind(socket_, kZapEndpoint) != 0) {
        *error = zmq_error("ZAP handler");
        close();
        return false;
    }
    return true;
}

void ZapHandler::answer(uint64_t* refused,
                        const std::function<void(const std::string& address, const std::string& key)>& on_refused) {
    if (!socket_) return;
    for (int request = 0; request < kZapBatch; request++) {
        zmq_msg_t parts[kZapPartsKept];
        for (zmq_msg_t& m : parts) zmq_msg_init(&m);
        size_t count = 0;
        for (bool more = true; more;) {
            zmq_msg_t spare;
            zmq_msg_init(&spare);
            zmq_msg_t* into = count < kZapPartsKept ? &parts[count] : &spare;
            if (zmq_msg_recv(into, socket_, count == 0 ? ZMQ_DONTWAIT : 0) < 0) {
                zmq_msg_close(&spare);
                break;
            }
            more = zmq_msg_more(into);
            if (into == &spare) {
                zmq_msg_close(&spare);
            } else {
                count++;
            }
        }
        if (count == 0) {
            for (zmq_msg_t& m : parts) zmq_msg_close(&m);
            return;
        }
        // Admitted only as a CURVE client whose key is a configured peer's.
        std::string user;
        bool ok = false;
        if (count == kZapParts && part_text(parts[0]) == "1.0" && part_text(parts[5]) == "CURVE" &&
            zmq_msg_size(&parts[6]) == sizeof(Key)) {
            Key key;
            std::memcpy(key.data(), zmq_msg_data(&parts[6]), key.size());
            auto it = admitted_.find(key);
            if (it != admitted_.end()) {
                user = it->second;
                ok = true;
            } else {
                (*refused)++;
                on_refused(part_text(parts[3]), z85_encode_key(key));
            }
        } else {
            (*refused)++;
            on_refused(count > 3 ? part_text(parts[3]) : "?", "(not a CURVE request)");
        }
        const std::string request_id = count > 1 ? part_text(parts[1]) : "";
        for (zmq_msg_t& m : parts) zmq_msg_close(&m);
        const std::string reply[] = {"1.0", request_id, ok ? "200" : "400",
                                     ok ? "OK" : "not a configured peer's key", user, ""};
        const size_t n = sizeof reply / sizeof reply[0];
        for (size_t i = 0; i < n; i++) {
            // The REP socket routes the reply back to the session that
            // asked; a session gone meanwhile only loses its answer.
            if (zmq_send(socket_, reply[i].data(), reply[i].size(), i + 1 < n ? ZMQ_SNDMORE : 0) < 0) break;
        }
    }
}

void ZapHandler::close() {
    if (socket_) zmq_close(socket_);
    socket_ = nullptr;
}

}  // namespace hsipc_bridge
