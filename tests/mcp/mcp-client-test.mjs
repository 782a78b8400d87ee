#!/usr/bin/env node
// `bespoke mcp` driven by the official MCP TypeScript SDK (Client + StdioClientTransport): tool listing,
// the analyze -> extend -> verify -> decide flow on real binaries, diff and check, negative verdicts,
// argument errors and failing commands as tool errors, a timeout, an unknown tool as a JSON-RPC error,
// and a server that keeps answering after all of them.
//
// usage: node mcp-client-test.mjs BESPOKE [MUSL_ECHO]
//   BESPOKE    the bespoke executable
//   MUSL_ECHO  the bundled static example (build/examples/musl-echo/musl-echo); checks using it are
//              skipped when it is missing
// Run this copy from the node test directory (next to node_modules; see tests/mcp/CMakeLists.txt).
// Prints one PASS/FAIL line per check and a closing "N passed, M failed"; exits non-zero on any failure.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';

const [bespokeArg, muslArg] = process.argv.slice(2);
if (!bespokeArg) {
  console.error('usage: node mcp-client-test.mjs BESPOKE [MUSL_ECHO]');
  process.exit(2);
}
const BESPOKE = resolve(bespokeArg);
const MUSL = muslArg && existsSync(muslArg) ? resolve(muslArg) : null;
const CAT = '/usr/bin/cat';
const LONG = { timeout: 600_000 }; // the SDK's default request timeout (60 s) is short for a cold analysis

let passed = 0;
let failed = 0;
function check(desc, ok, detail) {
  if (ok) {
    passed++;
    console.log(`PASS: ${desc}`);
  } else {
    failed++;
    console.log(`FAIL: ${desc}`);
    if (detail !== undefined) {
      const text = typeof detail === 'string' ? detail : JSON.stringify(detail, null, 1);
      for (const line of text.split('\n').slice(0, 20)) console.log(`      ${line}`);
    }
  }
}

