// EhFrame: a reader of .eh_frame CIEs and FDEs, just enough of DWARF's pointer encodings to find each
// FDE's code range (see EhFrame.h).
#include "analyzer/EhFrame.h"

#include "llvm/Support/LEB128.h"

#include <algorithm>
#include <map>
#include <string>

using namespace llvm;

namespace bespoke {

namespace {

int64_t readEncoded(ArrayRef<uint8_t> d, size_t &p, uint8_t enc, uint64_t sectionAddr, bool &ok) {
  if (enc == 0xff) // DW_EH_PE_omit
    return 0;
  uint64_t fieldAddr = sectionAddr + p;
  int64_t v = 0;
  auto need = [&](size_t n) { if (p + n > d.size()) { ok = false; return false; } return true; };
  switch (enc & 0x0f) {
  case 0x00: // absptr
  case 0x04: // udata8
  case 0x0c: // sdata8
    if (!need(8)) return 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | d[p + i];
    p += 8;
    break;
  case 0x03: // udata4
    if (!need(4)) return 0;
    v = uint32_t(d[p] | d[p + 1] << 8 | d[p + 2] << 16 | uint32_t(d[p + 3]) << 24);
    p += 4;
    break;
  case 0x0b: // sdata4
    if (!need(4)) return 0;
    v = int32_t(d[p] | d[p + 1] << 8 | d[p + 2] << 16 | uint32_t(d[p + 3]) << 24);
    p += 4;
    break;
  case 0x02: // udata2
    if (!need(2)) return 0;
    v = uint16_t(d[p] | d[p + 1] << 8);
    p += 2;
    break;
  case 0x0a:
    if (!need(2)) return 0;
    v = int16_t(d[p] | d[p + 1] << 8);
    p += 2;
    break;
  case 0x01: { // uleb128
    unsigned n = 0;
    v = decodeULEB128(d.data() + p, &n, d.data() + d.size());
    if (!n) { ok = false; return 0; }
    p += n;
    break;
  }
  case 0x09: {
    unsigned n = 0;
    v = decodeSLEB128(d.data() + p, &n, d.data() + d.size());
    if (!n) { ok = false; return 0; }
    p += n;
    break;
  }
  default:
    ok = false;
    return 0;
  }
  if ((enc & 0x70) == 0x10) // pcrel
    v += int64_t(fieldAddr);
  return v;
}

} // namespace

std::vector<std::pair<uint64_t, uint64_t>> parseEhFrame(const ElfModule &elf) {
  std::vector<std::pair<uint64_t, uint64_t>> fdes;
  for (const ElfSection &s : elf.sections()) {
    if (s.name != ".eh_frame" || !s.alloc)
      continue;
    ArrayRef<uint8_t> d = elf.contentsAt(s.addr, s.size);
    std::map<size_t, uint8_t> cieEncoding;
    size_t p = 0;
    while (p + 4 <= d.size()) {
      size_t start = p;
      uint64_t len = uint32_t(d[p] | d[p + 1] << 8 | d[p + 2] << 16 | uint32_t(d[p + 3]) << 24);
      p += 4;
      if (len == 0)
        break;
      if (len == 0xffffffff) { // 64-bit DWARF: not produced for x86-64 eh_frame in practice
        break;
      }
      size_t end = p + len;
      if (end > d.size() || len < 4)
        break;
      size_t idPos = p;
      uint32_t id = uint32_t(d[p] | d[p + 1] << 8 | d[p + 2] << 16 | uint32_t(d[p + 3]) << 24);
      p += 4;
      bool ok = true;
      if (id == 0) { // CIE
        uint8_t enc = 0; // absptr
        if (p >= end) break;
        p += 1; // version
        std::string aug;
        while (p < end && d[p]) aug += char(d[p++]);
        ++p;
        unsigned n = 0;
        decodeULEB128(d.data() + p, &n, d.data() + end); p += n; // code align
        decodeSLEB128(d.data() + p, &n, d.data() + end); p += n; // data align
        decodeULEB128(d.data() + p, &n, d.data() + end); p += n; // return register
        if (!aug.empty() && aug[0] == 'z') {
          decodeULEB128(d.data() + p, &n, d.data() + end); p += n;
          for (size_t i = 1; i < aug.size() && p < end && ok; ++i) {
            if (aug[i] == 'R') enc = d[p++];
            else if (aug[i] == 'L') ++p;
            else if (aug[i] == 'P') { uint8_t penc = d[p++]; readEncoded(d.slice(0, end), p, penc & 0x7f, s.addr, ok); }
            else if (aug[i] == 'S' || aug[i] == 'B') {}
            else break;
          }
        }
        cieEncoding[start] = enc;
      } else {
        size_t ciePos = idPos - id;
        auto it = cieEncoding.find(ciePos);
        uint8_t enc = it == cieEncoding.end() ? 0x1b : it->second;
        int64_t begin = readEncoded(d.slice(0, end), p, enc, s.addr, ok);
        int64_t range = readEncoded(d.slice(0, end), p, enc & 0x0f, s.addr, ok);
        if (ok && range > 0)
          fdes.push_back({uint64_t(begin), uint64_t(begin) + uint64_t(range)});
      }
      p = end;
    }
  }
  std::sort(fdes.begin(), fdes.end());
  return fdes;
}

} // namespace bespoke
