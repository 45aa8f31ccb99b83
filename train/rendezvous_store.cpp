// The protocol. Every message is a frame: a 4-byte little-endian length N (at most kMaxMessage),
// then N bytes. A client's first frame is the hello, "seqlab-store/1\n" followed by the job's
// token; the server answers "ok", or "refused" and closes. Then each request frame is one byte of
// operation, a 4-byte field count and the fields (each a 4-byte length and its bytes); the server
// answers each with one frame: a value's bytes, an 8-byte little-endian integer or a 1-byte
// boolean. GET and WAIT are answered when their keys exist, so a client has at most one request
// outstanding. Anything else (a frame too long, a malformed request, a second request before the
// first is answered) closes that connection and only that one.
#include "train/rendezvous_store.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "core/error.h"

namespace seqlab {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint32_t kMaxMessage = 16u << 20;
constexpr uint32_t kMaxFields = 1024;
constexpr size_t kMaxConnections = 256;
constexpr auto kHelloTimeout = std::chrono::seconds(10);
const std::string kHello = "seqlab-store/1\n";

enum Op : uint8_t { kSet = 1, kGet, kAdd, kCheck, kWait, kDelete, kNumKeys, kCompareSet };

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}
uint32_t get_u32(const std::string& s, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(s[at + size_t(i)]);
  return v;
}
std::string i64_bytes(int64_t value) {
  std::string out;
  const auto v = static_cast<uint64_t>(value);
  for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}
int64_t bytes_i64(const std::string& s) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(s[size_t(i)]);
  return static_cast<int64_t>(v);
}
std::string frame(const std::string& body) {
  std::string out;
  put_u32(out, static_cast<uint32_t>(body.size()));
  return out + body;
}
std::string to_string(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }
std::vector<uint8_t> to_bytes(const std::string& s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL, 0) | O_NONBLOCK); }

struct AddressList {
  addrinfo* list = nullptr;
  ~AddressList() {
    if (list) freeaddrinfo(list);
  }
};

void resolve(const std::string& address, int port, AddressList& out) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  const std::string service = std::to_string(port);
  const int rc = getaddrinfo(address.c_str(), service.c_str(), &hints, &out.list);
  if (rc != 0) throw Error(fmt::format("cannot resolve {}: {}", address, gai_strerror(rc)));
}

}  // namespace

