// StackSymbols: user-space frames from an eBPF stack map created with BPF_F_STACK_BUILD_ID (each frame a
// struct bpf_stack_build_id: the GNU build id of the file and the file offset, or a bare ip) turned back
// into the manifest's frames (module!symbol@0xADDRESS) of the modules a manifest names.
#pragma once

#include "analyzer/Footprint.h"

#include <linux/bpf.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace bespoke {

// A module of the manifest (ModuleInfo): its file name ("libc.so.6"), which frames carry, and its path.
struct StackModule {
  std::string name;
  std::string path;
};

class StackSymbols {
public:
  // Reads the GNU build id (NT_GNU_BUILD_ID, in .note.gnu.build-id) of each module's ELF file from its
  // PT_NOTE segments, where the kernel reads it. Never fails: a file that cannot be read, has no build id,
  // or one longer than the kernel reports (20 bytes), or the same build id as an earlier module, is
  // skipped and noted in skipped() ("PATH: why").
  static StackSymbols load(const std::vector<StackModule> &modules);

  // The frame of a BPF_STACK_BUILD_ID_VALID entry whose build id is a loaded module's: Frame{module name,
  // the function symbol whose [value, value+size) contains the address, address}. The address is the
  // module's virtual address: the file offset mapped through the PT_LOAD segment whose file bytes hold it
  // (an executable one first). The symbol comes from .symtab, or from .dynsym when no .symtab function
  // contains the address; among aliases of one function, the exported name, then one without a leading '_'
  // ("write", not "__write"). "?" when no sized function contains the address (no guess from a preceding
  // symbol); parseFrameString accepts "module!?@0xADDR".
  // std::nullopt for an unknown build id, an offset outside every PT_LOAD's file bytes, status IP or EMPTY.
  // The kernel reports return addresses: one just past a call that does not return (the last instruction
  // of a function) names the next function; a caller that knows a frame is not the innermost may ask for
  // offset - 1.
  std::optional<Frame> symbolize(const bpf_stack_build_id &f) const;

  // One line for a report: frameString(*symbolize(f)) ("libc.so.6!write@0x10e2a0") when known, else
  // "build-id:<40 hex>+0x<offset>" for VALID, "ip:0x<ip>" for IP, "?" for EMPTY (and any other status).
  std::string describe(const bpf_stack_build_id &f) const;

  // The GNU build id of the ELF file at `path` as the kernel's stack map reports it (zero-padded to 20
  // bytes), for frames found by other means than the stack map (observe's seccomp supervisor reads a
  // frame's file from /proc/PID/maps); std::nullopt when the file cannot be read or has none.
  static std::optional<std::array<uint8_t, BPF_BUILD_ID_SIZE>> buildIdOf(const std::string &path);

  // Why modules were left out, one "PATH: why" each, in the order given to load().
  const std::vector<std::string> &skipped() const { return Skipped; }

private:
  // As in the kernel's stack map: a shorter build id (--build-id=md5, say) is zero-padded.
  using BuildId = std::array<uint8_t, BPF_BUILD_ID_SIZE>;
  struct Module; // segments and symbol tables of one file (StackSymbols.cpp)

  std::map<BuildId, std::shared_ptr<const Module>> Modules;
  std::vector<std::string> Skipped;
};

} // namespace bespoke
