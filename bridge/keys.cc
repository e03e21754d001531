// SPDX-License-Identifier: MIT
#include "keys.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>

namespace hsipc_bridge {

namespace {

constexpr char kZ85[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
constexpr off_t kKeyFileMax = 4096;  // a key file is a few lines

std::string trim(std::string_view s) {
    const char* ws = " \t\r";
    const size_t b = s.find_first_not_of(ws);
    if (b == std::string_view::npos) return "";
    return std::string(s.substr(b, s.find_last_not_of(ws) - b + 1));
}

std::string errno_text(const std::string& path) { return path + ": " + std::strerror(errno); }

// The file's text, at most kKeyFileMax bytes of a regular file; for a
// secret one, also the owner and mode checks.
bool read_key_text(const std::string& path, bool secret, std::string* text, std::string* error) {
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        *error = errno_text(path);
        return false;
    }
    struct stat st;
    bool ok = fstat(fd, &st) == 0;
    if (!ok) {
        *error = errno_text(path);
    } else if (!S_ISREG(st.st_mode) || st.st_size > kKeyFileMax) {
        *error = path + ": not a regular file of at most 4 KiB";
        ok = false;
    } else if (secret && (st.st_mode & 077) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", unsigned(st.st_mode & 07777));
        *error = path + ": a secret key file must be private, but its mode " + mode +
                 " lets group or others at it (chmod 600 " + path + ")";
        ok = false;
    } else if (secret && st.st_uid != geteuid() && st.st_uid != 0) {
        // Its owner could replace the key: as good as knowing it.
        *error = path + ": a secret key file must belong to this user or root, not uid " + std::to_string(st.st_uid);
        ok = false;
    }
    if (ok) {
        text->resize(size_t(st.st_size));
        size_t got = 0;
        while (got < text->size()) {
            const ssize_t n = read(fd, &(*text)[got], text->size() - got);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            got += size_t(n);
        }
        text->resize(got);
    }
    close(fd);
    return ok;
}

// Parses the `key = value` lines into the keys named; false with *error
// naming the line.
bool parse_key_text(const std::string& path, const std::string& text, Key* public_key, bool* has_public, Key* secret,
                    bool* has_secret, std::string* error) {
    *has_public = *has_secret = false;
    std::istringstream in(text);
    std::string raw;
    for (int number = 1; std::getline(in, raw); number++) {
        const std::string where = path + ": line " + std::to_string(number) + ": ";
        const std::string line = trim(raw);
        if (line.empty() || line[0] == '#') continue;
        const size_t eq = line.find('=');
        if (eq == std::string::npos) {
            *error = where + "expected `public-key = KEY` or `secret-key = KEY`";
            return false;
        }
        const std::string name = trim(std::string_view(line).substr(0, eq));
        const std::string value = trim(std::string_view(line).substr(eq + 1));
        Key* into;
        bool* seen;
        if (name == "public-key") {
            into = public_key;
            seen = has_public;
        } else if (name == "secret-key") {
            into = secret;
            seen = has_secret;
        } else {
            *error = where + "unknown key `" + name + "`";
            return false;
        }
        if (*seen) {
            *error = where + name + " given twice";
            return false;
        }
        if (!z85_decode_key(value, into)) {
            *error = where + name + ": not a key (40 characters of Z85)";
            return false;
        }
        *seen = true;
    }
    return true;
}

bool write_new_file(const std::string& path, const std::string& text, mode_t mode, std::string* error) {
    // O_EXCL: never replaces a key pair, nor writes through a planted symlink.
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) {
        *error = errno_text(path);
        return false;
    }
    // The mode whatever the umask: a secret file must not be looser, and
    // a public one is for others to read.
    bool ok = fchmod(fd, mode) == 0;
    size_t done = 0;
    while (ok && done < text.size()) {
        const ssize_t n = write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        ok = n > 0;
        if (ok) done += size_t(n);
    }
    ok = ok && fsync(fd) == 0;
    if (!ok) *error = errno_text(path);
    if (close(fd) != 0 && ok) {
        *error = errno_text(path);
        ok = false;
    }
    if (!ok) unlink(path.c_str());
    return ok;
}

}  // namespace

