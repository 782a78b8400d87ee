// Files compiled into bespoke so an installed binary needs nothing from the source tree: the
// config fragments (base, net, one per root kind, one per machine, entropy) and the static init. Paths come from images/CMakeLists.txt.
#include "images/Image.h"
#include "images/KernelConfig.h"
#include "images/Machine.h"
#include "images/RootImage.h"

#define BESPOKE_EMBED(sym, file)                                                                                 \
  asm(".section .rodata\n.balign 16\n.globl " #sym "_start\n.hidden " #sym "_start\n" #sym "_start:\n.incbin \"" \
      file "\"\n.globl " #sym "_end\n.hidden " #sym "_end\n" #sym "_end:\n.byte 0\n.previous\n")

BESPOKE_EMBED(bespoke_base_config, BESPOKE_BASE_CONFIG);
BESPOKE_EMBED(bespoke_net_config, BESPOKE_NET_CONFIG);
BESPOKE_EMBED(bespoke_root_initramfs_config, BESPOKE_ROOT_INITRAMFS_CONFIG);
BESPOKE_EMBED(bespoke_root_erofs_config, BESPOKE_ROOT_EROFS_CONFIG);
BESPOKE_EMBED(bespoke_machine_pc_config, BESPOKE_MACHINE_PC_CONFIG);
BESPOKE_EMBED(bespoke_machine_microvm_config, BESPOKE_MACHINE_MICROVM_CONFIG);
BESPOKE_EMBED(bespoke_entropy_config, BESPOKE_ENTROPY_CONFIG);
BESPOKE_EMBED(bespoke_init_binary, BESPOKE_INIT_BINARY);

extern "C" const char bespoke_base_config_start[], bespoke_base_config_end[];
extern "C" const char bespoke_net_config_start[], bespoke_net_config_end[];
extern "C" const char bespoke_root_initramfs_config_start[], bespoke_root_initramfs_config_end[];
extern "C" const char bespoke_root_erofs_config_start[], bespoke_root_erofs_config_end[];
extern "C" const char bespoke_machine_pc_config_start[], bespoke_machine_pc_config_end[];
extern "C" const char bespoke_machine_microvm_config_start[], bespoke_machine_microvm_config_end[];
extern "C" const char bespoke_entropy_config_start[], bespoke_entropy_config_end[];
extern "C" const char bespoke_init_binary_start[], bespoke_init_binary_end[];

namespace bespoke {

llvm::StringRef baseFragmentText() {
  return llvm::StringRef(bespoke_base_config_start, bespoke_base_config_end - bespoke_base_config_start);
}
llvm::StringRef netFragmentText() {
  return llvm::StringRef(bespoke_net_config_start, bespoke_net_config_end - bespoke_net_config_start);
}
llvm::StringRef rootFragmentText(RootKind kind) {
  switch (kind) {
  case RootKind::Initramfs:
    return llvm::StringRef(bespoke_root_initramfs_config_start,
                           bespoke_root_initramfs_config_end - bespoke_root_initramfs_config_start);
  case RootKind::Erofs:
    return llvm::StringRef(bespoke_root_erofs_config_start,
                           bespoke_root_erofs_config_end - bespoke_root_erofs_config_start);
  }
  return "";
}
llvm::StringRef machineFragmentText(MachineKind kind) {
  switch (kind) {
  case MachineKind::Pc:
    return llvm::StringRef(bespoke_machine_pc_config_start, bespoke_machine_pc_config_end - bespoke_machine_pc_config_start);
  case MachineKind::Microvm:
    return llvm::StringRef(bespoke_machine_microvm_config_start,
                           bespoke_machine_microvm_config_end - bespoke_machine_microvm_config_start);
  }
  return "";
}
llvm::StringRef entropyFragmentText() {
  return llvm::StringRef(bespoke_entropy_config_start, bespoke_entropy_config_end - bespoke_entropy_config_start);
}
llvm::StringRef initBinary() {
  return llvm::StringRef(bespoke_init_binary_start, bespoke_init_binary_end - bespoke_init_binary_start);
}

} // namespace bespoke
