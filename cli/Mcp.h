// bespoke mcp: a Model Context Protocol server over stdio (JSON-RPC 2.0). Each tool call runs the
// matching bespoke command in a child process, so a failing call becomes a tool error, never a dead server.
#pragma once

#include <string>
#include <vector>

namespace bespoke {

extern const char *const McpUsage; // the text of 'bespoke mcp --help'

// Serves requests from standard input until it closes. Returns the process exit status.
int runMcp(const std::vector<std::string> &args);

} // namespace bespoke
