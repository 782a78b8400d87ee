// ManifestFormat: what the manifest's renderer (ManifestRender.cpp) and schema reader (ManifestSchema.cpp)
// share, kept out of the public Manifest.h. Both go through `canonicalize`, so the text depends only on
// the content, whatever the order of the lists in memory or in the file.
#pragma once

#include "manifests/Manifest.h"

#include <optional>
#include <string>
#include <string_view>

namespace bespoke::manifest_format {

// Sorts what the format defines as sorted; lists whose order carries meaning (modules: load order,
// evidence: shortest first, chains) are kept as they are.
void canonicalize(Footprint &fp);

// The manifest as YAML text, in the layout of its version (see Manifest::version).
std::string render(const Manifest &m);

// A schema violation: 1-based line (0 when unknown) and the message without the input name.
struct Problem {
  int line = 0;
  std::string message;
};

// Parses `text` into `out` (only when it is a valid manifest), or describes the first problem.
std::optional<Problem> parseText(const std::string &text, Manifest &out);

// A value from the input, made safe for a one-line message: control characters escaped, long values cut.
std::string shown(std::string_view s);

// "module!symbol@0xADDRESS" or "symbol@FILE:LINE"; nullopt when the string is neither.
std::optional<Frame> parseFrameString(std::string_view s);

// Whether the footprint holds anything only version 2 can express (how modules entered, files).
bool needsVersion2(const Footprint &fp);

} // namespace bespoke::manifest_format
