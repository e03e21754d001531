// SPDX-License-Identifier: MIT
// CURVE key files: what `hsipc-bridge --keygen FILE` writes and what
// secret_key and peer_key name (docs/bridge.md, "Security"). Keys are
// ZeroMQ's Z85 text of 32 bytes. The secret key file must be private to
// its owner: a key others can read authenticates them as this bridge. No
// ZeroMQ here (curve.h uses the keys): tested alone (tests/keys_test.cc).
//
// A key file is `key = value` lines, `#` comment lines and blank lines:
//   public-key = <40 characters of Z85>
//   secret-key = <40 characters of Z85>     (only in the secret key file)
// A comment is a whole line only: `#` is one of Z85's characters.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "options.h"

namespace hsipc_bridge {

using Key = std::array<uint8_t, 32>;
constexpr size_t kKeyTextSize = 40;  // Z85 of 32 bytes

// Z85 (ZeroMQ RFC 32) of exactly one key; false for any other text.
bool z85_decode_key(std::string_view text, Key* out);
std::string z85_encode_key(const Key& key);

// The secret key file: a regular file of the caller's (or root's) with no
// permission for group or others; `secret-key` required, `public-key`
// optional (*has_public says whether it was there). False with *error.
bool read_secret_key_file(const std::string& path, Key* secret, Key* public_key, bool* has_public,
                          std::string* error);
// A public key file (FILE.pub): `public-key` only. One that holds a secret
// key is refused, so secret files are not handed around by mistake.
bool read_public_key_file(const std::string& path, Key* public_key, std::string* error);
// Creates `path` (mode 0600, whatever the umask) with both keys and
// `path`.pub with the public key; never replaces an existing file, and
// leaves neither behind on a failure.
bool write_key_files(const std::string& path, const Key& public_key, const Key& secret, std::string* error);

// What the bridge authenticates with, read from the files that the
// options name.
struct CurveKeys {
    bool enabled = false;       // secret_key was given
    Key secret{};
    Key public_key{};           // derived from secret by curve.h (the file's line is checked against it)
    bool public_given = false;  // the secret key file had a public-key line
    std::map<std::string, Key> peers;  // each peer's public key, by its host name
};

// Reads every key file opt names (none where opt.secret_key is empty);
// false with *error naming the file. Assumes validate(opt) passed.
bool load_curve_keys(const Options& opt, CurveKeys* out, std::string* error);

}  // namespace hsipc_bridge
