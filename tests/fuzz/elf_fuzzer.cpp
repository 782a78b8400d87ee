// elf_fuzzer: libFuzzer target for the ELF reader and the module model builder.
//
// Each input is written to an in-memory file (memfd) and opened with ElfModule::open, the way the CLI
// opens a binary; when it opens, its model is built, serialized and deserialized again. Any crash, leak,
// sanitizer report, or broken promise (an error that is not one line naming the file, a model that does not
// round-trip) aborts. The raw input is also fed to deserializeModel, which must reject garbage cleanly.
//
// Built two ways (tests/fuzz/CMakeLists.txt):
//   elf_fuzzer       clang -fsanitize=fuzzer,address (BESPOKE_FUZZ=ON), run by run-fuzz.sh
//   elf_fuzz_replay  any compiler, -DBESPOKE_FUZZ_REPLAY_MAIN: runs the target over the given files and
//                    deterministic mutations of them (truncations, byte flips), as the elf_fuzz_smoke test
#include "analyzer/ElfModule.h"
#include "analyzer/ModuleModel.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

using namespace bespoke;

namespace {

[[noreturn]] void violated(const std::string &what) {
  fprintf(stderr, "elf_fuzzer: %s\n", what.c_str());
  abort();
}

// One memfd for the whole run, rewritten for every input: no disk traffic, nothing left behind.
const std::string &inputPath() {
  static std::string path = [] {
    int fd = memfd_create("bespoke-elf-fuzz", 0);
    if (fd < 0) {
      perror("memfd_create");
      abort();
    }
    return "/proc/self/fd/" + std::to_string(fd);
  }();
  return path;
}

void writeInput(const uint8_t *data, size_t size) {
  static int fd = [] { return atoi(inputPath().c_str() + strlen("/proc/self/fd/")); }();
  if (ftruncate(fd, 0) != 0) { perror("ftruncate"); abort(); }
  for (size_t done = 0; done < size;) {
    ssize_t n = pwrite(fd, data + done, size - done, off_t(done));
    if (n <= 0) { perror("pwrite"); abort(); }
    done += size_t(n);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // The model deserializer must reject arbitrary bytes with an error, never crash.
  {
    auto m = deserializeModel(llvm::StringRef(reinterpret_cast<const char *>(data), size), "input");
    if (m) (void)serializeModel(*m);
    else llvm::consumeError(m.takeError());
  }

  writeInput(data, size);
  const std::string &path = inputPath();
  auto elf = ElfModule::open(path);
  if (!elf) {
    std::string msg = llvm::toString(elf.takeError());
    if (msg.rfind(path + ": ", 0) != 0 || msg.find('\n') != std::string::npos)
      violated("error is not one line \"PATH: problem\": " + msg);
    return 0;
  }
  // Accessors the analysis uses on every module.
  const ElfModule &e = **elf;
  (void)e.contentsAt(e.entry(), 16);
  (void)e.cStringAt(e.entry());
  for (uint64_t a : e.initFunctions()) (void)e.pointerAt(a);

  auto model = buildModuleModel(e);
  if (!model) {
    llvm::consumeError(model.takeError());
    return 0;
  }
  std::string bytes = serializeModel(*model);
  auto back = deserializeModel(bytes, "model");
  if (!back) violated("a freshly built model does not deserialize: " + llvm::toString(back.takeError()));
  if (serializeModel(*back) != bytes) violated("a freshly built model does not round-trip");
  return 0;
}

#ifdef BESPOKE_FUZZ_REPLAY_MAIN
// Replay driver: elf_fuzz_replay FILE... runs every file plus deterministic mutations of it.
#include <fstream>
#include <random>
#include <sstream>

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: elf_fuzz_replay FILE... (runs LLVMFuzzerTestOneInput on each and on mutations)\n");
    return 2;
  }
  const int mutationsPerFile = getenv("ELF_FUZZ_MUTATIONS") ? atoi(getenv("ELF_FUZZ_MUTATIONS")) : 300;
  std::mt19937_64 rng(0xb35b0ce);
  size_t runs = 0;
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    if (!in) {
      fprintf(stderr, "elf_fuzz_replay: cannot read %s\n", argv[i]);
      return 2;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    const std::string orig = ss.str();
    auto run = [&](const std::string &s) {
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t *>(s.data()), s.size());
      ++runs;
    };
    run(orig);
    // Truncations: every length in the headers, then spread over the file.
    for (size_t n = 0; n < orig.size() && n < 256; n += 7) run(orig.substr(0, n));
    for (size_t k = 1; k < 16; ++k) run(orig.substr(0, orig.size() * k / 16));
    // Byte mutations, biased towards the ELF, program and section headers where structure lives.
    for (int m = 0; m < mutationsPerFile && !orig.empty(); ++m) {
      std::string s = orig;
      int edits = 1 + int(rng() % 8);
      for (int k = 0; k < edits; ++k) {
        size_t pos;
        switch (rng() % 4) {
        case 0: pos = rng() % std::min<size_t>(s.size(), 64); break;
        case 1: pos = rng() % std::min<size_t>(s.size(), 4096); break;
        case 2: pos = s.size() - 1 - rng() % std::min<size_t>(s.size(), 4096); break; // section headers
        default: pos = rng() % s.size(); break;
        }
        static const uint8_t interesting[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
        switch (rng() % 3) {
        case 0: s[pos] = char(s[pos] ^ (1 << (rng() % 8))); break;
        case 1: s[pos] = char(interesting[rng() % sizeof interesting]); break;
        default: s[pos] = char(rng()); break;
        }
      }
      run(s);
    }
  }
  printf("elf_fuzz_replay: %zu inputs, no crash\n", runs);
  return 0;
}
#endif
