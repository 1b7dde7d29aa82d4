// Scrollers: how a job pages through an API (Keboola juicer's pagination), configured by
// api.pagination:
//   offset         limit (required), limitParam "limit", offsetParam "offset", firstPageParams,
//                  offsetFromJob; stops on a page shorter than the limit
//   pagenum        pageParam "page", limit/limitParam, firstPage 1, firstPageParams; stops on a
//                  short (or, without a limit, empty) page
//   response.url   urlKey "next_page", delimiter, includeParams, paramIsQuery
//   response.param responseParam, queryParam (required), includeParams, scrollRequest
//   cursor         idKey, param (required), increment, reverse
//   multiple       scrollers {id: config}, default; a job picks one with "scroller"
// and the decorators nextPageFlag {field, stopOn, ifNotSet}, forceStop {pages, time, volume},
// limitStop {field | count}. (The job runner also stops when a page repeats the previous one.)
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "connectors/extractor_log.h"
#include "connectors/rest_client.h"
#include "connectors/rest_config.h"

namespace swan::connectors {

class Scroller {
 public:
  virtual ~Scroller() = default;
  virtual std::optional<RestRequest> FirstRequest(RestClient& client, JobConfig& job) = 0;
  // `response`: the decoded answer; `data`: the records found in it.
  virtual std::optional<RestRequest> NextRequest(RestClient& client, JobConfig& job,
                                                 const Json& response, const Json& data) = 0;
  // Scrollers that decide by the number of records alone (offset, page number): the next
  // request can be known from a count of the answer's top-level array, before it is decoded.
  virtual bool ScrollsByCount() const { return false; }
  // NextRequest for such a scroller, given the number of records.
  virtual std::optional<RestRequest> NextRequestByCount(RestClient& client, JobConfig& job,
                                                        size_t records) {
    return std::nullopt;
  }
  virtual void Reset() = 0;
  // A copy for a child job (PHP clone: decorators reset their counters).
  virtual std::unique_ptr<Scroller> Clone() const = 0;
};

struct ScrollerContext {
  LogFn log{};
  std::function<int64_t()> now_seconds{};  // forceStop.time; empty: the system clock
};

// Throws ExtractorError naming the pagination field at fault.
std::unique_ptr<Scroller> CreateScroller(const Json& pagination, const ScrollerContext& context);

}  // namespace swan::connectors
