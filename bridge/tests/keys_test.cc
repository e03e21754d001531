// SPDX-License-Identifier: MIT
// CURVE key files (bridge/keys.h): Z85, what --keygen writes, and the
// refusals that keep a secret key secret — a file others may read, or a
// secret key given where a peer's public key belongs.
#include "keys.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

using namespace hsipc_bridge;

Key pattern_key(uint8_t seed) {
    Key k;
    for (size_t i = 0; i < k.size(); i++) k[i] = uint8_t(seed + i * 37);
    return k;
}

class KeyFiles : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/hsipc-bridge-keys-XXXXXX";
        ASSERT_NE(nullptr, mkdtemp(tmpl));
        dir_ = tmpl;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::string write(const std::string& name, const std::string& text, mode_t mode) {
        const std::string path = dir_ + "/" + name;
        std::ofstream(path) << text;
        chmod(path.c_str(), mode);
        return path;
    }
    static mode_t mode_of(const std::string& path) {
        struct stat st;
        return stat(path.c_str(), &st) == 0 ? st.st_mode & 07777 : 0;
    }

    std::string dir_;
};

TEST(Z85, TheRfcVectorAndRoundTrips) {
    // RFC 32: 86 4F D2 6F B5 59 F7 5B is "HelloWorld"; Z85 encodes each
    // four bytes alone, so a key of that repeated is the text repeated.
    Key hello;
    const uint8_t vector[8] = {0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B};
    for (size_t i = 0; i < hello.size(); i++) hello[i] = vector[i % 8];
    EXPECT_EQ("HelloWorldHelloWorldHelloWorldHelloWorld", z85_encode_key(hello));
    Key back;
    ASSERT_TRUE(z85_decode_key("HelloWorldHelloWorldHelloWorldHelloWorld", &back));
    EXPECT_EQ(hello, back);
    for (uint8_t seed = 0; seed < 200; seed += 7) {
        const Key k = pattern_key(seed);
        ASSERT_TRUE(z85_decode_key(z85_encode_key(k), &back));
        EXPECT_EQ(k, back);
    }
    Key ones;
    ones.fill(0xff);
    EXPECT_EQ("%nSc0%nSc0%nSc0%nSc0%nSc0%nSc0%nSc0%nSc0", z85_encode_key(ones));  // the largest group
    ASSERT_TRUE(z85_decode_key(z85_encode_key(ones), &back));
    EXPECT_EQ(ones, back);
}

TEST(Z85, AnythingButOneKeyIsRefused) {
    Key k;
    const std::string good = z85_encode_key(pattern_key(1));
    EXPECT_FALSE(z85_decode_key(good.substr(1), &k));
    EXPECT_FALSE(z85_decode_key(good + "0", &k));
    EXPECT_FALSE(z85_decode_key("", &k));
    for (char c : {' ', '"', '\'', ',', ';', '\\', '_', '`', '|', '~', '\0', '\n'}) {
        std::string bad = good;
        bad[17] = c;
        EXPECT_FALSE(z85_decode_key(bad, &k)) << int(c);
    }
    // Five characters can say more than four bytes: "#####" is 85^5 - 1.
    EXPECT_FALSE(z85_decode_key("#####" + good.substr(5), &k));
}

TEST_F(KeyFiles, WhatKeygenWritesReadsBackWithTheRightModes) {
    const Key pub = pattern_key(3), secret = pattern_key(90);
    const std::string path = dir_ + "/hostA.key";
    const mode_t old = umask(0);  // the modes must not depend on it
    std::string e;
    const bool wrote = write_key_files(path, pub, secret, &e);
    umask(old);
    ASSERT_TRUE(wrote) << e;
    EXPECT_EQ(0600u, mode_of(path));
    EXPECT_EQ(0644u, mode_of(path + ".pub"));
    Key s, p;
    bool has_public = false;
    ASSERT_TRUE(read_secret_key_file(path, &s, &p, &has_public, &e)) << e;
    EXPECT_EQ(secret, s);
    EXPECT_TRUE(has_public);
    EXPECT_EQ(pub, p);
    ASSERT_TRUE(read_public_key_file(path + ".pub", &p, &e)) << e;
    EXPECT_EQ(pub, p);
    // Never replaces a key pair: the old one stays as it was.
    EXPECT_FALSE(write_key_files(path, pattern_key(5), pattern_key(6), &e));
    ASSERT_TRUE(read_secret_key_file(path, &s, &p, &has_public, &e)) << e;
    EXPECT_EQ(secret, s);
    // Nor leaves half a pair where FILE.pub is in the way.
    write("other.key.pub", "x", 0644);
    EXPECT_FALSE(write_key_files(dir_ + "/other.key", pub, secret, &e));
    EXPECT_FALSE(std::filesystem::exists(dir_ + "/other.key"));
}

