// Tests for common/status: the one mapping of codes to wire names, HTTP statuses and exit codes,
// and Result's guard against an OK status.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "common/status.h"

namespace swan {
namespace {

constexpr StatusCode kErrorCodes[] = {
    StatusCode::kInvalidArgument, StatusCode::kUnauthorized, StatusCode::kForbidden,
    StatusCode::kNotFound,        StatusCode::kConflict,     StatusCode::kPayloadTooLarge,
    StatusCode::kUnavailable,     StatusCode::kInternal,     StatusCode::kCancelled,
};

TEST(StatusTest, ResultFromAnOkStatusIsAnInternalErrorInEveryBuild) {
  Result<int> r = Status::Ok();
  ASSERT_FALSE(r.ok()) << "a Result without a value must not claim success";
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
  EXPECT_EQ(r.status().message(), "Result constructed from OK status");
  // ASSIGN_OR_RETURN through it returns the error, never OK.
  auto f = [&]() -> Status {
    ASSIGN_OR_RETURN(int v, Result<int>(Status()));
    (void)v;
    return Status::Ok();
  };
  EXPECT_EQ(f().code(), StatusCode::kInternal);
  // A real error passes through unchanged.
  Result<int> e = Status::NotFound("x");
  EXPECT_EQ(e.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(e.status().message(), "x");
}

TEST(StatusTest, EveryCodeHasOneWireNameHttpStatusAndExitCode) {
  std::set<std::string> names;
  for (StatusCode code : kErrorCodes) {
    const std::string name = StatusCodeName(code);
    EXPECT_TRUE(names.insert(name).second) << "duplicate wire name " << name;
    EXPECT_EQ(StatusCodeFromName(name, StatusCode::kOk), code) << name;
    EXPECT_EQ(StatusCodeFromHttp(HttpStatusFor(code)), code) << name;
    EXPECT_GE(HttpStatusFor(code), 400) << name;
    const int exit = ExitCodeFor(code);
    EXPECT_TRUE(exit == 1 || exit == 2) << name;
  }
  EXPECT_EQ(ExitCodeFor(StatusCode::kOk), 0);
}

TEST(StatusTest, CancelledHasItsOwnCodeAndIsNotTheUsersFault) {
  Status st = Status::Cancelled("stopped");
  EXPECT_EQ(st.code(), StatusCode::kCancelled);
  EXPECT_STREQ(StatusCodeName(st.code()), "cancelled");
  EXPECT_EQ(HttpStatusFor(st.code()), 499);
  EXPECT_EQ(ExitCodeFor(st.code()), 2);
}

TEST(StatusTest, ExitCodeSeparatesTheUsersInputFromTheServer) {
  for (StatusCode code :
       {StatusCode::kInvalidArgument, StatusCode::kUnauthorized, StatusCode::kForbidden,
        StatusCode::kNotFound, StatusCode::kConflict, StatusCode::kPayloadTooLarge}) {
    EXPECT_EQ(ExitCodeFor(code), 1) << StatusCodeName(code);
  }
  for (StatusCode code :
       {StatusCode::kUnavailable, StatusCode::kInternal, StatusCode::kCancelled}) {
    EXPECT_EQ(ExitCodeFor(code), 2) << StatusCodeName(code);
  }
}

TEST(StatusTest, TooManyRequestsIsBusyNotTheUsersInput) {
  // 429 is the per-token bound on heavy requests: the CLI must say "retry", exit 2, like 503.
  EXPECT_EQ(StatusCodeFromHttp(429), StatusCode::kUnavailable);
  EXPECT_EQ(ExitCodeFor(StatusCodeFromHttp(429)), 2);
  EXPECT_EQ(StatusCodeFromHttp(418), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace swan