bool parse_store_request(const std::string& body, StoreRequest& request) {
  if (body.size() < 5) return false;
  request.op = static_cast<uint8_t>(body[0]);
  if (request.op < kSet || request.op > kCompareSet) return false;
  const uint32_t count = get_u32(body, 1);
  if (count > kMaxFields) return false;
  request.fields.clear();
  size_t at = 5;
  for (uint32_t i = 0; i < count; ++i) {
    if (body.size() - at < 4) return false;
    const uint32_t length = get_u32(body, at);
    at += 4;
    if (body.size() - at < length) return false;
    request.fields.push_back(body.substr(at, length));
    at += length;
  }
  if (at != body.size()) return false;
  // The fields each operation takes.
  switch (request.op) {
    case kSet:
      return count == 2;
    case kGet:
    case kDelete:
      return count == 1;
    case kAdd:
      return count == 2 && request.fields[1].size() == 8;
    case kCheck:
    case kWait:
      return count >= 1;
    case kNumKeys:
      return count == 0;
    case kCompareSet:
      return count == 3;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Server: one thread, poll() over the listening socket, a wake-up pipe and every connection.

class RendezvousStore::Server {
 public:
  Server(const std::string& address, int port, std::string token) : token_(std::move(token)) {
    AddressList addresses;
    resolve(address, port, addresses);
    std::string last_error = "no address";
    for (addrinfo* a = addresses.list; a; a = a->ai_next) {
      const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
      if (fd < 0) continue;
      const int one = 1;
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 128) == 0) {
        listen_fd_ = fd;
        break;
      }
      last_error = std::strerror(errno);
      ::close(fd);
    }
    if (listen_fd_ < 0)
      throw Error(fmt::format(
          "cannot listen on {}:{} ({}); is the port in use, or the address not this machine's?",
          address, port, last_error));
    sockaddr_storage bound{};
    socklen_t length = sizeof bound;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &length);
    port_ = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                        : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    set_nonblocking(listen_fd_);
    if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0)
      throw Error("cannot create a pipe for the store's server");
    thread_ = std::thread([this] { loop(); });
  }

  ~Server() {
    stop_ = true;
    const char byte = 0;
    (void)!::write(wake_[1], &byte, 1);
    if (thread_.joinable()) thread_.join();
    for (auto& c : connections_) ::close(c.fd);
    ::close(listen_fd_);
    ::close(wake_[0]);
    ::close(wake_[1]);
  }

  int port() const { return port_; }

 private:
  struct Connection {
    int fd = -1;
    std::string in, out;
    bool greeted = false, closing = false;
    Clock::time_point hello_deadline;
    std::optional<StoreRequest> pending;  // a GET or WAIT whose keys are not all there yet
  };

  void loop() {
    while (!stop_) {
      std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      for (const auto& c : connections_)
        fds.push_back({c.fd, static_cast<short>(POLLIN | (c.out.empty() ? 0 : POLLOUT)), 0});
      ::poll(fds.data(), fds.size(), 500);
      if (stop_) break;
      const auto now = Clock::now();
      if (fds[0].revents & POLLIN) accept_all(now);
      for (size_t i = 0; i < connections_.size() && i + 2 < fds.size(); ++i) {
        auto& c = connections_[i];
        const short events = fds[i + 2].revents;
        if (events & (POLLERR | POLLNVAL)) c.closing = true, c.out.clear();
        if (!c.closing && (events & (POLLIN | POLLHUP))) receive(c);
        if (!c.out.empty() && (events & POLLOUT)) send_some(c);
        if (!c.greeted && now > c.hello_deadline)
          c.closing = true, c.out.clear();  // said nothing useful
      }
      // Closed connections go once their last words (a refusal) are sent.
      for (auto it = connections_.begin(); it != connections_.end();) {
        if (it->closing && it->out.empty()) {
          ::close(it->fd);
          it = connections_.erase(it);
        } else {
          ++it;
        }
      }
    }
  }

  void accept_all(Clock::time_point now) {
    for (;;) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      if (connections_.size() >= kMaxConnections) {
        ::close(fd);
        continue;
      }
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      Connection c;
      c.fd = fd;
      c.hello_deadline = now + kHelloTimeout;
      connections_.push_back(std::move(c));
    }
  }

  void receive(Connection& c) {
    char buffer[65536];
    for (;;) {
      const ssize_t n = ::recv(c.fd, buffer, sizeof buffer, 0);
      if (n > 0) {
        c.in.append(buffer, size_t(n));
        if (c.in.size() > 4 + size_t(kMaxMessage)) return drop(c);
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) return drop(c);
      if (errno == EINTR) continue;
      break;
    }
    while (!c.closing && c.in.size() >= 4) {
      const uint32_t length = get_u32(c.in, 0);
      if (length > kMaxMessage) return drop(c);
      if (c.in.size() < 4 + size_t(length)) break;
      const std::string body = c.in.substr(4, length);
      c.in.erase(0, 4 + size_t(length));
      handle(c, body);
    }
  }

  void drop(Connection& c) {
    c.closing = true;
    c.out.clear();
    c.pending.reset();
  }

  void handle(Connection& c, const std::string& body) {
    if (!c.greeted) {
      if (body == kHello + token_) {
        c.greeted = true;
        c.out += frame("ok");
      } else {
        c.out += frame("refused");
        c.closing = true;
      }
      return;
    }
    StoreRequest request;
    if (c.pending || !parse_store_request(body, request)) return drop(c);
    const auto& f = request.fields;
    switch (request.op) {
      case kSet:
        data_[f[0]] = f[1];
        c.out += frame("");
        break;
      case kAdd: {
        auto it = data_.find(f[0]);
        int64_t value = it == data_.end() ? 0 : std::strtoll(it->second.c_str(), nullptr, 10);
        value += bytes_i64(f[1]);
        data_[f[0]] = std::to_string(value);  // as TCPStore keeps counters: decimal text
        c.out += frame(i64_bytes(value));
        break;
      }
      case kCheck: {
        bool all = true;
        for (const auto& key : f) all = all && data_.count(key);
        c.out += frame(std::string(1, all ? '\1' : '\0'));
        break;
      }
      case kDelete:
        c.out += frame(std::string(1, data_.erase(f[0]) ? '\1' : '\0'));
        break;
      case kNumKeys:
        c.out += frame(i64_bytes(static_cast<int64_t>(data_.size())));
        break;
      case kCompareSet: {  // TCPStore's semantics
        auto it = data_.find(f[0]);
        if (it == data_.end()) {
          if (f[1].empty()) data_[f[0]] = f[2];
          c.out += frame(f[1].empty() ? f[2] : f[1]);
        } else {
          if (it->second == f[1]) it->second = f[2];
          c.out += frame(it->second);
        }
        break;
      }
      case kGet:
      case kWait:
        c.pending = request;
        break;
    }
    answer_waiting();
    if (c.out.size() > 2 * size_t(kMaxMessage)) drop(c);  // a peer that never reads its answers
  }

  // GET and WAIT requests whose keys have all arrived.
  void answer_waiting() {
    for (auto& c : connections_) {
      if (!c.pending) continue;
      bool all = true;
      for (const auto& key : c.pending->fields) all = all && data_.count(key);
      if (!all) continue;
      c.out += frame(c.pending->op == kGet ? data_[c.pending->fields[0]] : std::string());
      c.pending.reset();
    }
  }

  void send_some(Connection& c) {
    while (!c.out.empty()) {
      const ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (n > 0) {
        c.out.erase(0, size_t(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      if (n < 0 && errno == EINTR) continue;
      c.out.clear();
      c.closing = true;
      return;
    }
  }

  std::string token_;
  int listen_fd_ = -1, port_ = 0;
  int wake_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<Connection> connections_;
  std::map<std::string, std::string> data_;
};

// ---------------------------------------------------------------------------------------------
// Client: one connection, one request at a time.

class RendezvousStore::Client {
 public:
  Client(const RendezvousOptions& options, int port)
      : where_(fmt::format("{}:{}", options.address, port)) {
    const auto deadline = Clock::now() + options.timeout;
    std::string last_error = "no answer";
    while (fd_ < 0) {
      AddressList addresses;
      resolve(options.address, port, addresses);
      for (addrinfo* a = addresses.list; a && fd_ < 0; a = a->ai_next) {
        const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
          fd_ = fd;
        } else {
          last_error = std::strerror(errno);
          ::close(fd);
        }
      }
      if (fd_ >= 0) break;
      if (Clock::now() > deadline)
        throw Error(fmt::format("no store answered at {} ({})", where_, last_error));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    send_frame(kHello + options.token, deadline);
    if (receive_frame(deadline, "the store's hello") != "ok")
      throw Error(
          fmt::format("the store at {} refused this rank: another job's store, or a different "
                      "SEQLAB_STORE_TOKEN",
                      where_));
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }

  std::string request(uint8_t op, const std::vector<std::string>& fields,
                      std::chrono::milliseconds timeout, const std::string& what) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (broken_)
      throw Error(fmt::format("the connection to the store at {} was lost earlier", where_));
    std::string body(1, static_cast<char>(op));
    put_u32(body, static_cast<uint32_t>(fields.size()));
    for (const auto& f : fields) {
      put_u32(body, static_cast<uint32_t>(f.size()));
      body += f;
    }
    const auto deadline = timeout.count() > 0 ? Clock::now() + timeout : Clock::time_point::max();
    send_frame(body, deadline);
    return receive_frame(deadline, what);
  }

 private:
  void send_frame(const std::string& body, Clock::time_point deadline) {
    if (body.size() > kMaxMessage) throw Error("store: a message over 16 MiB");
    const std::string bytes = frame(body);
    size_t sent = 0;
    while (sent < bytes.size()) {
      wait_for(POLLOUT, deadline, "sending to the store");
      const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        fail(fmt::format("the store at {} closed the connection ({})", where_,
                         std::strerror(errno)));
      sent += size_t(n);
    }
  }

  std::string receive_frame(Clock::time_point deadline, const std::string& what) {
    std::string header = read_exactly(4, deadline, what);
    const uint32_t length = get_u32(header, 0);
    if (length > kMaxMessage)
      fail(fmt::format("the store at {} sent a message of {} bytes", where_, length));
    return read_exactly(length, deadline, what);
  }

  std::string read_exactly(size_t count, Clock::time_point deadline, const std::string& what) {
    std::string out(count, '\0');
    size_t got = 0;
    while (got < count) {
      wait_for(POLLIN, deadline, what);
      const ssize_t n = ::recv(fd_, out.data() + got, count - got, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        fail(fmt::format("the store at {} closed the connection (rank 0 has stopped?)", where_));
      got += size_t(n);
    }
    return out;
  }

  void wait_for(short events, Clock::time_point deadline, const std::string& what) {
    for (;;) {
      int wait_ms = 1000;
      if (deadline != Clock::time_point::max()) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) fail(fmt::format("timed out at the store {} waiting for {}", where_, what));
        wait_ms = static_cast<int>(std::min<int64_t>(left, 1000));
      }
      pollfd p{fd_, events, 0};
      const int rc = ::poll(&p, 1, wait_ms);
      if (rc > 0) return;
      if (rc < 0 && errno != EINTR)
        fail(fmt::format("poll on the store connection: {}", std::strerror(errno)));
    }
  }

  [[noreturn]] void fail(const std::string& message) {
    broken_ =
        true;  // a reply may still be on its way: this connection cannot be trusted to line up
    throw Error(message);
  }

  std::string where_;
  int fd_ = -1;
  bool broken_ = false;
  std::mutex mutex_;
};

