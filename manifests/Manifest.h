// Manifest: a Footprint as versioned, reviewable YAML (version 2; version 1 is still read, and a version 1
// file saves back unchanged). Deterministic: the same Footprint renders to byte-identical text. See
// manifests/README.md for the format.
#pragma once

#include "analyzer/Footprint.h"

#include "llvm/Support/Error.h"

#include <string>

namespace bespoke {

inline constexpr int kManifestVersion = 2;       // what bespoke writes
inline constexpr int kOldestManifestVersion = 1; // the oldest it reads

struct Manifest {
  int version = kManifestVersion; // as read; rendered as 2 unless it is 1 and holds nothing of version 2
  Footprint footprint;
};

// One frame in the manifest's notation: "module!symbol@0xADDR" or "symbol@FILE:LINE".
std::string frameString(const Frame &f);

// Where a chain leaves the program: the index of its last frame in the first frame's module (or source),
// PLT stubs excluded, before the chain first enters another module. 0 for an empty chain.
size_t lastProgramFrame(const Evidence &e);

// Renders the manifest as YAML text (sorted, stable formatting).
std::string renderManifest(const Manifest &m);

// Parses YAML text; `inputName` names the input in errors ("FILE: problem").
llvm::Expected<Manifest> parseManifest(const std::string &text, const std::string &inputName);

// Reads and parses a manifest file.
llvm::Expected<Manifest> loadManifest(const std::string &path);

// Writes the manifest to `path` atomically (temporary file in the same directory, then rename).
llvm::Error saveManifest(const Manifest &m, const std::string &path);

} // namespace bespoke
