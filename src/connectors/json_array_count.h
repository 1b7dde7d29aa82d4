// Counts the elements of a JSON document's top-level array without decoding it: a scan of the
// bytes (strings and their escapes skipped, nesting tracked) that a scroller deciding by the
// number of records can act on while the decode runs elsewhere.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace swan::connectors {

// The number of elements when `body` is one JSON array (whitespace around it allowed) whose
// bytes outside strings are JSON's, nested at most `max_depth` levels; nullopt for anything
// else (an object, a scalar, a cut or malformed body): the caller then decodes to know.
std::optional<size_t> CountTopLevelArray(std::string_view body, int max_depth);

}  // namespace swan::connectors