// ---------------------------------------------------------------------------------------------

RendezvousStore::RendezvousStore(const RendezvousOptions& options) : c10d::Store(options.timeout) {
  int port = options.port;
  if (options.is_server) {
    server_ = std::make_unique<Server>(options.address, options.port, options.token);
    port = server_->port();
  }
  client_ = std::make_unique<Client>(options, port);
}

RendezvousStore::~RendezvousStore() {
  client_.reset();
  server_.reset();
}

int RendezvousStore::port() const { return server_ ? server_->port() : 0; }

void RendezvousStore::set(const std::string& key, const std::vector<uint8_t>& value) {
  client_->request(kSet, {key, to_string(value)}, timeout_, "set " + key);
}

std::vector<uint8_t> RendezvousStore::compareSet(const std::string& key,
                                                 const std::vector<uint8_t>& expected,
                                                 const std::vector<uint8_t>& desired) {
  return to_bytes(client_->request(kCompareSet, {key, to_string(expected), to_string(desired)},
                                   timeout_, "compare-set " + key));
}

std::vector<uint8_t> RendezvousStore::get(const std::string& key) {
  return to_bytes(client_->request(kGet, {key}, timeout_, "key " + key));
}

int64_t RendezvousStore::add(const std::string& key, int64_t value) {
  const std::string reply = client_->request(kAdd, {key, i64_bytes(value)}, timeout_, "add " + key);
  if (reply.size() != 8) throw Error("store: a malformed answer to add");
  return bytes_i64(reply);
}

bool RendezvousStore::deleteKey(const std::string& key) {
  return client_->request(kDelete, {key}, timeout_, "delete " + key) == std::string(1, '\1');
}

bool RendezvousStore::check(const std::vector<std::string>& keys) {
  return client_->request(kCheck, keys, timeout_, "check") == std::string(1, '\1');
}

int64_t RendezvousStore::getNumKeys() {
  const std::string reply = client_->request(kNumKeys, {}, timeout_, "the number of keys");
  if (reply.size() != 8) throw Error("store: a malformed answer to getNumKeys");
  return bytes_i64(reply);
}

void RendezvousStore::wait(const std::vector<std::string>& keys) { wait(keys, timeout_); }

void RendezvousStore::wait(const std::vector<std::string>& keys,
                           const std::chrono::milliseconds& timeout) {
  if (keys.empty()) return;
  client_->request(kWait, keys, timeout, fmt::format("keys {}", keys.front()));
}

}  // namespace seqlab