TEST_F(KeyFiles, ASecretKeyFileOthersCanReachIsRefused) {
    const std::string text = "secret-key = " + z85_encode_key(pattern_key(9)) + "\n";
    Key s, p;
    bool has_public;
    std::string e;
    for (mode_t mode : {0640, 0604, 0620, 0602, 0660, 0644, 0610}) {
        const std::string path = write("loose.key", text, mode);
        EXPECT_FALSE(read_secret_key_file(path, &s, &p, &has_public, &e)) << std::oct << mode;
        EXPECT_NE(std::string::npos, e.find("chmod 600")) << e;
        std::remove(path.c_str());
    }
    for (mode_t mode : {0600, 0400}) {
        const std::string path = write("tight.key", text, mode);
        EXPECT_TRUE(read_secret_key_file(path, &s, &p, &has_public, &e)) << e;
        EXPECT_FALSE(has_public);
        EXPECT_EQ(pattern_key(9), s);
        std::remove(path.c_str());
    }
    EXPECT_FALSE(read_secret_key_file(dir_ + "/missing", &s, &p, &has_public, &e));
    EXPECT_NE(std::string::npos, e.find("missing")) << e;
    EXPECT_FALSE(read_secret_key_file(dir_, &s, &p, &has_public, &e));  // a directory
}

TEST_F(KeyFiles, ASecretKeyIsNotTakenForAPeersPublicKey) {
    const Key pub = pattern_key(3), secret = pattern_key(4);
    std::string e;
    ASSERT_TRUE(write_key_files(dir_ + "/k", pub, secret, &e)) << e;
    Key p;
    EXPECT_FALSE(read_public_key_file(dir_ + "/k", &p, &e));
    EXPECT_NE(std::string::npos, e.find("secret")) << e;
}

TEST_F(KeyFiles, MalformedKeyFilesNameTheLine) {
    const std::string key = z85_encode_key(pattern_key(7));
    Key p;
    std::string e;
    EXPECT_FALSE(read_public_key_file(write("a", "# only a comment\n", 0644), &p, &e));
    EXPECT_FALSE(read_public_key_file(write("b", "public-key = " + key.substr(1) + "\n", 0644), &p, &e));
    EXPECT_NE(std::string::npos, e.find("line 1")) << e;
    const std::string twice = "public-key = " + key + "\npublic-key = " + key + "\n";
    EXPECT_FALSE(read_public_key_file(write("c", twice, 0644), &p, &e));
    EXPECT_NE(std::string::npos, e.find("line 2")) << e;
    EXPECT_FALSE(read_public_key_file(write("d", "\n\nprivate-key = " + key + "\n", 0644), &p, &e));
    EXPECT_NE(std::string::npos, e.find("line 3")) << e;
    EXPECT_FALSE(read_public_key_file(write("e", key + "\n", 0644), &p, &e));
    EXPECT_FALSE(read_public_key_file(write("f", std::string(5000, '#'), 0644), &p, &e));  // over 4 KiB
    // '#' is Z85 too: only a whole line is a comment, so a key holding one reads whole.
    const uint32_t v = 84u * 85u * 85u * 85u;  // "0#000": the alphabet's last character second
    const Key hash_key = {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)};
    const std::string text = z85_encode_key(hash_key);
    ASSERT_EQ('#', text[1]) << text;
    ASSERT_TRUE(read_public_key_file(write("g", "# comment\n  public-key =  " + text + "  \r\n", 0644), &p, &e)) << e;
    EXPECT_EQ(hash_key, p);
}

TEST_F(KeyFiles, LoadCurveKeysReadsWhatTheOptionsName) {
    std::string e;
    ASSERT_TRUE(write_key_files(dir_ + "/me", pattern_key(1), pattern_key(2), &e)) << e;
    ASSERT_TRUE(write_key_files(dir_ + "/b", pattern_key(3), pattern_key(4), &e)) << e;
    ASSERT_TRUE(write_key_files(dir_ + "/c", pattern_key(5), pattern_key(6), &e)) << e;
    Options o;
    o.peers = {{"hB", "tcp://127.0.0.1:1"}, {"hC", ""}};
    CurveKeys keys;
    ASSERT_TRUE(load_curve_keys(o, &keys, &e)) << e;  // no secret_key: no CURVE
    EXPECT_FALSE(keys.enabled);
    o.secret_key = dir_ + "/me";
    o.peer_keys = {{"hB", dir_ + "/b.pub"}, {"hC", dir_ + "/c.pub"}};
    ASSERT_TRUE(load_curve_keys(o, &keys, &e)) << e;
    EXPECT_TRUE(keys.enabled);
    EXPECT_EQ(pattern_key(2), keys.secret);
    EXPECT_EQ(pattern_key(1), keys.public_key);
    ASSERT_EQ(2u, keys.peers.size());
    EXPECT_EQ(pattern_key(3), keys.peers["hB"]);
    EXPECT_EQ(pattern_key(5), keys.peers["hC"]);
    // One key for two peers: the key could not say which one connected.
    o.peer_keys[1].file = dir_ + "/b.pub";
    EXPECT_FALSE(load_curve_keys(o, &keys, &e));
    EXPECT_NE(std::string::npos, e.find("same public key")) << e;
    o.peer_keys[1].file = dir_ + "/nothing.pub";
    EXPECT_FALSE(load_curve_keys(o, &keys, &e));
    EXPECT_NE(std::string::npos, e.find("nothing.pub")) << e;
    chmod((dir_ + "/me").c_str(), 0640);
    o.peer_keys[1].file = dir_ + "/c.pub";
    EXPECT_FALSE(load_curve_keys(o, &keys, &e));
    EXPECT_NE(std::string::npos, e.find("chmod 600")) << e;
}

}  // namespace