const textOf = (r) => (r?.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');
const sc = (r) => r?.structuredContent ?? {};

const TMP = mkdtempSync(join(tmpdir(), 'bespoke-mcp-test.'));
// The server runs in TMP, so relative paths in tool arguments land there.
const transport = new StdioClientTransport({
  command: BESPOKE,
  args: ['mcp'],
  cwd: TMP,
  env: { ...process.env }, // BESPOKE_CACHE_DIR / HOME: the children share the analysis cache
  stderr: 'inherit',
});
const client = new Client({ name: 'bespoke-mcp-test', version: '1.0.0' });

async function call(name, args, options = LONG) {
  try {
    return await client.callTool({ name, arguments: args }, undefined, options);
  } catch (e) {
    return { thrown: e, isError: true, content: [{ type: 'text', text: `threw: ${e.message}` }] };
  }
}

async function alive(desc) {
  try {
    await client.ping();
    const { tools } = await client.listTools();
    check(`${desc}: the server still answers ping and tools/list`, tools.length === 8);
  } catch (e) {
    check(`${desc}: the server still answers ping and tools/list`, false, e.message);
  }
}

// A call with invalid arguments or a failing command: a tool result with isError, not a thrown error.
async function expectToolError(desc, name, args, needle) {
  const r = await call(name, args);
  const text = textOf(r);
  check(`${desc}: isError result${needle ? ` naming '${needle}'` : ''}`,
    !r.thrown && r.isError === true && typeof sc(r).exitCode === 'number' && (!needle || text.includes(needle)), r);
}

try {
  await client.connect(transport);
  check('initialize: server name bespoke', client.getServerVersion()?.name === 'bespoke', client.getServerVersion());
  check('initialize: tools capability', client.getServerCapabilities()?.tools !== undefined, client.getServerCapabilities());

  // --- tools/list ------------------------------------------------------------------------------------
  const { tools } = await client.listTools();
  const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
  for (const name of ['analyze', 'decide', 'extend', 'verify', 'observe', 'diff', 'check', 'rewrite']) {
    const t = byName[name];
    check(`tools/list has ${name} with an object inputSchema, a description and additionalProperties false`,
      t && t.inputSchema?.type === 'object' && typeof t.description === 'string' && t.description.length > 20 &&
        t.inputSchema.additionalProperties === false && typeof t.inputSchema.properties === 'object', t);
  }
  check('tools/list: extend requires manifest, format, output; format is an enum of 5',
    ['manifest', 'format', 'output'].every((p) => byName.extend?.inputSchema.required?.includes(p)) &&
      byName.extend?.inputSchema.properties.format.enum?.length === 5, byName.extend);

  // --- analyze -> extend -> verify -> decide on /usr/bin/cat ----------------------------------------
  const catYaml = join(TMP, 'cat.yaml');
  let r = await call('analyze', { binary: CAT, output: catYaml });
  check('analyze /usr/bin/cat -o cat.yaml: not isError, exitCode 0', r.isError === false && sc(r).exitCode === 0, r);
  const manifestOk = existsSync(catYaml) && readFileSync(catYaml, 'utf8').startsWith('bespoke: 2');
  check('analyze: the manifest file exists and starts with "bespoke: 2"', manifestOk);
  check('analyze: structuredContent.command is the bespoke command run',
    JSON.stringify(sc(r).command) === JSON.stringify(['bespoke', 'analyze', CAT, '-o', catYaml]), sc(r));

  r = await call('analyze', { binary: CAT });
  check('analyze without output: the manifest YAML is the first text item',
    r.isError === false && r.content[0]?.text.startsWith('bespoke: 2'), r.content?.[0]?.text?.slice(0, 200));

  r = await call('analyze', { binary: CAT, output: 'relative.yaml' });
  check('analyze output relative.yaml: written relative to the server\'s working directory',
    r.isError === false && existsSync(join(TMP, 'relative.yaml')), r);

  const catBpf = join(TMP, 'cat.bpf');
  r = await call('extend', { manifest: catYaml, format: 'bpf', output: catBpf });
  check('extend cat.yaml --format bpf: exitCode 0, verdict proven, file written',
    r.isError === false && sc(r).exitCode === 0 && sc(r).verdict === 'proven' && existsSync(catBpf) &&
      statSync(catBpf).size > 0 && statSync(catBpf).size % 8 === 0, r);

  r = await call('verify', { manifest: catYaml, filter: catBpf });
  check('verify cat.yaml cat.bpf: exitCode 0 and PROVEN',
    r.isError === false && sc(r).exitCode === 0 && textOf(r).includes('PROVEN') && sc(r).verdict === 'proven', r);

  r = await call('extend', { manifest: catYaml, format: 'oci', output: '-' });
  let oci = null;
  try { oci = JSON.parse(r.content?.[0]?.text ?? ''); } catch { /* checked below */ }
  check("extend --format oci -o '-': the OCI profile is the result text", r.isError === false && oci?.defaultAction !== undefined, r);

  // A filter with another default action is a different policy: a negative verdict, not an error.
  const errnoBpf = join(TMP, 'cat-errno.bpf');
  r = await call('extend', { manifest: catYaml, format: 'bpf', output: errnoBpf, default_action: 'errno:1' });
  check('extend --default-action errno:1: exitCode 0', r.isError === false && sc(r).exitCode === 0, r);
  r = await call('verify', { manifest: catYaml, filter: errnoBpf });
  check('verify an errno:1 filter against the kill-process policy: not isError, exitCode 1, NOT PROVEN said',
    r.isError === false && sc(r).exitCode === 1 && sc(r).verdict === 'not-proven' &&
      textOf(r).includes('NOT PROVEN') && textOf(r).includes('NOT EQUIVALENT'), r);
  r = await call('verify', { manifest: catYaml, filter: errnoBpf, default_action: 'errno:1' });
  check('verify the same filter with default_action errno:1: PROVEN', sc(r).exitCode === 0 && textOf(r).includes('PROVEN'), r);

  // observe: cat run unrestricted under its own manifest; the report is the structured result.
  r = await call('observe', { manifest: catYaml, command: [CAT, '/etc/hostname'] });
  if (process.getuid() === 0) {
    check('observe cat.yaml -- cat /etc/hostname: exitCode 0, structuredContent.violations empty, recorded_calls a number',
      r.isError === false && sc(r).exitCode === 0 && Array.isArray(sc(r).violations) && sc(r).violations.length === 0 &&
        typeof sc(r).recorded_calls === 'number' && JSON.stringify(sc(r).command).includes('--json'), r);
  } else {
    check('observe without root: an error result with exit status 2', r.isError === true && sc(r).exitCode === 2, r);
  }

  r = await call('decide', { manifest: catYaml });
  check('decide cat.yaml: not isError, structuredContent.recommendation is extend or rewrite',
    r.isError === false && ['extend', 'rewrite'].includes(sc(r).recommendation) && sc(r).exitCode === 0, r);
  // With image: a built image directory (here a fresh fake one, never booted) enters the decision.
  const img = mkdtempSync(join(TMP, 'image.'));
  writeFileSync(join(img, 'bzImage'), Buffer.alloc(1000));
  writeFileSync(join(img, 'initramfs.cpio.gz'), Buffer.alloc(500));
  writeFileSync(join(img, 'kernel.config'), 'CONFIG_NET=y\n# CONFIG_MODULES is not set\n');
  r = await call('decide', { manifest: catYaml, image: img });
  const image = sc(r).rewrite?.image;
  check('decide with image: the image is measured, not booted, and lacks MODULES',
    r.isError === false && sc(r).exitCode === 0 && image?.built === true && image.boot?.measured === false &&
      image.lacks?.features?.some((f) => f.option === 'MODULES'), r);

  // --- diff and check --------------------------------------------------------------------------------
  r = await call('diff', { old: catYaml, new: join(TMP, 'relative.yaml') });
  check('diff of two manifests of the same binary: exitCode 0', r.isError === false && sc(r).exitCode === 0 && sc(r).verdict === 'same', r);
  r = await call('check', { baseline: catYaml, binary: CAT });
  check('check /usr/bin/cat against its own baseline: exitCode 0', r.isError === false && sc(r).exitCode === 0, r);
  r = await call('check', { baseline: catYaml, binary: CAT, format: 'sarif' });
  check('check --format sarif: not isError', r.isError === false && sc(r).exitCode === 0, r);
  // A baseline without cat's first syscall: the footprint grew, a negative verdict, not an error.
  const lines = readFileSync(catYaml, 'utf8').split('\n');
  const first = lines.indexOf('syscalls:') + 1;
  let end = first + 1;
  while (end < lines.length && lines[end].startsWith('    ')) end++;
  const removed = lines[first].replace(/^\s*- name:\s*/, '');
  lines.splice(first, end - first);
  const shrunk = join(TMP, 'shrunk.yaml');
  writeFileSync(shrunk, lines.join('\n'));
  r = await call('check', { baseline: shrunk, binary: CAT });
  check(`check cat against a baseline without ${removed}: not isError, exitCode 1, verdict grew, said in the text`,
    r.isError === false && sc(r).exitCode === 1 && sc(r).verdict === 'grew' && textOf(r).includes('GREW'), r);

  if (MUSL) {
    const muslYaml = join(TMP, 'musl-echo.yaml');
    r = await call('analyze', { binary: MUSL, output: muslYaml });
    check('analyze musl-echo: exitCode 0', r.isError === false && sc(r).exitCode === 0 && existsSync(muslYaml), r);
    r = await call('diff', { old: muslYaml, new: catYaml, format: 'json' });
    check('diff musl-echo vs cat: not isError, exitCode 1, verdict different, said in the text',
      r.isError === false && sc(r).exitCode === 1 && sc(r).verdict === 'different' && textOf(r).includes('DIFFERENT'), r);
  } else {
    console.log('SKIP: musl-echo checks (no MUSL_ECHO given or not built)');
  }

  // --- bad arguments and failing commands are tool errors; the server lives on ------------------------
  await expectToolError('analyze {} (missing binary)', 'analyze', {}, 'binary');
  await expectToolError('verify without filter (missing required)', 'verify', { manifest: catYaml }, "missing required property 'filter'");
  await expectToolError('extend with manifest: 5 (wrong type)', 'extend', { manifest: 5, format: 'bpf', output: 'x.bpf' }, "'manifest' must be a string");
  await expectToolError('verify with an unknown property', 'verify', { manifest: catYaml, filter: catBpf, bogus: true }, "unknown property 'bogus'");
  await expectToolError('extend with format pdf (not in the enum)', 'extend', { manifest: catYaml, format: 'pdf', output: 'x' }, 'pdf');
  await expectToolError('verify with default_action allow (pattern)', 'verify', { manifest: catYaml, filter: catBpf, default_action: 'allow' }, 'default_action');
  await expectToolError('analyze with both binary and compile_commands', 'analyze', { binary: CAT, compile_commands: 'cc.json' }, 'not both');
  await expectToolError('extend bpf to standard output', 'extend', { manifest: catYaml, format: 'bpf', output: '-' }, 'binary');
  await expectToolError('timeout_seconds 0 (below the minimum)', 'verify', { manifest: catYaml, filter: catBpf, timeout_seconds: 0 }, 'timeout_seconds');
  r = await call('analyze', { binary: '/nonexistent/program' });
  check('analyze a nonexistent binary: isError, exitCode 2, stderr naming the path',
    !r.thrown && r.isError === true && sc(r).exitCode === 2 && textOf(r).includes('/nonexistent/program'), r);
  r = await call('verify', { manifest: catBpf, filter: catBpf });
  check('verify with a filter as the manifest: isError, exitCode 2', r.isError === true && sc(r).exitCode === 2, r);
  await expectToolError('rewrite with args not an array of strings', 'rewrite', { manifest: catYaml, binary: CAT, output: join(TMP, 'img'), args: [1] }, "'args' must be an array of strings");
  await expectToolError('rewrite with seccomp not a boolean', 'rewrite', { manifest: catYaml, binary: CAT, output: join(TMP, 'img'), seccomp: 'yes' }, "'seccomp' must be a boolean");
  r = await call('rewrite', { manifest: catYaml, binary: CAT, output: join(TMP, 'img'), seccomp: true,
                              add: [join(TMP, 'no-such.sql') + ':/data/q.sql'], args: ['-n', 'x'] });
  check('rewrite cat with a missing --add file: isError, exitCode 2, said why, no image written, flags passed',
    r.isError === true && sc(r).exitCode === 2 && textOf(r).includes('no-such.sql: no such file (--add)') &&
    !existsSync(join(TMP, 'img')) &&
    JSON.stringify(sc(r).command).includes('"--seccomp","--add","' + join(TMP, 'no-such.sql') + ':/data/q.sql","--","-n","x"'), r);
  r = await call('analyze', { binary: '-q' });
  check("analyze binary '-q': an operand, not an option (isError naming ./-q)", r.isError === true && textOf(r).includes('./-q'), r);

  // A filter that is a FIFO nobody writes: the child blocks opening it, and the timeout kills it. With
  // a progress token (the SDK sends one with onprogress), the server reports progress every 5 s meanwhile.
  const fifo = join(TMP, 'never.bpf');
  execFileSync('mkfifo', [fifo]);
  const progress = [];
  const t0 = Date.now();
  r = await call('verify', { manifest: catYaml, filter: fifo, timeout_seconds: 7 },
    { timeout: 60_000, onprogress: (p) => progress.push(p), resetTimeoutOnProgress: true });
  const secs = (Date.now() - t0) / 1000;
  check(`verify on a FIFO with timeout_seconds 7: isError, timedOut, within 30 s (${secs.toFixed(1)} s)`,
    r.isError === true && sc(r).timedOut === true && textOf(r).includes('timed out') && secs >= 6 && secs < 30, r);
  check(`progress notifications while it ran (${progress.length})`,
    progress.length >= 1 && progress[0].progress >= 4 && /verify running/.test(progress[0].message ?? ''), progress);

  r = await call('verify', { manifest: catYaml, filter: catBpf });
  check('after all the errors: verify still PROVEN', r.isError === false && textOf(r).includes('PROVEN'), r);

  // --- an unknown tool is a JSON-RPC error (-32602), thrown by the SDK as McpError --------------------
  r = await call('no-such-tool', {});
  check('unknown tool: the SDK throws McpError with code -32602',
    r.thrown instanceof McpError && r.thrown.code === -32602, r.thrown ? `${r.thrown.name}: ${r.thrown.message}` : r);
  await alive('after the unknown tool');
} catch (e) {
  check('no unexpected exception', false, e.stack ?? String(e));
} finally {
  await client.close().catch(() => {});
  rmSync(TMP, { recursive: true, force: true });
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