bool z85_decode_key(std::string_view text, Key* out) {
    if (text.size() != kKeyTextSize) return false;
    Key key;
    for (size_t group = 0; group < kKeyTextSize / 5; group++) {
        uint64_t value = 0;
        for (size_t i = 0; i < 5; i++) {
            const char c = text[group * 5 + i];
            const char* at = c ? std::strchr(kZ85, c) : nullptr;
            if (!at) return false;
            value = value * 85 + uint64_t(at - kZ85);
        }
        if (value > UINT32_MAX) return false;  // five characters can say more than four bytes hold
        for (size_t i = 0; i < 4; i++) key[group * 4 + i] = uint8_t(value >> (24 - 8 * i));
    }
    *out = key;
    return true;
}

std::string z85_encode_key(const Key& key) {
    std::string text(kKeyTextSize, ' ');
    for (size_t group = 0; group < key.size() / 4; group++) {
        uint32_t value = 0;
        for (size_t i = 0; i < 4; i++) value = value << 8 | key[group * 4 + i];
        for (size_t i = 5; i-- > 0;) {
            text[group * 5 + i] = kZ85[value % 85];
            value /= 85;
        }
    }
    return text;
}

bool read_secret_key_file(const std::string& path, Key* secret, Key* public_key, bool* has_public,
                          std::string* error) {
    std::string text;
    bool has_secret;
    if (!read_key_text(path, true, &text, error) ||
        !parse_key_text(path, text, public_key, has_public, secret, &has_secret, error)) {
        return false;
    }
    if (!has_secret) {
        *error = path + ": no `secret-key = KEY` line (hsipc-bridge --keygen FILE writes a key pair)";
        return false;
    }
    return true;
}

bool read_public_key_file(const std::string& path, Key* public_key, std::string* error) {
    std::string text;
    Key secret;
    bool has_public, has_secret;
    if (!read_key_text(path, false, &text, error) ||
        !parse_key_text(path, text, public_key, &has_public, &secret, &has_secret, error)) {
        return false;
    }
    if (has_secret) {
        *error = path + ": holds a secret key; a peer's key is the public one (the FILE.pub that --keygen wrote)";
        return false;
    }
    if (!has_public) {
        *error = path + ": no `public-key = KEY` line";
        return false;
    }
    return true;
}

bool write_key_files(const std::string& path, const Key& public_key, const Key& secret, std::string* error) {
    const std::string pub = "public-key = " + z85_encode_key(public_key) + "\n";
    const std::string secret_text =
        "# hsipc-bridge CURVE key pair, written by hsipc-bridge --keygen.\n"
        "# Secret: whoever reads this file can pass for this bridge. Keep it\n"
        "# private (mode 0600) and give peers only " + path + ".pub.\n" +
        pub + "secret-key = " + z85_encode_key(secret) + "\n";
    const std::string public_text =
        "# hsipc-bridge CURVE public key, written by hsipc-bridge --keygen.\n"
        "# Peers name this file with peer_key (--peer-key HOST=FILE).\n" + pub;
    if (!write_new_file(path, secret_text, 0600, error)) return false;
    if (!write_new_file(path + ".pub", public_text, 0644, error)) {
        unlink(path.c_str());
        return false;
    }
    return true;
}

bool load_curve_keys(const Options& opt, CurveKeys* out, std::string* error) {
    CurveKeys keys;
    if (!opt.secret_key.empty()) {
        keys.enabled = true;
        if (!read_secret_key_file(opt.secret_key, &keys.secret, &keys.public_key, &keys.public_given, error)) {
            return false;
        }
        for (const PeerKeyConfig& k : opt.peer_keys) {
            Key key;
            if (!read_public_key_file(k.file, &key, error)) return false;
            for (const auto& [name, other] : keys.peers) {
                // The key says which peer connected: it must name one.
                if (other == key) {
                    *error = "peers " + name + " and " + k.peer + " have the same public key";
                    return false;
                }
            }
            keys.peers[k.peer] = key;
        }
    }
    *out = keys;
    return true;
}

}  // namespace hsipc_bridge
