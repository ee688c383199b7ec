// The control socket: a Unix domain stream socket speaking one JSON object per
// line each way (docs/control-protocol.md). DPDK-free and single-threaded: the
// control thread calls poll() in its loop; commands run on that thread, one at a
// time, so they need no locking among themselves.
//
// Robustness: a request that is not JSON, not an object, names no or an unknown
// command, or carries unknown or ill-typed arguments gets {"ok":false,"error":...}
// and the connection stays open; a line over max_line bytes gets an error and the
// connection is closed; at most max_clients connections are served at once (more
// are accepted, answered with an error and closed). Nothing a client sends can
// stop the gateway.
#pragma once

#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace egress::controlplane {

using json = nlohmann::ordered_json;

// Thrown by a command for a bad request: the message becomes the "error".
struct request_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The arguments of one request, checked as they are read: every reader
// throws request_error with "<cmd>: <key>: expected ..., got <the JSON value>".
class request_args {
public:
    request_args(std::string cmd, const json& req) : cmd_(std::move(cmd)), req_(req) {}
    uint64_t get_uint(std::string_view key, uint64_t min, uint64_t max, uint64_t fallback) const;
    std::optional<std::string> get_string(std::string_view key) const;
    bool get_bool(std::string_view key, bool fallback) const;
    [[noreturn]] void fail(std::string_view key, std::string_view expected) const;
    const std::string& cmd() const noexcept { return cmd_; }

private:
    const json* find(std::string_view key) const;
    std::string cmd_;
    const json& req_;
};

class control_server {
public:
    static constexpr std::size_t max_line = 64 * 1024;
    static constexpr std::size_t max_clients = 16;

    // Returns the response fields (besides "ok"); throws request_error.
    using handler = std::function<json(const request_args&)>;

    // Creates the socket at path with mode 0600. A stale socket file (nobody
    // listening) is replaced; anything else at path is an error. Throws
    // std::runtime_error "control.socket: <path>: <why>".
    explicit control_server(std::string path);
    ~control_server(); // closes every connection and removes the socket file
    control_server(const control_server&) = delete;
    control_server& operator=(const control_server&) = delete;

    // arguments: the names a request may carry besides "cmd".
    void add(std::string cmd, std::vector<std::string> arguments, handler h);

    // Serves whatever is ready, waiting at most timeout_ms for something to be.
    void poll(int timeout_ms);

    // One request line -> one response line (without '\n'); the transport-free
    // core of poll(), for tests.
    std::string handle_line(std::string_view line);

    const std::string& path() const noexcept { return path_; }

private:
    struct command {
        std::vector<std::string> arguments;
        handler run;
    };
    struct client {
        int fd = -1;
        std::string in;
        std::string out;
        bool closing = false; // close once out is sent
    };

    void accept_clients();
    void read_from(client& c);
    void write_to(client& c);

    std::string path_;
    int listen_fd_ = -1;
    std::map<std::string, command, std::less<>> commands_;
    std::vector<client> clients_;
};

} // namespace egress::controlplane
