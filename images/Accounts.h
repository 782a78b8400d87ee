// Accounts: the image's /etc/passwd and /etc/group. Never the host's whole files: root, plus the users and
// groups the app's command line names, each with its line from the host's files (so a uid, a home or a
// primary group is what the app would see here). A name the host does not know is left out: the app
// fails in the image as it would here.
//
// Which names the command line names (kept simple, documented in images/README.md):
//   - the argument after -u, --user, -g or --group, and the value of --user=NAME or --group=NAME;
//   - an argument equal to a user name of the host (`su NAME`, `id NAME`);
//   - `user NAME [GROUP];` lines (nginx's syntax; a '#' starts a comment) in a configuration file an
//     argument names.
// Only words that can be account names count (nginx's `-g "daemon off;"` names no group). A named user
// brings its primary group. Group lines keep only members that are users of the image.
#pragma once

#include "llvm/ADT/StringRef.h"

#include <map>
#include <string>
#include <vector>

namespace bespoke {

// Names, each with why it is wanted ("argument 2 (after -u)", "/etc/x.conf:3: user www-data;").
struct AccountNames {
  std::map<std::string, std::string> users, groups;
};

// `configs`: the text of every configuration file the arguments name, by the argument's index (1-based,
// as in argv) and path. `hostPasswd`: the host's /etc/passwd text, for the bare-argument rule.
struct ConfigText {
  size_t argument = 0;
  std::string path, text;
};
AccountNames accountNamesFromArgs(const std::vector<std::string> &args, const std::vector<ConfigText> &configs,
                                  llvm::StringRef hostPasswd);

struct Accounts {
  std::string passwd, group;                 // the files' contents
  std::map<std::string, std::string> users;  // name -> why (root: "always")
  std::map<std::string, std::string> groups; // name -> why
  std::vector<std::string> leftOut;          // "user NAME (WHY)": named, but not an account of this machine
};
Accounts generateAccounts(const AccountNames &names, llvm::StringRef hostPasswd, llvm::StringRef hostGroup);

} // namespace bespoke
