// The HTTP transport under attack (issue 8, 10b, 10e, 10g): idle and trickling connections and
// long queries do not starve other clients; smuggling-prone heads, impossible lengths, Range,
// long pipelines and gzip bombs get a prompt, explicit answer. Raw sockets on 127.0.0.1 only.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "api/request_head.h"
#include "api/request_limits.h"
#include "api/router.h"
#include "test_util.h"

namespace swan::testing {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// A connection to the server; reads give up after `timeout_s` (so that a test of a server that
// holds a connection fails in bounded time instead of hanging).
int ConnectLoopback(int port, int timeout_s = 5) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{timeout_s, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  return fd;
}

bool SendAll(int fd, const std::string& bytes) {
  for (size_t off = 0; off < bytes.size();) {
    ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// Everything until the server closes (or the read timeout passes).
std::string ReceiveUntilClosed(int fd) {
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

// One complete answer (head and Content-Length body), leaving the connection open.
std::string ReceiveAnswer(int fd) {
  std::string out;
  char buf[65536];
  for (;;) {
    size_t head_end = out.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      size_t at = out.find("Content-Length: ");
      size_t length = at == std::string::npos ? 0 : std::stoul(out.substr(at + 16));
      if (out.size() >= head_end + 4 + length) return out;
    }
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

int StatusOf(const std::string& answer) {
  if (answer.rfind("HTTP/1.1 ", 0) != 0 || answer.size() < 12) return 0;
  return std::stoi(answer.substr(9, 3));
}

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t count = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1))
    ++count;
  return count;
}

struct Exchange {
  std::string answer;
  double ms = 0;  // from the first byte sent to the end of the answer
};

// Sends `bytes` on a fresh connection and reads until the server closes it.
Exchange Raw(int port, const std::string& bytes) {
  Exchange out;
  int fd = ConnectLoopback(port);
  if (fd < 0) return out;
  const auto start = Clock::now();
  if (SendAll(fd, bytes)) out.answer = ReceiveUntilClosed(fd);
  out.ms = MsSince(start);
  ::close(fd);
  return out;
}

uint64_t TreeBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

// --- Request heads, without a server ---

api::HeadScan Scan(const std::string& bytes, uint64_t body_max = 1000) {
  size_t scanned = 0;
  return api::ScanRequestHead(bytes, body_max, &scanned);
}

TEST(RequestHeadTest, CompleteHeadsAndTheirFraming) {
  EXPECT_EQ(Scan("GET /v1/health HTTP/1.1\r\nHost: t\r\n").state, api::HeadScan::kIncomplete);
  auto get = Scan("GET /v1/health HTTP/1.1\r\nHost: t\r\n\r\nGET /next");
  ASSERT_EQ(get.state, api::HeadScan::kComplete);
  EXPECT_EQ(get.head.head_bytes, 36u);
  EXPECT_EQ(get.head.framing, api::BodyFraming::kNone);
  auto post = Scan("POST /x HTTP/1.1\r\ncontent-length:  12 \r\n\r\n");
  ASSERT_EQ(post.state, api::HeadScan::kComplete);
  EXPECT_EQ(post.head.content_length, 12u);
  EXPECT_TRUE(post.head.BodyIsPreread());
  auto chunked = Scan("POST /x HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n");
  EXPECT_EQ(chunked.head.framing, api::BodyFraming::kChunked);
  auto expect = Scan("POST /x HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_FALSE(expect.head.BodyIsPreread());

  // A head trickling in byte by byte is scanned once (the resume point moves on).
  const std::string head = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
  size_t scanned = 0;
  api::HeadScan scan;
  for (size_t n = 1; n <= head.size(); ++n)
    scan = api::ScanRequestHead(head.substr(0, n), 0, &scanned);
  EXPECT_EQ(scan.state, api::HeadScan::kComplete);
}

TEST(RequestHeadTest, SmugglingAndImpossibleLengthsAreRejected) {
  struct Case {
    std::string head;
    int status;
  };
  const std::vector<Case> cases = {
      {"POST /x HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 400},
      {"POST /x HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"POST /x HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 400},
      {"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"POST /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
      {"POST /x HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", 400},
      {"POST /x HTTP/1.1\r\nContent-Length:\r\n\r\n", 400},
      {"POST /x HTTP/1.1\r\nContent-Length: 1001\r\n\r\n", 413},
      {"POST /x HTTP/1.1\r\nContent-Length: 99999999999999999999999999\r\n\r\n", 413},
      {"POST /x HTTP/1.1\r\nContent-Length : 5\r\n\r\n", 400},
      {"POST /x HTTP/1.1\r\n Content-Length: 5\r\n\r\n", 400},
      {"GET /x HTTP/1.1\nHost: t\n\n", 400},
      {"GET /x HTTP/1.1\r\nHost: t\n\r\n", 400},
      {"GET /x HTTP/1.1\r\nContent-Length: 3\r\n\r\n", 400},
      {"DELETE /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"\r\n\r\n", 400},
      {"GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n\r\n", 414},
      {"GET / HTTP/1.1\r\nX: " + std::string(40000, 'a'), 431},
  };
  for (const Case& c : cases) {
    auto scan = Scan(c.head, 1000);
    EXPECT_EQ(scan.state, api::HeadScan::kRejected) << c.head.substr(0, 80);
    EXPECT_EQ(scan.http_status, c.status) << c.head.substr(0, 80) << ": " << scan.message;
  }
}

TEST(HeavyRequestLimiterTest, BoundedPerTokenAndInAll) {
  api::HeavyRequestLimiter limiter;
  api::HeavyRequestLimiter::Refusal refusal;
  std::vector<api::HeavyRequestLimiter::Slot> held;
  for (int i = 0; i < api::kHeavyPerTokenMax; ++i) {
    held.push_back(limiter.TryAcquire(1, &refusal));
    ASSERT_TRUE(held.back().ok());
  }
  EXPECT_FALSE(limiter.TryAcquire(1, &refusal).ok());
  EXPECT_EQ(refusal.http_status, 429);
  for (int64_t token = 2; limiter.in_use() < api::kHeavyMax; ++token) {
    for (int i = 0; i < api::kHeavyPerTokenMax && limiter.in_use() < api::kHeavyMax; ++i)
      held.push_back(limiter.TryAcquire(token, &refusal));
  }
  EXPECT_FALSE(limiter.TryAcquire(999, &refusal).ok());
  EXPECT_EQ(refusal.http_status, 503);
  held.erase(held.begin());  // token 1 finishes one
  EXPECT_TRUE(limiter.TryAcquire(1, &refusal).ok());
  held.clear();
  EXPECT_EQ(limiter.in_use(), 0);
}

// --- Against a running server ---

class TransportTest : public SharedServerTest {
 protected:
  // A new project; returns its master token.
  std::string NewProject(const std::string& name) {
    auto r = HttpCall(
        "POST", server_->url() + "/v1/projects",
        {"Authorization: Bearer " + server_->admin_token(), "Content-Type: application/json"},
        json{{"name", name}}.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    auto body = json::parse(r.body, nullptr, false);
    return body.is_discarded() ? "" : body["token"].value("secret", "");
  }
  long StatusOfGet(const std::string& path) {
    return HttpCall("GET", server_->url() + path,
                    {"Authorization: Bearer " + server_->admin_token()})
        .status;
  }
  std::string Admin() const { return "Authorization: Bearer " + server_->admin_token() + "\r\n"; }
};

TEST_F(TransportTest, TwoContentLengthsAreRefused) {
  const std::string body = R"({"name": "dup"})";
  auto r = Raw(server_->port(), "POST /v1/projects HTTP/1.1\r\nHost: t\r\n" + Admin() +
                                    "Content-Length: " + std::to_string(body.size()) +
                                    "\r\nContent-Length: " + std::to_string(body.size()) +
                                    "\r\n\r\n" + body);
  EXPECT_EQ(StatusOf(r.answer), 400) << r.answer;
  EXPECT_NE(r.answer.find("Content-Length"), std::string::npos) << r.answer;
  EXPECT_EQ(StatusOfGet("/v1/projects/dup"), 404);
}

TEST_F(TransportTest, ContentLengthWithChunkedIsRefused) {
  const std::string body = R"({"name": "te"})";
  char size[16];
  std::snprintf(size, sizeof(size), "%zx", body.size());
  auto r = Raw(server_->port(), "POST /v1/projects HTTP/1.1\r\nHost: t\r\n" + Admin() +
                                    "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n" +
                                    size + "\r\n" + body + "\r\n0\r\n\r\n");
  EXPECT_EQ(StatusOf(r.answer), 400) << r.answer;
  EXPECT_EQ(StatusOfGet("/v1/projects/te"), 404);
}

TEST_F(TransportTest, NegativeOrHugeContentLengthIsAnsweredAtOnce) {
  const std::string token = NewProject("lengths");
  struct Case {
    std::string length;
    int status;
  };
  const std::vector<Case> cases = {
      {"-1", 400},
      {"-100", 400},
      {"18446744073709551616", 413},  // 2^64
      {"99999999999999999999999", 413},
      {std::to_string(api::kUploadBytesMax + 1), 413},
  };
  for (const Case& c : cases) {
    auto r = Raw(server_->port(),
                 "POST /v1/projects/lengths/tables/in.b.t/import HTTP/1.1\r\nHost: t\r\n"
                 "Authorization: Bearer " +
                     token + "\r\nContent-Length: " + c.length + "\r\n\r\nid,name\n1,a\n");
    EXPECT_EQ(StatusOf(r.answer), c.status) << c.length << ": " << r.answer;
    EXPECT_LT(r.ms, 1000) << "Content-Length " << c.length << " held the connection";
  }
}

TEST_F(TransportTest, PostToNoRouteIsAnsweredWithoutReadingTheBody) {
  // httplib reads the body of an unrouted POST into memory before its 404: 10 GB, unauthenticated.
  const auto start = Clock::now();
  int fd = ConnectLoopback(server_->port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(SendAll(fd, "POST /v1/no/such/route HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                              std::to_string(10ull << 30) + "\r\n\r\n" +
                              std::string(1 << 20, 'x')));
  const std::string answer = ReceiveUntilClosed(fd);
  ::close(fd);
  EXPECT_EQ(StatusOf(answer), 404) << answer;
  EXPECT_NE(answer.find("no route POST /v1/no/such/route"), std::string::npos) << answer;
  EXPECT_LT(MsSince(start), 3000);  // the answer, then at most the 2 s lingering close
}

TEST_F(TransportTest, HeadWithBareLineFeedsIsRefused) {
  // httplib skips header lines without CR; a proxy may not: refused, not misread.
  auto r = Raw(server_->port(), "GET /v1/health HTTP/1.1\nHost: t\nConnection: close\n\n");
  EXPECT_EQ(StatusOf(r.answer), 400) << r.answer;
  EXPECT_LT(r.ms, 1000);
}

TEST_F(TransportTest, GetWithABodyIsRefusedInsteadOfParsingTheBodyAsARequest) {
  const std::string smuggled = "GET /v1/token HTTP/1.1\r\nHost: t\r\n" + Admin() + "\r\n";
  auto r = Raw(server_->port(), "GET /v1/health HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                                    std::to_string(smuggled.size()) + "\r\n\r\n" + smuggled);
  EXPECT_EQ(StatusOf(r.answer), 400) << r.answer;
  EXPECT_EQ(Count(r.answer, "HTTP/1.1 "), 1u) << r.answer;
}

TEST_F(TransportTest, ManyPipelinedRequestsAreAllAnswered) {
  std::string bytes;
  for (int i = 0; i < 20; ++i) bytes += "GET /v1/health HTTP/1.1\r\nHost: t\r\n\r\n";
  bytes += "GET /v1/health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
  auto r = Raw(server_->port(), bytes);
  EXPECT_EQ(Count(r.answer, "HTTP/1.1 200 OK"), 21u) << r.answer.substr(0, 2000);
}

TEST_F(TransportTest, RangeOnExportIsIgnored) {
  const std::string token = NewProject("ranges");
  std::string csv = "id,name\n";
  for (int i = 0; i < 1000; ++i) csv += std::to_string(i) + ",name" + std::to_string(i) + "\n";
  const std::string auth = "Authorization: Bearer " + token;
  const std::string table = server_->url() + "/v1/projects/ranges/tables/in.b.t";
  ASSERT_EQ(HttpCall("POST", table + "/import", {auth}, csv).status, 200);
  auto whole = HttpCall("GET", table + "/export", {auth});
  ASSERT_EQ(whole.status, 200) << whole.body;
  ASSERT_GT(whole.body.size(), 1000u);
  for (const std::string range : {"bytes=0-9", "bytes=-5", "bytes=0-1,5-6"}) {
    auto part = HttpCall("GET", table + "/export", {auth, "Range: " + range});
    EXPECT_EQ(part.status, 200) << range;
    EXPECT_TRUE(part.body == whole.body)
        << range << ": " << part.body.size() << " bytes of " << whole.body.size();
    EXPECT_EQ(part.headers.count("content-range"), 0u) << range;
  }
}

TEST_F(TransportTest, GzipBodyCutShortOrCorruptIsRefused) {
  const std::string token = NewProject("gzbody");
  std::string csv = "id,name\n";
  for (int i = 0; i < 20000; ++i) csv += std::to_string(i) + ",name" + std::to_string(i) + "\n";
  const std::string gz = Gzip(csv, 9);
  std::string bad_crc = gz;
  bad_crc[gz.size() - 8] ^= 0x01;
  const std::vector<std::string> auth = {"Authorization: Bearer " + token,
                                         "Content-Encoding: gzip"};
  const std::string url = server_->url() + "/v1/projects/gzbody/tables/in.b.t/import";
  for (const std::string& body : {gz.substr(0, gz.size() * 6 / 10), gz.substr(0, gz.size() - 8)}) {
    auto r = HttpCall("POST", url, auth, body);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(r.body.find("gzip stream truncated"), std::string::npos) << r.body;
  }
  // Chunked framing too (httplib would decode it itself).
  const std::string cut = gz.substr(0, gz.size() - 4);
  char size[16];
  std::snprintf(size, sizeof(size), "%zx", cut.size());
  auto chunked =
      Raw(server_->port(), "POST /v1/projects/gzbody/tables/in.b.t/import HTTP/1.1\r\nHost: t\r\n" +
                               auth[0] + "\r\n" + auth[1] +
                               "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
                               size + "\r\n" + cut + "\r\n0\r\n\r\n");
  EXPECT_EQ(StatusOf(chunked.answer), 400) << chunked.answer;
  EXPECT_NE(chunked.answer.find("gzip stream truncated"), std::string::npos) << chunked.answer;
  auto r = HttpCall("POST", url, auth, bad_crc);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("gzip CRC mismatch"), std::string::npos) << r.body;
  EXPECT_EQ(HttpCall("GET", url.substr(0, url.size() - 7), {auth[0]}).status, 404);
  r = HttpCall("POST", url, {auth[0], "Content-Encoding: br"}, csv);
  EXPECT_EQ(r.status, 400) << r.body;
  r = HttpCall("POST", url, auth, gz);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"row_count\":20000"), std::string::npos) << r.body;
}

// One gzip member of `mib` MiB of zeros (about 1000x smaller), compressed piece by piece.
std::string GzipZeros(size_t mib) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  const std::string zeros(1 << 20, '0');
  std::string out;
  char buf[1 << 16];
  for (size_t i = 0; i <= mib; ++i) {
    const bool last = i == mib;
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(zeros.data()));
    zs.avail_in = last ? 0 : static_cast<uInt>(zeros.size());
    do {
      zs.next_out = reinterpret_cast<Bytef*>(buf);
      zs.avail_out = sizeof(buf);
      deflate(&zs, last ? Z_FINISH : Z_NO_FLUSH);
      out.append(buf, sizeof(buf) - zs.avail_out);
    } while (zs.avail_out == 0);
  }
  deflateEnd(&zs);
  return out;
}

TEST_F(TransportTest, GzipBombIsRefusedEarlyAndLeavesNothingLarge) {
  const std::string token = NewProject("bomb");
  const std::string bomb = GzipZeros(256);  // ~260 KB that would expand to 256 MiB
  const uint64_t before = TreeBytes(server_->data_dir());
  // The data directory's largest size while the request runs.
  std::atomic<bool> done{false};
  std::atomic<uint64_t> peak{before};
  std::thread sampler([&] {
    while (!done) {
      peak = std::max<uint64_t>(peak, TreeBytes(server_->data_dir()));
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  const auto start = Clock::now();
  auto r = HttpCall("POST", server_->url() + "/v1/projects/bomb/tables/in.b.t/import",
                    {"Authorization: Bearer " + token, "Content-Encoding: gzip"}, bomb, 30);
  const double ms = MsSince(start);
  done = true;
  sampler.join();
  EXPECT_EQ(r.status, 413) << r.body << r.error;
  EXPECT_NE(r.body.find("decompression bomb"), std::string::npos) << r.body;
  EXPECT_LT(ms, 1000) << "time to refuse a " << bomb.size() << "-byte bomb";
  EXPECT_LT(peak - before, uint64_t{16} << 20) << "the data directory grew by " << (peak - before);
  std::printf(
      "gzip bomb of %zu bytes (256 MiB expanded) refused in %.0f ms; data dir peak +%llu bytes\n",
      bomb.size(), ms, static_cast<unsigned long long>(peak - before));
}

// --- One client starves everyone (10b) ---

// The test process opens thousands of sockets.
bool RaiseOpenFiles(rlim_t wanted) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return false;
  if (limit.rlim_cur >= wanted) return true;
  if (limit.rlim_max < wanted) {
    rlimit raised{wanted, wanted};  // root (CAP_SYS_RESOURCE) may raise the hard limit too
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) return true;
  }
  limit.rlim_cur = std::min(wanted, limit.rlim_max);
  return ::setrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur >= wanted;
}

TEST(TransportLoadTest, IdleAndTricklingConnectionsAndLongQueriesDoNotStarveOthers) {
  constexpr int kIdle = 2000;
  constexpr int kTrickling = 16;
  constexpr int kLongQueries = 8;
  constexpr int kSqlTimeoutMs = 11000;
  constexpr int kGets = 200;
  constexpr int kMeasureMsMax = 20000;  // keeps a starved server's test bounded in time
  // Not skipped when the machine cannot: a skipped test would count as passing.
  ASSERT_TRUE(RaiseOpenFiles(kIdle + 500))
      << "RLIMIT_NOFILE is too low for 2,000 sockets and cannot be raised (ulimit -n)";
  ServerProcess server;
  ASSERT_TRUE(server.ok()) << server.error();
  auto project = [&](const std::string& name) {
    auto r =
        HttpCall("POST", server.url() + "/v1/projects",
                 {"Authorization: Bearer " + server.admin_token()}, json{{"name", name}}.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body)["token"]["secret"].get<std::string>();
  };
  const std::string heavy_token = project("heavy");
  const std::string light_token = project("light");
  ASSERT_EQ(HttpCall("POST", server.url() + "/v1/projects/light/tables/in.b.t/import",
                     {"Authorization: Bearer " + light_token}, "id,name\n1,a\n")
                .status,
            200);

  // An unauthenticated client's idle connections.
  std::vector<int> idle;
  for (int i = 0; i < kIdle; ++i) {
    int fd = ConnectLoopback(server.port());
    ASSERT_GE(fd, 0) << "connection " << i;
    idle.push_back(fd);
  }
  // Connections that send one header line every 500 ms and never end their head.
  std::vector<std::string> trickled(kTrickling);
  std::vector<std::thread> tricklers;
  for (int i = 0; i < kTrickling; ++i) {
    tricklers.emplace_back([&, i] {
      int fd = ConnectLoopback(server.port(), 1);
      if (fd < 0) return;
      SendAll(fd, "GET /v1/health HTTP/1.1\r\nHost: t\r\n");
      // Until the server answers (it should after kRequestReadMs), for at most 15 s.
      const auto start = Clock::now();
      for (int line = 0; MsSince(start) < 15000; ++line) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 500) > 0) break;
        if (!SendAll(fd, "X-Slow-" + std::to_string(line) + ": x\r\n")) break;
      }
      trickled[i] = ReceiveUntilClosed(fd);
      ::close(fd);
    });
  }
  // One token's long queries (each would run for hours without its timeout).
  std::vector<std::string> long_answers(kLongQueries);
  std::vector<std::thread> queries;
  const std::string sql_body = json{
      {"sql", "SELECT count(*) FROM range(1000000000) a, range(1000000000) b"},
      {"timeout_ms",
       kSqlTimeoutMs}}.dump();
  for (int i = 0; i < kLongQueries; ++i) {
    queries.emplace_back([&, i] {
      int fd = ConnectLoopback(server.port(), 30);
      if (fd < 0) return;
      SendAll(fd, "POST /v1/projects/heavy/sql HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " +
                      heavy_token + "\r\nContent-Type: application/json\r\nContent-Length: " +
                      std::to_string(sql_body.size()) + "\r\n\r\n" + sql_body);
      long_answers[i] = ReceiveAnswer(fd);
      ::close(fd);
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  // Another tenant's GETs, each on a fresh connection, while all of that goes on.
  std::vector<double> ms;
  std::vector<int> statuses;
  const auto measuring = Clock::now();
  for (int i = 0; i < kGets && MsSince(measuring) < kMeasureMsMax; ++i) {
    const std::string path = i % 2 ? "/v1/health" : "/v1/projects/light/tables";
    const auto start = Clock::now();
    int fd = ConnectLoopback(server.port());
    std::string answer;
    if (fd >= 0 && SendAll(fd, "GET " + path + " HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " +
                                   light_token + "\r\n\r\n"))
      answer = ReceiveAnswer(fd);
    ms.push_back(MsSince(start));
    statuses.push_back(StatusOf(answer));
    if (fd >= 0) ::close(fd);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const double measured_s = MsSince(measuring) / 1000;

  for (auto& t : queries) t.join();
  for (auto& t : tricklers) t.join();
  for (int fd : idle) ::close(fd);

  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  const double p50 = sorted[sorted.size() / 2];
  const double p99 = sorted[(sorted.size() * 99 + 99) / 100 - 1];
  std::printf(
      "%d GETs over %.1f s beside %d idle + %d trickling connections and %d long queries: "
      "p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
      kGets, measured_s, kIdle, kTrickling, kLongQueries, p50, p99, sorted.back());
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 200), kGets);
  EXPECT_LE(p99, 100.0);

  // The token's queries beyond its bound were refused at once; the others ran until their
  // timeout.
  int refused = 0;
  for (const std::string& a : long_answers) {
    if (StatusOf(a) == 429) {
      ++refused;
      EXPECT_NE(a.find("Retry-After: "), std::string::npos) << a;
    } else {
      EXPECT_NE(StatusOf(a), 0) << "a long query got no answer";
    }
  }
  EXPECT_EQ(refused, kLongQueries - api::kHeavyPerTokenMax);
  // The trickling heads were cut off after kRequestReadMs with 408.
  for (const std::string& t : trickled) EXPECT_EQ(StatusOf(t), 408) << t;
}

}  // namespace
}  // namespace swan::testing
