#include "orchestration/webhook.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <chrono>
#include <thread>

#include "common/hex.h"
#include "connectors/http_fetcher.h"

namespace swan::orchestration {
namespace {

std::string NewDeliveryId() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    // The id only deduplicates retries; a clock-based one serves when the RNG fails.
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    for (size_t i = 0; i < sizeof bytes; ++i)
      bytes[i] = static_cast<unsigned char>(now >> (i % 8 * 8));
  }
  return HexLower(bytes, sizeof bytes);
}

bool Retryable(long status) { return status == 408 || status == 429 || status >= 500; }

}  // namespace

std::string WebhookSignature(const std::string& secret, int64_t unix_seconds,
                             const std::string& body) {
  const std::string t = std::to_string(unix_seconds);
  const std::string signed_text = t + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(), mac, &size);
  return "t=" + t + ",v1=" + HexLower(mac, size);
}

WebhookDelivery DeliverWebhook(const WebhookTarget& target, const std::string& event,
                               const std::string& body, const WebhookOptions& options) {
  WebhookDelivery delivery;
  delivery.delivery_id = NewDeliveryId();
  if (!(target.url.starts_with("http://") || target.url.starts_with("https://"))) {
    delivery.error = "the webhook URL must start with http:// or https://";
    return delivery;
  }
  auto now_seconds = [&] {
    if (options.now_seconds) return options.now_seconds();
    return static_cast<int64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count());
  };
  auto sleep = [&](int64_t ms) {
    if (options.sleep) {
      options.sleep(ms);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    }
  };
  connectors::HttpFetcherOptions fetch;
  fetch.connect_timeout_ms = options.request_timeout_ms;
  fetch.request_timeout_ms = options.request_timeout_ms;
  fetch.max_response_bytes = 1 << 20;
  fetch.retry.max_retries = 0;  // the attempts are counted and recorded here
  fetch.retry.max_delay_ms = options.max_delay_ms;
  fetch.now_seconds = now_seconds;
  fetch.should_stop = options.should_stop;
  connectors::HttpFetcher fetcher(fetch);

  const int attempts = options.max_attempts < 1 ? 1 : options.max_attempts;
  int64_t wait_ms = 0;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    if (wait_ms > 0) sleep(wait_ms);
    if (options.should_stop && options.should_stop()) {
      delivery.error = "stopped before attempt " + std::to_string(attempt);
      return delivery;
    }
    connectors::HttpRequest request;
    request.method = "POST";
    request.url = target.url;
    request.body = body;
    request.headers = {{"Content-Type", "application/json"},
                       {"User-Agent", "Swan-Webhook/1"},
                       {"X-Swan-Event", event},
                       {"X-Swan-Delivery", delivery.delivery_id}};
    // Signed per attempt: a retry carries a fresh timestamp, so receivers' replay windows hold.
    if (!target.secret.empty())
      request.headers.push_back(
          {"X-Swan-Signature", WebhookSignature(target.secret, now_seconds(), body)});
    connectors::HttpResult result = fetcher.Send(request);
    WebhookAttempt record;
    record.waited_ms = wait_ms;
    if (result.ok) {
      record.status = result.response.status;
    } else {
      record.error = result.error;
    }
    delivery.attempts.push_back(record);
    if (result.stopped) {
      delivery.error = "stopped during attempt " + std::to_string(attempt);
      return delivery;
    }
    if (result.ok && result.response.status >= 200 && result.response.status < 300) {
      delivery.delivered = true;
      return delivery;
    }
    if (result.ok && !Retryable(result.response.status)) {
      delivery.error = "the receiver answered HTTP " + std::to_string(result.response.status) +
                       " (not retried: it refused the notification)";
      return delivery;
    }
    delivery.error = result.ok
                         ? "the receiver answered HTTP " + std::to_string(result.response.status) +
                               " " + std::to_string(attempt) + " times"
                         : result.error;
    wait_ms = fetcher.RetryDelayMs(attempt, result.ok ? &result.response : nullptr);
  }
  if (attempts > 1) delivery.error += " (gave up after " + std::to_string(attempts) + " attempts)";
  return delivery;
}

}  // namespace swan::orchestration
