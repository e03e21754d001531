// SPDX-License-Identifier: MIT
// The list of mechanisms, and the stand-in for those this build lacks.
#include "registry.h"

#include "../util.h"

namespace bench {
namespace {

class Missing final : public Mechanism {
public:
    Missing(const char* name, const char* description, const char* reason)
        : name_(name), description_(description), reason_(reason) {}
    const char* name() const override { return name_; }
    const char* description() const override { return description_; }
    std::string unavailable_reason(Runner&) override { return reason_; }
    SideResult run(Role, const CaseSpec&, Rendezvous&) override { throw Unavailable(reason_); }

private:
    const char* name_;
    const char* description_;
    const char* reason_;
};

}  // namespace

std::unique_ptr<Mechanism> make_missing(const char* name, const char* description, const char* reason) {
    return std::make_unique<Missing>(name, description, reason);
}

std::vector<std::unique_ptr<Mechanism>> all_mechanisms() {
    std::vector<std::unique_ptr<Mechanism>> all;
    all.push_back(make_raw());
    all.push_back(make_hsipc(false));
    all.push_back(make_hsipc(true));
    all.push_back(make_pipe());
    all.push_back(make_unix_socket());
    all.push_back(make_posix_mq());
    all.push_back(make_sysv_msg());
    all.push_back(make_iceoryx());
    all.push_back(make_boost_mq());
    return all;
}

}  // namespace bench
