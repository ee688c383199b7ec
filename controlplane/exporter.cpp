#include "exporter.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "ipfix/encoder.hpp"
#include "ipfix/json_line.hpp"

namespace egress::controlplane {

namespace {

uint64_t wall_ms() {
    using namespace std::chrono;
    return static_cast<uint64_t>(duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

int open_udp(const net::endpoint& to) {
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (to.address.is_v4()) {
        auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
        sa->sin_family = AF_INET;
        sa->sin_port = htons(to.port);
        std::memcpy(&sa->sin_addr, to.address.v4_bytes(), 4);
        len = sizeof(sockaddr_in);
    } else {
        auto* sa = reinterpret_cast<sockaddr_in6*>(&ss);
        sa->sin6_family = AF_INET6;
        sa->sin6_port = htons(to.port);
        std::memcpy(&sa->sin6_addr, to.address.bytes.data(), 16);
        len = sizeof(sockaddr_in6);
    }
    const int fd = ::socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
        const int err = errno;
        if (fd >= 0) ::close(fd);
        throw std::runtime_error(fmt::format("export: cannot open UDP to collector {}:{}: {}", to.address, to.port,
                                             std::strerror(err)));
    }
    return fd;
}

} // namespace

struct exporter::encoder_state {
    explicit encoder_state(const ipfix::encoder_settings& s) : builder(s) {}
    ipfix::message_builder builder;
};

exporter::exporter(const config::export_settings& settings, std::vector<gateway::event_ring*> rings)
    : settings_(settings), rings_(std::move(rings)) {
    for (const auto& c : settings_.collectors) sockets_.push_back(open_udp(c));
    if (settings_.json_log == "-") {
        json_ = stdout;
        json_is_stdout_ = true;
    } else if (!settings_.json_log.empty()) {
        json_ = std::fopen(settings_.json_log.c_str(), "a");
        if (json_ == nullptr)
            throw std::runtime_error(
                fmt::format("export: cannot open the JSON flow log {}: {}", settings_.json_log, std::strerror(errno)));
    }
    ipfix::encoder_settings es;
    es.observation_domain_id = settings_.observation_domain_id;
    es.max_message_bytes = settings_.max_message_bytes;
    es.enterprise_number = settings_.enterprise_number;
    es.template_refresh_s = settings_.template_refresh_s;
    enc_ = std::make_unique<encoder_state>(es);
}

exporter::~exporter() {
    stop();
    for (int fd : sockets_) ::close(fd);
    if (json_ != nullptr && !json_is_stdout_) std::fclose(json_);
}

void exporter::start() {
    thread_ = std::thread([this] { run(); });
}

void exporter::stop() {
    if (!thread_.joinable()) return;
    stop_.store(true, std::memory_order_release);
    thread_.join();
}

exporter_stats exporter::stats() const {
    return {records_.load(), messages_.load(), bytes_.load(), send_errors_.load(), lost_.load()};
}

void exporter::run() {
    for (;;) {
        const bool stopping = stop_.load(std::memory_order_acquire);
        const uint64_t now = wall_ms();
        // Templates go before the data records that use them.
        if (!sockets_.empty() && enc_->builder.templates_due(static_cast<uint32_t>(now / 1000)))
            enc_->builder.add_templates();
        while (drain_once()) {
        }
        send_pending(now);
        if (stopping) break; // everything queued before stop() has been sent
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (json_ != nullptr) std::fflush(json_);
}

bool exporter::drain_once() {
    flow::flow_event batch[256];
    bool any = false;
    for (auto* ring : rings_) {
        const std::size_t n = ring->pop_burst(batch, std::size(batch));
        any = any || n != 0;
        for (std::size_t i = 0; i < n; ++i) {
            if (!sockets_.empty()) enc_->builder.add(batch[i]);
            if (json_ != nullptr) {
                const std::string line = ipfix::to_json_line(batch[i]);
                std::fwrite(line.data(), 1, line.size(), json_);
            }
        }
        records_.fetch_add(n, std::memory_order_relaxed);
    }
    return any;
}

void exporter::send_pending(uint64_t now_ms) {
    const auto now_s = static_cast<uint32_t>(now_ms / 1000);
    uint64_t lost = 0;
    for (auto* ring : rings_) lost += ring->overflows();
    lost_.store(lost, std::memory_order_relaxed);
    const bool loss_to_report = lost != lost_reported_;
    if (loss_to_report && json_ != nullptr) {
        const std::string line = ipfix::to_json_loss_line(lost, now_ms);
        std::fwrite(line.data(), 1, line.size(), json_);
    }
    if (json_ != nullptr) std::fflush(json_);
    if (sockets_.empty()) {
        lost_reported_ = lost;
        return;
    }
    auto& b = enc_->builder;
    if (loss_to_report) b.add_exporter_statistics(lost, now_ms);
    lost_reported_ = lost;
    for (const auto& msg : b.take_messages(now_s)) {
        for (int fd : sockets_) {
            if (::send(fd, msg.data(), msg.size(), 0) == static_cast<ssize_t>(msg.size())) {
                messages_.fetch_add(1, std::memory_order_relaxed);
                bytes_.fetch_add(msg.size(), std::memory_order_relaxed);
            } else {
                send_errors_.fetch_add(1, std::memory_order_relaxed);
            }
        }
    }
}

} // namespace egress::controlplane
