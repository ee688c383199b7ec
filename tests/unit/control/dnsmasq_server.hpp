// Debian's dnsmasq (dnsmasq-base) as a test DNS server on 127.0.0.1 at a free
// port, serving what `zone` arguments say (--host-record, --cname, --address,
// --local ...); stopped (SIGTERM) with the object. For the resolver tests and
// benchmarks (verify = "resolve").
#pragma once

#include <csignal>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace egress::test {

// A UDP socket bound on 127.0.0.1 at a free port (kept open: a server that never answers).
struct udp_socket {
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    uint16_t port = 0;
    udp_socket() {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return;
        socklen_t n = sizeof a;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
        port = ntohs(a.sin_port);
    }
    ~udp_socket() { ::close(fd); }
    udp_socket(const udp_socket&) = delete;
    udp_socket& operator=(const udp_socket&) = delete;
};

// A port nothing listens on (bound, then closed).
inline uint16_t closed_port() { return udp_socket().port; }

class dnsmasq_server {
public:
    explicit dnsmasq_server(const std::vector<std::string>& zone) : port_(closed_port()) {
        std::vector<std::string> args = {"dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
                                         "--no-hosts", "--bind-interfaces", "--listen-address=127.0.0.1",
                                         "--port=" + std::to_string(port_), "--user=root", "--pid-file="};
        args.insert(args.end(), zone.begin(), zone.end());
        std::vector<char*> argv;
        for (std::string& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        if (posix_spawnp(&pid_, "dnsmasq", nullptr, nullptr, argv.data(), environ) != 0) pid_ = 0;
    }
    ~dnsmasq_server() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        ::waitpid(pid_, nullptr, 0);
    }
    dnsmasq_server(const dnsmasq_server&) = delete;
    dnsmasq_server& operator=(const dnsmasq_server&) = delete;

    bool started() const noexcept { return pid_ > 0; }
    uint16_t port() const noexcept { return port_; }

private:
    uint16_t port_;
    pid_t pid_ = 0;
};

} // namespace egress::test
