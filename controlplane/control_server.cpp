#include "control_server.hpp"

#include <cerrno>
#include <algorithm>
#include <cstring>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/format.h>

namespace egress::controlplane {

namespace {

std::string list_phrase(const std::vector<std::string>& names) {
    std::string out;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (i != 0) out += i + 1 == names.size() ? " or " : ", ";
        out += names[i];
    }
    return out;
}

// Every response is dumped this way: text that is not UTF-8 (from a handler or
// an exception) becomes U+FFFD instead of throwing out of the server.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string value_text(const json& v) {
    std::string s = dump(v);
    if (s.size() <= 80) return s;
    std::size_t cut = 77;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut; // not inside a UTF-8 character
    return s.substr(0, cut) + "...";
}

std::string error_response(std::string_view message) {
    json r;
    r["ok"] = false;
    r["error"] = message;
    return dump(r);
}

sockaddr_un socket_address(const std::string& path) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, path.data(), std::min(path.size(), sizeof(a.sun_path) - 1));
    return a;
}

} // namespace

const json* request_args::find(std::string_view key) const {
    const auto it = req_.find(key);
    return it == req_.end() ? nullptr : &*it;
}

void request_args::fail(std::string_view key, std::string_view expected) const {
    const json* v = find(key);
    throw request_error(fmt::format("{}: {}: expected {}, got {}", cmd_, key, expected, v ? value_text(*v) : "nothing"));
}

uint64_t request_args::get_uint(std::string_view key, uint64_t min, uint64_t max, uint64_t fallback) const {
    const json* v = find(key);
    if (v == nullptr) return fallback;
    if (!v->is_number_integer() || (v->is_number_integer() && !v->is_number_unsigned()) ||
        v->get<uint64_t>() < min || v->get<uint64_t>() > max)
        fail(key, fmt::format("an integer from {} to {}", min, max));
    return v->get<uint64_t>();
}

bool request_args::get_bool(std::string_view key, bool fallback) const {
    const json* v = find(key);
    if (v == nullptr) return fallback;
    if (!v->is_boolean()) fail(key, "true or false");
    return v->get<bool>();
}

std::optional<std::string> request_args::get_string(std::string_view key) const {
    const json* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) fail(key, "a string");
    return v->get<std::string>();
}

