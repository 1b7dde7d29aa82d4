// Tests for src/client pieces that need no server: the HTTP answer parser of sendfile uploads.
#include <gtest/gtest.h>

#include <string>

#include "client/sendfile_request.h"

namespace swan::testing {
namespace {

using client::ParseHttpAnswer;

TEST(ParseHttpAnswerTest, BodyByContentLength) {
  auto a = ParseHttpAnswer(
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->status, 200);
  EXPECT_EQ(a->body, "{\"a\":1}");
}

TEST(ParseHttpAnswerTest, ChunkedBodyIsJoined) {
  auto a = ParseHttpAnswer(
      "HTTP/1.1 401 Unauthorized\r\ntransfer-encoding: "
      "chunked\r\n\r\n4\r\n{\"e\"\r\nB\r\n:\"invalid\"}"
      "\r\n0\r\n\r\n");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->status, 401);
  EXPECT_EQ(a->body, "{\"e\":\"invalid\"}");
}

TEST(ParseHttpAnswerTest, BodyWithoutLengthRunsToTheEnd) {
  auto a = ParseHttpAnswer("HTTP/1.1 500 Internal Server Error\r\n\r\nboom");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->status, 500);
  EXPECT_EQ(a->body, "boom");
}

TEST(ParseHttpAnswerTest, IncompleteAnswersAreErrors) {
  EXPECT_EQ(ParseHttpAnswer("").status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(ParseHttpAnswer("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n").status().code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(ParseHttpAnswer("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab").status().code(),
            StatusCode::kUnavailable);
  EXPECT_FALSE(
      ParseHttpAnswer("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab").ok());
  EXPECT_FALSE(ParseHttpAnswer("HTTP/1.1 abc\r\n\r\n").ok());
}

}  // namespace
}  // namespace swan::testing
