// The image commands (cli/Images.cpp): `rewrite` builds a trimmed kernel + initramfs for a static app,
// `boot` runs it in QEMU. Flags and wiring only; the work is in images/.
#pragma once

#include <string>
#include <vector>

namespace bespoke::cli {

extern const char *const RewriteUsage, *const BootUsage;
int runRewrite(const std::vector<std::string> &args);
int runBoot(const std::vector<std::string> &args);

} // namespace bespoke::cli
