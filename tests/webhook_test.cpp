// Webhook notifications (orchestration/webhook.h) against a real receiver on loopback: the
// signature the receiver can check, retries with backoff after 5xx and transport errors, a
// receiver's Retry-After, no retry after a refusal (4xx), and stopping between attempts.
#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "orchestration/webhook.h"

namespace swan::orchestration {
namespace {

// A receiver: answers each POST with the next of `statuses` (then 200), and keeps what came.
class Receiver {
 public:
  explicit Receiver(std::vector<int> statuses, std::string retry_after = "")
      : statuses_(std::move(statuses)), retry_after_(std::move(retry_after)) {
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      bodies_.push_back(req.body);
      signatures_.push_back(req.get_header_value("X-Swan-Signature"));
      deliveries_.push_back(req.get_header_value("X-Swan-Delivery"));
      events_.push_back(req.get_header_value("X-Swan-Event"));
      content_types_.push_back(req.get_header_value("Content-Type"));
      const size_t n = bodies_.size() - 1;
      res.status = n < statuses_.size() ? statuses_[n] : 200;
      if (!retry_after_.empty() && res.status == 429) res.set_header("Retry-After", retry_after_);
      res.set_content("ok", "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }

  std::mutex mu_;
  std::vector<std::string> bodies_, signatures_, deliveries_, events_, content_types_;

 private:
  std::vector<int> statuses_;
  std::string retry_after_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

// What a receiver does: HMAC-SHA256 over "<t>.<body>" with the shared secret.
std::string ExpectedMac(const std::string& secret, const std::string& t, const std::string& body) {
  const std::string text = t + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), mac, &size);
  std::string hex;
  char byte[3];
  for (unsigned i = 0; i < size; ++i) {
    std::snprintf(byte, sizeof byte, "%02x", mac[i]);
    hex += byte;
  }
  return hex;
}

WebhookOptions FakeTime(std::vector<int64_t>* waits) {
  WebhookOptions o;
  o.sleep = [waits](int64_t ms) { waits->push_back(ms); };
  o.now_seconds = [] { return int64_t{1764763200}; };  // 2025-12-03T12:00:00Z
  o.request_timeout_ms = 5000;
  return o;
}

// A known vector: receivers in any language can check their code against it.
TEST(WebhookTest, SignatureIsHmacSha256OfTimestampDotBody) {
  EXPECT_EQ(WebhookSignature("whsec", 1764763200, "{\"a\":1}"),
            "t=1764763200,v1=" + ExpectedMac("whsec", "1764763200", "{\"a\":1}"));
  EXPECT_NE(WebhookSignature("whsec", 1764763200, "{\"a\":2}"),
            WebhookSignature("whsec", 1764763200, "{\"a\":1}"));
  EXPECT_NE(WebhookSignature("other", 1764763200, "{\"a\":1}"),
            WebhookSignature("whsec", 1764763200, "{\"a\":1}"));
}

// 503, 500, then 200: three attempts, waiting 1 s then 2 s; every attempt is signed and carries
// the same delivery id; the receiver verifies the signature over the raw body.
TEST(WebhookTest, RetriesWithBackoffUntilDelivered) {
  Receiver r({503, 500});
  std::vector<int64_t> waits;
  const std::string body = R"({"event":"flow.failed","job":{"id":7,"status":"error"}})";
  WebhookDelivery d = DeliverWebhook({r.Url(), "s3cret"}, "flow.failed", body, FakeTime(&waits));
  EXPECT_TRUE(d.delivered) << d.error;
  ASSERT_EQ(d.attempts.size(), 3u);
  EXPECT_EQ(d.attempts[0].status, 503);
  EXPECT_EQ(d.attempts[1].status, 500);
  EXPECT_EQ(d.attempts[2].status, 200);
  EXPECT_EQ(waits, (std::vector<int64_t>{1000, 2000}));
  EXPECT_EQ(d.attempts[2].waited_ms, 2000);
  std::lock_guard lock(r.mu_);
  ASSERT_EQ(r.bodies_.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(r.bodies_[i], body);
    EXPECT_EQ(r.signatures_[i], "t=1764763200,v1=" + ExpectedMac("s3cret", "1764763200", body));
    EXPECT_EQ(r.deliveries_[i], d.delivery_id);
    EXPECT_EQ(r.events_[i], "flow.failed");
    EXPECT_EQ(r.content_types_[i], "application/json");
  }
  EXPECT_EQ(d.delivery_id.size(), 32u);
}

TEST(WebhookTest, RetryAfterIsHonoured) {
  Receiver r({429}, "7");
  std::vector<int64_t> waits;
  WebhookDelivery d = DeliverWebhook({r.Url(), "k"}, "flow.succeeded", "{}", FakeTime(&waits));
  EXPECT_TRUE(d.delivered) << d.error;
  EXPECT_EQ(waits, std::vector<int64_t>{7000});
}

// A 400 is the receiver refusing the payload: one attempt, a clear reason.
TEST(WebhookTest, ARefusalIsNotRetried) {
  Receiver r({400});
  std::vector<int64_t> waits;
  WebhookDelivery d = DeliverWebhook({r.Url(), "k"}, "flow.failed", "{}", FakeTime(&waits));
  EXPECT_FALSE(d.delivered);
  EXPECT_EQ(d.attempts.size(), 1u);
  EXPECT_TRUE(waits.empty());
  EXPECT_EQ(d.error, "the receiver answered HTTP 400 (not retried: it refused the notification)");
}

// Always 503: max_attempts in all, then given up with the reason.
TEST(WebhookTest, GivesUpAfterMaxAttempts) {
  Receiver r({503, 503, 503, 503, 503, 503});
  std::vector<int64_t> waits;
  WebhookOptions o = FakeTime(&waits);
  o.max_attempts = 4;
  WebhookDelivery d = DeliverWebhook({r.Url(), ""}, "flow.failed", "{}", o);
  EXPECT_FALSE(d.delivered);
  EXPECT_EQ(d.attempts.size(), 4u);
  EXPECT_EQ(waits, (std::vector<int64_t>{1000, 2000, 4000}));
  EXPECT_EQ(d.error, "the receiver answered HTTP 503 4 times (gave up after 4 attempts)");
  std::lock_guard lock(r.mu_);
  EXPECT_EQ(r.signatures_[0], "");  // no secret: unsigned
}

// Nobody listens: transport errors are retried too, and recorded.
TEST(WebhookTest, ATransportErrorIsRetried) {
  std::string url;
  {
    Receiver gone({});
    url = gone.Url();
  }
  std::vector<int64_t> waits;
  WebhookOptions o = FakeTime(&waits);
  o.max_attempts = 2;
  WebhookDelivery d = DeliverWebhook({url, "k"}, "flow.failed", "{}", o);
  EXPECT_FALSE(d.delivered);
  ASSERT_EQ(d.attempts.size(), 2u);
  EXPECT_EQ(d.attempts[0].status, 0);
  EXPECT_NE(d.attempts[0].error.find("CURL error 7"), std::string::npos) << d.attempts[0].error;
}

TEST(WebhookTest, StopsBetweenAttempts) {
  Receiver r({503, 503, 503});
  std::vector<int64_t> waits;
  WebhookOptions o = FakeTime(&waits);
  std::atomic<bool> stop{false};
  o.sleep = [&](int64_t) { stop = true; };
  o.should_stop = [&] { return stop.load(); };
  WebhookDelivery d = DeliverWebhook({r.Url(), "k"}, "flow.failed", "{}", o);
  EXPECT_FALSE(d.delivered);
  EXPECT_EQ(d.attempts.size(), 1u);
  EXPECT_EQ(d.error, "stopped before attempt 2");
}

TEST(WebhookTest, OnlyHttpUrls) {
  WebhookDelivery d = DeliverWebhook({"file:///etc/passwd", "k"}, "flow.failed", "{}");
  EXPECT_FALSE(d.delivered);
  EXPECT_TRUE(d.attempts.empty());
  EXPECT_EQ(d.error, "the webhook URL must start with http:// or https://");
}

}  // namespace
}  // namespace swan::orchestration