control_server::control_server(std::string path) : path_(std::move(path)) {
    const auto fail = [&](std::string_view why) {
        if (listen_fd_ >= 0) ::close(listen_fd_);
        throw std::runtime_error(fmt::format("control.socket: {}: {}", path_, why));
    };
    if (path_.empty() || path_.size() >= sizeof(sockaddr_un::sun_path)) fail("path too long or empty");
    const sockaddr_un addr = socket_address(path_);
    struct stat st{};
    if (::lstat(path_.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) fail("exists and is not a socket");
        // A socket someone still listens on belongs to another running gateway.
        // Non-blocking: a live server with a full backlog answers EAGAIN at once
        // (still "in use"); only a refused connection means nobody listens.
        const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        const bool live = probe >= 0 && (::connect(probe, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0 ||
                                         errno == EAGAIN || errno == EINPROGRESS);
        if (probe >= 0) ::close(probe);
        if (live) fail("in use by another process");
        ::unlink(path_.c_str());
    }
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (listen_fd_ < 0) fail(std::strerror(errno));
    // Created 0600 from the start (the umask applies to bind); restored at once.
    const mode_t old_mask = ::umask(0177);
    const int bound = ::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
    const int bind_errno = errno;
    ::umask(old_mask);
    if (bound != 0) fail(std::strerror(bind_errno));
    if (::listen(listen_fd_, 16) != 0) fail(std::strerror(errno));
}

control_server::~control_server() {
    for (auto& c : clients_) ::close(c.fd);
    if (listen_fd_ >= 0) {
        ::close(listen_fd_);
        ::unlink(path_.c_str());
    }
}

void control_server::add(std::string cmd, std::vector<std::string> arguments, handler h) {
    commands_[std::move(cmd)] = command{std::move(arguments), std::move(h)};
}

std::string control_server::handle_line(std::string_view line) {
    json req;
    try {
        req = json::parse(line);
    } catch (const json::parse_error& e) {
        return error_response(fmt::format("malformed request: not JSON (error at byte {})", e.byte));
    }
    if (!req.is_object()) return error_response(fmt::format("expected a JSON object like {{\"cmd\":\"status\"}}, got {}", value_text(req)));
    std::vector<std::string> names;
    for (const auto& [name, c] : commands_) names.push_back(name);
    const auto cmd = req.find("cmd");
    if (cmd == req.end() || !cmd->is_string())
        return error_response(fmt::format("cmd: expected one of {}, got {}", list_phrase(names),
                                          cmd == req.end() ? std::string("nothing") : value_text(*cmd)));
    const auto found = commands_.find(cmd->get<std::string>());
    if (found == commands_.end())
        return error_response(fmt::format("cmd: expected one of {}, got {}", list_phrase(names), value_text(*cmd)));
    const command& c = found->second;
    for (const auto& [key, value] : req.items()) {
        if (key == "cmd" || std::find(c.arguments.begin(), c.arguments.end(), key) != c.arguments.end()) continue;
        return error_response(c.arguments.empty()
                                  ? fmt::format("{}: unknown argument \"{}\" (it takes none)", found->first, key)
                                  : fmt::format("{}: unknown argument \"{}\" (expected {})", found->first, key,
                                                list_phrase(c.arguments)));
    }
    try {
        const json fields = c.run(request_args(found->first, req));
        json out;
        out["ok"] = true;
        for (const auto& [k, v] : fields.items()) out[k] = v;
        return dump(out);
    } catch (const request_error& e) {
        return error_response(e.what());
    } catch (const std::exception& e) {
        return error_response(fmt::format("{}: failed: {}", found->first, e.what()));
    }
}

void control_server::accept_clients() {
    for (;;) {
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        client c;
        c.fd = fd;
        if (clients_.size() >= max_clients) {
            c.out = error_response(fmt::format("too many connections (at most {})", max_clients)) + "\n";
            c.closing = true;
        }
        clients_.push_back(std::move(c));
    }
}

void control_server::read_from(client& c) {
    char buf[16384];
    for (;;) {
        const ssize_t n = ::recv(c.fd, buf, sizeof(buf), 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            c.closing = true; // the peer is gone (or half-closed): answer what it sent, then close
            break;
        }
        if (n < 0) break;
        c.in.append(buf, static_cast<std::size_t>(n));
        std::size_t nl;
        while ((nl = c.in.find('\n')) != std::string::npos && nl <= max_line) {
            std::string_view line(c.in.data(), nl);
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            if (!line.empty()) c.out += handle_line(line) + "\n";
            c.in.erase(0, nl + 1);
        }
        // A line is refused whether its end has arrived (in the same read) or not.
        if ((nl == std::string::npos ? c.in.size() : nl) > max_line) {
            c.out += error_response(fmt::format("request line longer than {} bytes", max_line)) + "\n";
            c.in.clear();
            c.closing = true;
            break;
        }
    }
}

void control_server::write_to(client& c) {
    while (!c.out.empty()) {
        const ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) return;
            c.out.clear(); // the peer went away
            c.closing = true;
            return;
        }
        c.out.erase(0, static_cast<std::size_t>(n));
    }
}

void control_server::poll(int timeout_ms) {
    std::vector<pollfd> fds;
    fds.push_back({listen_fd_, POLLIN, 0});
    for (const auto& c : clients_)
        // A client that does not read its answers is not read from either.
        fds.push_back({c.fd,
                       static_cast<short>((c.closing || c.out.size() > max_line * 16 ? 0 : POLLIN) |
                                          (c.out.empty() ? 0 : POLLOUT)),
                       0});
    if (::poll(fds.data(), fds.size(), timeout_ms) <= 0) return;
    // Connections that are over and answered are closed at once (a refused
    // one waits for no further event).
    const auto close_finished = [this] {
        std::erase_if(clients_, [](const client& c) {
            if (!c.closing || !c.out.empty()) return false;
            ::close(c.fd);
            return true;
        });
    };
    for (std::size_t i = 0; i < clients_.size(); ++i) {
        const short ev = fds[i + 1].revents;
        if (ev & (POLLIN | POLLHUP | POLLERR)) read_from(clients_[i]);
        write_to(clients_[i]);
    }
    close_finished(); // before accepting: their places are free
    if (fds[0].revents & POLLIN) accept_clients();
    for (auto& c : clients_) write_to(c); // answer refused connections at once
    close_finished();
}

} // namespace egress::controlplane
