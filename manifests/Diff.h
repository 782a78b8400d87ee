// ManifestDiff: what changed between two manifests of one application, and whether its footprint grew.
// Rendered as text, Markdown (a pull-request comment), JSON, and SARIF 2.1.0 (code-scanning UIs show
// each new syscall at its evidence location). Deterministic, like the manifests themselves.
#pragma once

#include "analyzer/Footprint.h"

#include <string>
#include <vector>

namespace bespoke {

// The values one argument of a syscall present in both manifests gained or lost. An argument without
// facts (absent from `args`, or `any`) can take any value.
struct ArgChange {
  std::string syscall, arg;
  bool nowAny = false; // BEFORE listed values, AFTER allows any: grew
  bool wasAny = false; // BEFORE allowed any, AFTER lists values: shrank
  std::vector<std::string> added, removed; // when both list values
  std::vector<Evidence> evidence;          // AFTER's evidence for the syscall
  bool grew() const { return nowAny || !added.empty(); }
};

struct ManifestDiff {
  std::vector<SyscallUse> addedSyscalls;   // as in AFTER, with its evidence
  std::vector<SyscallUse> removedSyscalls; // as in BEFORE
  std::vector<ArgChange> argChanges;       // sorted by syscall, argument
  std::vector<std::string> addedPaths, removedPaths, addedFeatures, removedFeatures;
  // Unresolved sites compared by kind and site function (addresses move between builds).
  std::vector<Unresolved> addedUnresolved, removedUnresolved;
  // Modules (libraries and executed programs) by path: new code in the process, as in AFTER / BEFORE.
  std::vector<ModuleInfo> addedModules, removedModules;
  // Files opened by a constant path (compared only when BEFORE records files: manifest version >= 2).
  std::vector<FileUse> addedFiles, removedFiles;
  // The reviewer-written `network:` section: "bind 6379", "connect 10.0.0.53:53" (run --net allows them).
  std::vector<std::string> addedNetwork, removedNetwork;

  bool empty() const;
  // AFTER can ask more of the kernel: a new syscall, argument value, kernel path or feature, module
  // (library or executed program), file, network port or destination, or a new unresolved site (which may
  // hide any syscall).
  bool grew() const;
};

// `compareFiles`: false when BEFORE is a version 1 manifest, which does not record files (a baseline
// written before files were recorded must not make every file look new).
ManifestDiff diffManifests(const Footprint &before, const Footprint &after, bool compareFiles = true);

// Labels for the two sides (file names) and where source paths are made relative (SARIF %SRCROOT%).
struct DiffLabels {
  std::string before, after;
  std::string sourceRoot; // absolute directory; empty: keep absolute file:// URIs
  std::string toolVersion = "1";
};

std::string renderDiffText(const ManifestDiff &d, const DiffLabels &l);
std::string renderDiffMarkdown(const ManifestDiff &d, const DiffLabels &l, const std::string &app);
std::string renderDiffJson(const ManifestDiff &d, const DiffLabels &l);
// Only what grew becomes a SARIF result (level error); removals are not findings.
std::string renderDiffSarif(const ManifestDiff &d, const DiffLabels &l, const Footprint &after);

} // namespace bespoke
