// Webhook notifications: a JSON POST to a receiver's URL, signed with a secret the receiver
// shares, retried with backoff, every attempt recorded for the delivery's event.
//
// Signature (the scheme of Stripe's webhooks, so receivers' existing checks adapt easily):
//   X-Swan-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
// The receiver recomputes the HMAC over the timestamp, a dot and the raw body, compares in
// constant time, and refuses a timestamp far from its clock (replays). Other headers:
// Content-Type: application/json, X-Swan-Event (e.g. "flow.failed"), X-Swan-Delivery (an id
// unique per delivery, the same on every retry: receivers deduplicate by it).
//
// Retries: on a transport error, 408, 429 and 5xx, up to `max_attempts` in all, waiting 1 s,
// 2 s, 4 s ... (at most max_delay_ms), or what Retry-After asks. Another 4xx is final: the
// receiver refused the payload, and the same request would be refused again.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace swan::orchestration {

struct WebhookTarget {
  std::string url;     // http or https
  std::string secret;  // empty: unsigned (no X-Swan-Signature)
};

struct WebhookOptions {
  int max_attempts = 5;
  int64_t request_timeout_ms = 10 * 1000;
  int64_t max_delay_ms = 60 * 1000;
  std::function<void(int64_t ms)> sleep{};  // empty: real sleep (tests pass a recorder)
  std::function<int64_t()> now_seconds{};   // empty: the system clock
  std::function<bool()> should_stop{};      // the server stops: give up between attempts
};

struct WebhookAttempt {
  long status = 0;        // HTTP status; 0 on a transport error
  std::string error;      // the transport error, or "" when a status came back
  int64_t waited_ms = 0;  // the wait before this attempt
};

struct WebhookDelivery {
  bool delivered = false;  // a 2xx answer
  std::string delivery_id;
  std::vector<WebhookAttempt> attempts;
  std::string error;  // why it was not delivered, for the event
};

// "t=<now>,v1=<hex>" for `body` (exposed for tests and for receivers' documentation).
std::string WebhookSignature(const std::string& secret, int64_t unix_seconds,
                             const std::string& body);

// POSTs `body` (JSON) to the target as event `event`, retrying per the options.
WebhookDelivery DeliverWebhook(const WebhookTarget& target, const std::string& event,
                               const std::string& body, const WebhookOptions& options = {});

}  // namespace swan::orchestration
