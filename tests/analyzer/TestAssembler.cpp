// TestAssembler: LLVM MC's assembler parser and ELF object streamer, then a tiny static link of .text
// (labels and the relocations against symbols given by the caller), see TestAssembler.h.
#include "tests/analyzer/TestAssembler.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/BinaryFormat/ELF.h"
#include "llvm/MC/MCAsmBackend.h"
#include "llvm/MC/MCAsmInfo.h"
#include "llvm/MC/MCCodeEmitter.h"
#include "llvm/MC/MCContext.h"
#include "llvm/MC/MCInstrInfo.h"
#include "llvm/MC/MCObjectFileInfo.h"
#include "llvm/MC/MCObjectWriter.h"
#include "llvm/MC/MCParser/MCAsmParser.h"
#include "llvm/MC/MCParser/MCTargetAsmParser.h"
#include "llvm/MC/MCRegisterInfo.h"
#include "llvm/MC/MCStreamer.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/MCTargetOptions.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Object/ELFObjectFile.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <mutex>

using namespace llvm;

extern "C" void LLVMInitializeX86TargetInfo();
extern "C" void LLVMInitializeX86TargetMC();
extern "C" void LLVMInitializeX86AsmParser();

namespace bespoke::test {

namespace {

Error failure(const std::string &name, const std::string &what) {
  return createStringError(inconvertibleErrorCode(), "%s: %s", name.c_str(), what.c_str());
}

// The object file MC writes for `source`, or the assembler's diagnostics.
Expected<SmallString<4096>> assembleObject(const std::string &source, const std::string &name) {
  static std::once_flag once;
  std::call_once(once, [] {
    LLVMInitializeX86TargetInfo();
    LLVMInitializeX86TargetMC();
    LLVMInitializeX86AsmParser();
  });
  const std::string triple = "x86_64-unknown-linux-gnu";
  std::string err;
  const Target *target = TargetRegistry::lookupTarget(triple, err);
  if (!target) return failure(name, "no x86-64 target in LLVM: " + err);
  MCTargetOptions options;
  std::unique_ptr<MCRegisterInfo> regInfo(target->createMCRegInfo(triple));
  std::unique_ptr<MCAsmInfo> asmInfo(target->createMCAsmInfo(*regInfo, triple, options));
  std::unique_ptr<MCSubtargetInfo> subtarget(target->createMCSubtargetInfo(triple, "", ""));
  std::unique_ptr<MCInstrInfo> instrInfo(target->createMCInstrInfo());

  std::string diagnostics;
  raw_string_ostream diag(diagnostics);
  SourceMgr sources;
  sources.AddNewSourceBuffer(MemoryBuffer::getMemBufferCopy(source, name), SMLoc());
  sources.setDiagHandler([](const SMDiagnostic &d, void *out) { d.print(nullptr, *static_cast<raw_ostream *>(out), false); },
                         &diag);
  MCContext ctx(Triple(triple), asmInfo.get(), regInfo.get(), subtarget.get(), &sources, &options);
  ctx.setDiagnosticHandler([&diag](const SMDiagnostic &d, bool, const SourceMgr &, std::vector<const MDNode *> &) {
    d.print(nullptr, diag, false);
  });
  std::unique_ptr<MCObjectFileInfo> fileInfo(target->createMCObjectFileInfo(ctx, /*PIC=*/false));
  ctx.setObjectFileInfo(fileInfo.get());

  SmallString<4096> object;
  raw_svector_ostream os(object);
  std::unique_ptr<MCAsmBackend> backend(target->createMCAsmBackend(*subtarget, *regInfo, options));
  std::unique_ptr<MCObjectWriter> writer = backend->createObjectWriter(os);
  std::unique_ptr<MCStreamer> streamer(target->createMCObjectStreamer(
      Triple(triple), ctx, std::move(backend), std::move(writer),
      std::unique_ptr<MCCodeEmitter>(target->createMCCodeEmitter(*instrInfo, ctx)), *subtarget));
  std::unique_ptr<MCAsmParser> parser(createMCAsmParser(sources, ctx, *streamer, *asmInfo));
  std::unique_ptr<MCTargetAsmParser> targetParser(target->createMCAsmParser(*subtarget, *parser, *instrInfo, options));
  if (!targetParser) return failure(name, "LLVM has no x86-64 assembler parser");
  parser->setTargetParser(*targetParser);
  bool failed = parser->Run(/*NoInitialTextSection=*/false);
  if (failed || ctx.hadError() || !diagnostics.empty())
    return failure(name, "does not assemble:\n" + diagnostics);
  return object;
}

// Writes `value` as `size` little-endian bytes at `at`.
void put(std::vector<uint8_t> &bytes, uint64_t at, uint64_t value, unsigned size) {
  for (unsigned i = 0; i < size; ++i) bytes[at + i] = uint8_t(value >> (8 * i));
}

} // namespace

Expected<AssembledCode> assembleX86(const std::string &source, uint64_t base,
                                    const std::map<std::string, uint64_t> &symbols, const std::string &name) {
  auto object = assembleObject(source, name);
  if (!object) return object.takeError();
  auto file = object::ObjectFile::createObjectFile(MemoryBufferRef(StringRef(object->data(), object->size()), name));
  if (!file) return failure(name, "MC wrote an unreadable object: " + toString(file.takeError()));
  auto *elf = dyn_cast<object::ELF64LEObjectFile>(file->get());
  if (!elf) return failure(name, "MC wrote no ELF64 object");

  AssembledCode code;
  code.base = base;
  std::optional<object::SectionRef> text;
  for (const object::SectionRef &s : elf->sections()) {
    Expected<StringRef> sname = s.getName();
    if (sname && *sname == ".text") text = s;
  }
  if (!text) return failure(name, "no .text section");
  Expected<StringRef> contents = text->getContents();
  if (!contents) return failure(name, toString(contents.takeError()));
  code.bytes.assign(contents->bytes_begin(), contents->bytes_end());

  for (const object::ELFSymbolRef &sym : elf->symbols()) {
    Expected<StringRef> sname = sym.getName();
    Expected<object::section_iterator> sec = sym.getSection();
    Expected<uint64_t> value = sym.getValue();
    if (!sname || !sec || !value) {
      if (!sname) consumeError(sname.takeError());
      if (!sec) consumeError(sec.takeError());
      if (!value) consumeError(value.takeError());
      continue;
    }
    if (sname->empty() || *sec == elf->section_end() || **sec != *text || sym.getELFType() == ELF::STT_SECTION)
      continue;
    code.labels[sname->str()] = base + *value;
  }

  // Relocations left for .text (in .rela.text) are references to symbols the text does not define.
  std::vector<object::RelocationRef> relocations;
  for (const object::SectionRef &s : elf->sections()) {
    Expected<object::section_iterator> target = s.getRelocatedSection();
    if (!target) return failure(name, toString(target.takeError()));
    if (*target != elf->section_end() && **target == *text)
      for (const object::RelocationRef &r : s.relocations()) relocations.push_back(r);
  }
  for (const object::RelocationRef &r : relocations) {
    object::ELFRelocationRef rel(r);
    Expected<int64_t> addend = rel.getAddend();
    if (!addend) return failure(name, toString(addend.takeError()));
    object::symbol_iterator sym = r.getSymbol();
    if (sym == elf->symbol_end()) return failure(name, "relocation without a symbol");
    Expected<StringRef> sname = sym->getName();
    if (!sname) return failure(name, toString(sname.takeError()));
    uint64_t s;
    if (auto it = code.labels.find(sname->str()); it != code.labels.end()) s = it->second;
    else if (auto it = symbols.find(sname->str()); it != symbols.end()) s = it->second;
    else return failure(name, "undefined symbol '" + sname->str() + "': give it an address");
    uint64_t p = base + r.getOffset();
    uint64_t at = r.getOffset();
    switch (r.getType()) {
    case ELF::R_X86_64_PC32:
    case ELF::R_X86_64_PLT32: put(code.bytes, at, s + uint64_t(*addend) - p, 4); break;
    case ELF::R_X86_64_32:
    case ELF::R_X86_64_32S: put(code.bytes, at, s + uint64_t(*addend), 4); break;
    case ELF::R_X86_64_64: put(code.bytes, at, s + uint64_t(*addend), 8); break;
    default: return failure(name, "relocation type " + std::to_string(r.getType()) + " against '" + sname->str() + "' is not supported");
    }
  }
  return code;
}

} // namespace bespoke::test
