// The image's /etc/passwd and /etc/group from the names the app's command line gives (see Accounts.h).
#include "images/Accounts.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"

#include <set>

namespace bespoke {

namespace {

// name -> the whole line, for the colon-separated files (first line of a name wins, as in glibc's files).
std::map<std::string, std::string> linesByName(llvm::StringRef text) {
  std::map<std::string, std::string> out;
  llvm::SmallVector<llvm::StringRef> lines;
  text.split(lines, '\n', -1, false);
  for (llvm::StringRef line : lines) {
    line = line.rtrim("\r");
    if (line.empty() || line.starts_with("#") || line.starts_with("+") || line.starts_with("-")) continue;
    llvm::StringRef name = line.split(':').first;
    if (!name.empty()) out.emplace(name.str(), line.str());
  }
  return out;
}

std::string field(llvm::StringRef line, unsigned index) {
  llvm::SmallVector<llvm::StringRef> f;
  line.split(f, ':', -1, true);
  return index < f.size() ? f[index].str() : std::string();
}

// What could be an account name (shadow-utils' rule, with upper case): a word such as nginx's
// `-g "daemon off;"` is not, and is no name at all.
bool accountName(llvm::StringRef s) {
  if (s.empty() || s.size() > 32 || !(llvm::isAlpha(s[0]) || s[0] == '_')) return false;
  s.consume_back("$");
  return llvm::all_of(s, [](char ch) { return llvm::isAlnum(ch) || ch == '_' || ch == '-' || ch == '.'; });
}

void want(std::map<std::string, std::string> &names, const std::string &name, const std::string &why) {
  if (accountName(name)) names.emplace(name, why);
}

} // namespace

AccountNames accountNamesFromArgs(const std::vector<std::string> &args, const std::vector<ConfigText> &configs,
                                  llvm::StringRef hostPasswd) {
  AccountNames out;
  std::map<std::string, std::string> hostUsers = linesByName(hostPasswd);
  for (size_t i = 0; i < args.size(); ++i) {
    llvm::StringRef a = args[i];
    std::string n = std::to_string(i + 1); // argv index: argv[0] is the app
    if ((a == "-u" || a == "--user") && i + 1 < args.size())
      want(out.users, args[i + 1], "argument " + std::to_string(i + 2) + " (after " + a.str() + ")");
    else if ((a == "-g" || a == "--group") && i + 1 < args.size())
      want(out.groups, args[i + 1], "argument " + std::to_string(i + 2) + " (after " + a.str() + ")");
    else if (a.consume_front("--user="))
      want(out.users, a.str(), "argument " + n + " (--user=)");
    else if (a.consume_front("--group="))
      want(out.groups, a.str(), "argument " + n + " (--group=)");
    else if (hostUsers.count(a.str()))
      want(out.users, a.str(), "argument " + n + " (a user name of this machine)");
  }
  for (const ConfigText &c : configs) {
    llvm::SmallVector<llvm::StringRef> lines;
    llvm::StringRef(c.text).split(lines, '\n', -1, true);
    for (size_t l = 0; l < lines.size(); ++l) {
      llvm::StringRef line = lines[l].split('#').first.trim();
      llvm::SmallVector<llvm::StringRef> words;
      llvm::SplitString(line, words, " \t;");
      if (words.size() < 2 || words[0] != "user") continue;
      std::string why = c.path + ":" + std::to_string(l + 1) + ": " + line.str() + " (argument " +
                        std::to_string(c.argument) + ")";
      want(out.users, words[1].str(), why);
      if (words.size() > 2) want(out.groups, words[2].str(), why);
    }
  }
  return out;
}

Accounts generateAccounts(const AccountNames &names, llvm::StringRef hostPasswd, llvm::StringRef hostGroup) {
  Accounts out;
  std::map<std::string, std::string> hostUsers = linesByName(hostPasswd), hostGroups = linesByName(hostGroup);
  // root is fixed rather than copied: its shell and home here (/bin/bash, /root) need not be in the image.
  out.passwd = "root:x:0:0:root:/root:/bin/sh\n";
  out.users["root"] = "always";
  std::map<std::string, std::string> gids{{"0", "root"}}; // gid -> group name, for primary groups
  for (const auto &[name, line] : hostGroups) gids.emplace(field(line, 2), name);
  std::map<std::string, std::string> groups = names.groups;
  for (const auto &[name, why] : names.users) {
    auto it = hostUsers.find(name);
    if (name == "root") continue;
    if (it == hostUsers.end()) {
      out.leftOut.push_back("user " + name + " (" + why + ")");
      continue;
    }
    out.passwd += it->second + "\n";
    out.users[name] = why;
    if (auto g = gids.find(field(it->second, 3)); g != gids.end()) groups.emplace(g->second, "primary group of " + name);
  }
  out.group = "root:x:0:\n";
  out.groups["root"] = "always";
  for (const auto &[name, why] : groups) {
    auto it = hostGroups.find(name);
    if (name == "root") continue;
    if (it == hostGroups.end()) {
      out.leftOut.push_back("group " + name + " (" + why + ")");
      continue;
    }
    // Members that are not users of the image would name nobody there.
    std::string memberList = field(it->second, 3);
    llvm::SmallVector<llvm::StringRef> members;
    llvm::StringRef(memberList).split(members, ',', -1, false);
    std::vector<std::string> kept;
    for (llvm::StringRef m : members)
      if (out.users.count(m.str())) kept.push_back(m.str());
    out.group += name + ":" + field(it->second, 1) + ":" + field(it->second, 2) + ":" + llvm::join(kept, ",") + "\n";
    out.groups[name] = why;
  }
  return out;
}

} // namespace bespoke
