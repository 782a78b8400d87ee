"""kbuild_walk (scripts/gen-kconfig-map): which C files kbuild compiles into an x86-64 vmlinux and under
which conditions (Makefiles/Kbuild files evaluated, #if blocks around definitions), and where each
SYSCALL_DEFINE lives. Split out of gen-kconfig-map; see its docstring."""

import os
import re

from kconfig_logic import FALSE, TRUE, Logic, neg_lit, warn

# ---------------------------------------------------------------------------------------------------
# C preprocessor conditions.

def strip_c_comments(text):
    def repl(m):
        return "\n" * m.group(0).count("\n") if m.group(0).startswith("/*") else ""
    return re.sub(r"/\*.*?\*/|//[^\n]*", repl, text, flags=re.S)


# The compiler's architecture macros: x86-64's are set (in macros), these never are.
OTHER_ARCH_MACROS = {"__%s__" % a for a in (
    "i386", "alpha", "arm", "aarch64", "arc", "csky", "hexagon", "ia64", "loongarch", "m68k", "microblaze",
    "mips", "nios2", "openrisc", "parisc", "hppa", "powerpc", "powerpc64", "riscv", "s390", "s390x", "sh",
    "sparc", "sparc64", "xtensa", "um")}


class CondParser:
    """#if expressions over defined(CONFIG_X), IS_ENABLED(CONFIG_X), known macros, !, &&, ||."""

    TOKEN = re.compile(r"\s*(defined|\|\||&&|==|!=|>=|<=|[()!<>]|\w+|\S)")

    def __init__(self, logic, macros):
        self.logic = logic
        self.macros = macros  # name -> DNF under which it is defined, or an int value

    def parse(self, text):
        self.text = text.strip()
        self.toks = self.TOKEN.findall(self.text)
        self.i = 0
        try:
            r = self.expr_or()
            if self.i != len(self.toks):
                raise ValueError
            return r
        except (ValueError, IndexError):
            return self.logic.lit("?" + " ".join(self.text.split()))

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, t=None):
        tok = self.toks[self.i]
        if t is not None and tok != t:
            raise ValueError
        self.i += 1
        return tok

    def expr_or(self):
        r = self.expr_and()
        while self.peek() == "||":
            self.take()
            r = self.logic.or_(r, self.expr_and())
        return r

    def expr_and(self):
        r = self.unary()
        while self.peek() == "&&":
            self.take()
            r = self.logic.and_(r, self.unary())
        return r

    def unary(self):
        if self.peek() == "!":
            self.take()
            return self.logic.negate(self.unary())
        return self.compare()

    def value(self, name):
        """The integer value of a macro, or None."""
        v = self.macros.get(name)
        if isinstance(v, int):
            return v
        if re.fullmatch(r"\d+[uUlL]*", name):
            return int(re.sub(r"[uUlL]", "", name))
        return None

    def compare(self):
        start = self.i
        a = self.atom()
        if self.peek() in ("==", "!=", "<", ">", "<=", ">="):
            op = self.take()
            b = self.take()
            va, vb = self.value(self.toks[start]) if self.i - start == 3 else None, self.value(b)
            if va is None or vb is None:
                return self.logic.lit("?" + " ".join(self.toks[start:self.i]))
            res = {"==": va == vb, "!=": va != vb, "<": va < vb, ">": va > vb, "<=": va <= vb, ">=": va >= vb}[op]
            return TRUE if res else FALSE
        return a

    def defined(self, name):
        if name.startswith("CONFIG_"):
            return self.logic.lit(name[len("CONFIG_"):])
        v = self.macros.get(name)
        if v is None:
            if name.startswith("__ARCH_WANT_"):
                return FALSE  # x86's asm/unistd.h does not define it
            if re.fullmatch(r"_\w+_H_?", name) or name in OTHER_ARCH_MACROS:
                return FALSE  # an include guard, tested before its #define; another architecture
            return self.logic.lit("?defined(" + name + ")")
        return TRUE if isinstance(v, int) else v

    def atom(self):
        t = self.take()
        if t == "(":
            r = self.expr_or()
            self.take(")")
            return r
        if t == "defined":
            if self.peek() == "(":
                self.take("(")
                n = self.take()
                self.take(")")
            else:
                n = self.take()
            return self.defined(n)
        if t in ("IS_ENABLED", "IS_BUILTIN", "IS_REACHABLE", "IS_MODULE"):
            self.take("(")
            n = self.take()
            self.take(")")
            if not n.startswith("CONFIG_"):
                raise ValueError
            if t == "IS_MODULE":
                return FALSE  # a module never holds a syscall
            return self.logic.lit(n[len("CONFIG_"):])
        if t.startswith("CONFIG_"):
            return self.logic.lit(t[len("CONFIG_"):])  # #if CONFIG_X: 1 when =y
        v = self.value(t)
        if v is not None:
            return TRUE if v else FALSE
        if re.fullmatch(r"\w+", t):
            return self.logic.lit("?" + t)
        raise ValueError


def logical_lines(text):
    """(line number, text) with backslash continuations joined."""
    out = []
    buf, start = "", None
    for n, line in enumerate(text.split("\n"), 1):
        if start is None:
            start = n
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        out.append((start, buf + line))
        buf, start = "", None
    if buf:
        out.append((start, buf))
    return out


DIRECTIVE = re.compile(r"^\s*#\s*(if|ifdef|ifndef|elif|else|endif|include|define|undef)\b(.*)$")


class CPreprocessorWalk:
    """Runs the #if stack over a file and reports, for every interesting line, the condition there."""

    def __init__(self, logic, parser):
        self.logic = logic
        self.parser = parser

    def walk(self, text, on_line):
        logic = self.logic
        stack = []  # [current branch condition, OR of previous branches]
        cur = TRUE
        for n, line in logical_lines(strip_c_comments(text)):
            m = DIRECTIVE.match(line)
            if m:
                d, rest = m.group(1), m.group(2).strip()
                if d == "if":
                    c = self.parser.parse(rest)
                    stack.append([c, FALSE])
                elif d == "ifdef":
                    stack.append([self.parser.defined(rest.split()[0]), FALSE])
                elif d == "ifndef":
                    stack.append([logic.negate(self.parser.defined(rest.split()[0])), FALSE])
                elif d == "elif" and stack:
                    f = stack[-1]
                    f[1] = logic.or_(f[1], f[0])
                    f[0] = logic.and_(logic.negate(f[1]), self.parser.parse(rest))
                elif d == "else" and stack:
                    f = stack[-1]
                    f[1] = logic.or_(f[1], f[0])
                    f[0] = logic.negate(f[1])
                elif d == "endif" and stack:
                    stack.pop()
                cur = TRUE
                for f in stack:
                    cur = logic.and_(cur, f[0])
                on_line(n, d, rest, cur)
            else:
                on_line(n, None, line, cur)


def arch_macros(src, logic):
    """__ARCH_WANT_* macros of arch/x86/include/asm/unistd.h, with the condition they are defined under."""
    macros = {"BITS_PER_LONG": 64, "__BITS_PER_LONG": 64, "__x86_64__": 1, "__LP64__": 1}
    parser = CondParser(logic, macros)

    def on_line(n, d, rest, cond):
        if d == "define":
            name = rest.split()[0] if rest.split() else ""
            if name.startswith("__ARCH_WANT_") and cond != FALSE:
                macros[name] = logic.or_(macros.get(name, FALSE), cond)

    with open(os.path.join(src, "arch/x86/include/asm/unistd.h")) as fh:
        CPreprocessorWalk(logic, parser).walk(fh.read(), on_line)
    return macros


# ---------------------------------------------------------------------------------------------------
# kbuild: which C files vmlinux is built from, and under which condition.

def split_words(text):
    """Whitespace-separated words; $(...) references may contain spaces."""
    words, cur, depth, i = [], "", 0, 0
    while i < len(text):
        c = text[i]
        if c == "$" and i + 1 < len(text) and text[i + 1] in "({":
            depth += 1
            cur += text[i:i + 2]
            i += 2
            continue
        if depth and c in ")}":
            depth -= 1
        elif depth and c in "({":
            depth += 1
        if c.isspace() and depth == 0:
            if cur:
                words.append(cur)
            cur = ""
        else:
            cur += c
        i += 1
    if cur:
        words.append(cur)
    return words


def split_args(text):
    """Top-level comma-separated arguments of a make function call."""
    args, cur, depth = [], "", 0
    for c in text:
        if c in "({":
            depth += 1
        elif c in ")}":
            depth -= 1
        if c == "," and depth == 0:
            args.append(cur)
            cur = ""
        else:
            cur += c
    args.append(cur)
    return args


class MakeEval:
    """Evaluates the variable assignments and ifeq/ifdef blocks of one kbuild file. A variable's value
    is a list of (word, DNF): the word is in the value under that condition."""

    def __init__(self, logic, path, variables):
        self.logic = logic
        self.path = path
        self.vars = variables

    # A reference, as alternatives (value, condition). `cmp` is set inside ifeq: $(CONFIG_X) is then
    # "y" under X and "" otherwise, and an unknown reference makes the comparison unknown.
    def ref(self, inner, cmp):
        logic = self.logic
        m = re.fullmatch(r"CONFIG_(\w+)", inner)
        if m:
            c = logic.lit(m.group(1))
            alts = [("y", c)]
            if cmp:
                alts.append(("", logic.negate(c)))
            return alts
        m = re.fullmatch(r"subst\s+m\s*,\s*y\s*,\s*(.*)", inner, re.S)
        if m:
            return self.expand_text(m.group(1).strip(), cmp)
        if inner in self.vars:
            vals = self.vars[inner]
            if not vals:
                return [("", TRUE)]
            # A multi-word variable used as a whole word (the common case) is handled by expand_word.
            return [(w, c) for w, c in vals]
        if re.match(r"^(call|shell|if|filter|filter-out|patsubst|addprefix|addsuffix|foreach|wildcard|"
                    r"notdir|dir|basename|strip|sort|findstring|or|and|origin|word|firstword|info|warning|error)\b",
                    inner):
            raise LookupError(inner)
        if cmp:
            raise LookupError(inner)
        return [("", TRUE)]  # undefined make variable: empty

    def expand_text(self, text, cmp=False):
        """A text without top-level spaces: alternatives (value, condition)."""
        parts = [("", TRUE)]
        i = 0
        while i < len(text):
            c = text[i]
            if c == "$" and i + 1 < len(text):
                if text[i + 1] in "({":
                    close = ")" if text[i + 1] == "(" else "}"
                    depth, j = 1, i + 2
                    while j < len(text) and depth:
                        if text[j] in "({":
                            depth += 1
                        elif text[j] in ")}":
                            depth -= 1
                        j += 1
                    inner = text[i + 2:j - 1]
                    alts = self.ref(inner, cmp)
                    i = j
                elif text[i + 1] == "$":
                    alts = [("$", TRUE)]
                    i += 2
                else:
                    alts = self.ref(text[i + 1], cmp)
                    i += 2
                parts = [(p + v, self.logic.and_(pc, vc)) for p, pc in parts for v, vc in alts]
                parts = [(p, c2) for p, c2 in parts if c2 != FALSE]
            else:
                parts = [(p + c, pc) for p, pc in parts]
                i += 1
        return parts

    def expand_words(self, text, var=""):
        out = []
        for w in split_words(text):
            m = re.fullmatch(r"\$\((addprefix|addsuffix)\s+([^,]*),(.*)\)", w, re.S)
            if m:
                for v, c in self.expand_words(m.group(3), var):
                    out.append((m.group(2) + v if m.group(1) == "addprefix" else v + m.group(2), c))
                continue
            try:
                m = re.fullmatch(r"\$\(([\w.-]+)\)", w)
                if m and m.group(1) in self.vars:
                    out.extend(self.vars[m.group(1)])
                    continue
                out.extend((v, c) for v, c in self.expand_text(w) if v)
            except LookupError as e:
                if re.match(r"^((obj|lib|core|libs|drivers)-|\S+-(y|objs)$)", var):
                    warn("%s: %s: cannot expand $(%s); ignored" % (self.path, var, str(e)[:60]))
        return out

    def condition(self, kind, rest):
        logic = self.logic
        if kind in ("ifdef", "ifndef"):
            name = rest.strip()
            if name.startswith("CONFIG_"):
                c = logic.lit(name[len("CONFIG_"):])
            elif name in self.vars:
                c = TRUE if self.vars[name] else FALSE
            else:
                c = logic.lit("?" + kind + " " + name)
                return c
            return c if kind == "ifdef" else logic.negate(c)
        rest = rest.strip()
        if rest.startswith("("):
            if not rest.endswith(")"):
                return logic.lit("?" + kind + " " + rest)
            args = split_args(rest[1:-1])
        else:
            args = re.findall(r"\"([^\"]*)\"|'([^']*)'", rest)
            args = [a or b for a, b in args]
        if len(args) != 2:
            return logic.lit("?" + kind + " " + rest)
        try:
            a = self.expand_text(args[0].strip(), True)
            b = self.expand_text(args[1].strip(), True)
        except LookupError:
            return logic.lit("?" + kind + " " + " ".join(rest.split()))
        eq = FALSE
        for va, ca in a:
            for vb, cb in b:
                if va == vb:
                    eq = logic.or_(eq, logic.and_(ca, cb))
        return eq if kind == "ifeq" else logic.negate(eq)

    def run(self, text):
        logic = self.logic
        stack = []  # [current branch condition, OR of previous branches]
        cur = TRUE
        in_define = False
        in_rule = False
        for _, line in logical_lines(text):
            if line.startswith("\t") and in_rule:
                continue  # a recipe
            line = re.sub(r"(?<!\\)#.*", "", line).strip()
            if not line:
                continue
            # A rule (target: prerequisites) starts a recipe; an assignment or directive ends it.
            in_rule = bool(re.match(r"^[^=]*[^:=+?]:(?!=)", line)) and not re.match(r"^(ifeq|ifneq|ifdef|ifndef|else|endif)\b", line)
            if in_define:
                if line.startswith("endef"):
                    in_define = False
                continue
            if line.startswith("define "):
                in_define = True
                continue
            m = re.match(r"^(else\s+)?(ifeq|ifneq|ifdef|ifndef)\b\s*(.*)$", line)
            if m:
                c = self.condition(m.group(2), m.group(3))
                if m.group(1) and stack:
                    f = stack[-1]
                    f[1] = logic.or_(f[1], f[0])
                    f[0] = logic.and_(logic.negate(f[1]), c)
                else:
                    stack.append([c, FALSE])
            elif line == "else" and stack:
                f = stack[-1]
                f[1] = logic.or_(f[1], f[0])
                f[0] = logic.negate(f[1])
            elif line == "endif" and stack:
                stack.pop()
            else:
                if any(f[0] == FALSE for f in stack):
                    continue
                self.assign(line, stack)
                continue
            cur = TRUE
            for f in stack:
                cur = logic.and_(cur, f[0])

    def assign(self, line, stack):
        logic = self.logic
        line = re.sub(r"^(export|override)\s+", "", line)
        m = re.match(r"^([^\s:=#?+]+)\s*(\+=|::=|:=|\?=|=)\s*(.*)$", line)
        if not m:
            return
        name_text, op, value = m.groups()
        cur = TRUE
        for f in stack:
            cur = logic.and_(cur, f[0])
        try:
            names = self.expand_text(name_text)
        except LookupError as e:
            warn("%s: cannot expand variable name %s; ignored" % (self.path, name_text))
            return
        words = self.expand_words(value, name_text)
        for name, nc in names:
            c = logic.and_(cur, nc)
            if c == FALSE or not name:
                continue
            old = self.vars.get(name, [])
            if op == "?=" and name in self.vars:
                continue
            if op != "+=":
                notc = logic.negate(c)
                old = [(w, logic.and_(wc, notc)) for w, wc in old]
                old = [(w, wc) for w, wc in old if wc != FALSE]
            new = [(w, logic.and_(c, wc)) for w, wc in words]
            self.vars[name] = old + [(w, wc) for w, wc in new if wc != FALSE]


COMPOSITE_EXCLUDE = {"obj", "lib", "subdir", "always", "targets", "extra", "hostprogs", "userprogs"}


class Kbuild:
    """The directory tree kbuild descends for vmlinux, and the C files it compiles."""

    BASE_VARS = {"SRCARCH": "x86", "ARCH": "x86", "BITS": "64", "srctree": ".", "objtree": ".",
                 "UTS_MACHINE": "x86_64"}

    def __init__(self, src, logic):
        self.src = src
        self.logic = logic
        self.edges = {}   # dir -> [(child dir, DNF)]
        self.files = {}   # dir -> [(C file path, DNF)]

    def base_vars(self, d):
        v = {k: [(val, TRUE)] for k, val in self.BASE_VARS.items()}
        v["src"] = v["obj"] = [(d, TRUE)]
        return v

    def eval_file(self, path, variables):
        ev = MakeEval(self.logic, path, variables)
        with open(os.path.join(self.src, path), errors="replace") as fh:
            ev.run(fh.read())
        return ev.vars

    def arch_vars(self):
        # The top Makefile sets libs-y := lib/ and includes arch/x86/Makefile, which adds core-y,
        # libs-y and drivers-$(CONFIG_X); the top Kbuild then descends ARCH_CORE, ARCH_LIB, ARCH_DRIVERS.
        v = self.base_vars(".")
        v.update({"core-y": [], "drivers-y": [], "libs-y": [("lib/", TRUE)]})
        v = self.eval_file("arch/x86/Makefile", v)
        return {"ARCH_CORE": v.get("core-y", []),
                "ARCH_LIB": [(w, c) for w, c in v.get("libs-y", []) if w.endswith("/")],
                "ARCH_DRIVERS": v.get("drivers-y", [])}

    def makefile_of(self, d):
        for name in ("Kbuild", "Makefile"):
            p = os.path.normpath(os.path.join(d, name))
            if os.path.isfile(os.path.join(self.src, p)):
                return p
        return None

    def visit(self, d, extra_vars=None):
        if d in self.edges:
            return
        self.edges[d] = []
        self.files[d] = []
        mk = self.makefile_of(d)
        if mk is None:
            warn("%s/: no Kbuild or Makefile" % d)
            return
        v = self.base_vars(d)
        if extra_vars:
            v.update(extra_vars)
        v = self.eval_file(mk, v)
        entries = v.get("obj-y", []) + v.get("lib-y", [])
        for w, c in entries:
            self.add_word(d, v, w, c, 0)
        for child, _ in list(self.edges[d]):
            self.visit(child)

    def add_word(self, d, v, w, c, depth):
        if c == FALSE or depth > 4:
            return
        if w.endswith("/"):
            child = os.path.normpath(os.path.join(d, w))
            if child.startswith(".."):
                return
            self.edges[d].append((child, c))
        elif w.endswith(".o"):
            base = w[:-2]
            members = []
            if os.path.basename(base) not in COMPOSITE_EXCLUDE:
                members = v.get(base + "-y", []) + v.get(base + "-objs", [])
            if members:
                for mw, mc in members:
                    if mw == w:
                        self.files[d].append((os.path.normpath(os.path.join(d, base + ".c")),
                                              self.logic.and_(c, mc)))
                    else:
                        self.add_word(d, v, mw, self.logic.and_(c, mc), depth + 1)
            else:
                self.files[d].append((os.path.normpath(os.path.join(d, base + ".c")), c))

    def build(self):
        self.visit(".", self.arch_vars())
        # Reach condition of every directory: OR over the rules that descend into it.
        parents = {}
        for d, kids in self.edges.items():
            for k, c in kids:
                parents.setdefault(k, []).append((d, c))
        reach = {".": TRUE}

        def reach_of(d, seen=()):
            if d in reach:
                return reach[d]
            r = FALSE
            for p, c in parents.get(d, []):
                if p in seen:
                    continue
                r = self.logic.or_(r, self.logic.and_(reach_of(p, seen + (d,)), c))
            reach[d] = r
            return r

        files = {}
        for d, fl in self.files.items():
            rd = reach_of(d)
            for f, c in fl:
                if not os.path.isfile(os.path.join(self.src, f)):
                    continue  # assembler or generated
                files[f] = self.logic.or_(files.get(f, FALSE), self.logic.and_(rd, c))
        return {f: c for f, c in files.items() if c != FALSE}


# ---------------------------------------------------------------------------------------------------
# System call definitions.

SYSCALL_DEF = re.compile(r"^\s*SYSCALL_DEFINE[0-6]\s*\(\s*(\w+)\s*[,)]")
# Entry points made an alias of a not-implemented stub (kernel/time/posix-stubs.c without POSIX_TIMERS):
# optional like the COND_SYSCALLs of kernel/sys_ni.c.
NI_ALIAS = re.compile(r"^\s*(?:SYS_NI\(\s*(\w+)\s*\)|SYSCALL_ALIAS\(\s*sys_(\w+)\s*,\s*sys_ni_\w+\s*\))")
ENOSYS_STUB = re.compile(r"^[ \t]*SYSCALL_DEFINE[0-6]\s*\([^{;]*\)\s*\{\s*return\s+-ENOSYS\s*;\s*\}", re.M)
INCLUDE_C = re.compile(r"^\"([^\"]+\.c)\"")


def find_definitions(src, files, logic, macros):
    """Entry point name (without sys_) -> {file: DNF} over the compiled files, and the entry points
    aliased to a not-implemented stub somewhere."""
    parser = CondParser(logic, macros)
    walker = CPreprocessorWalk(logic, parser)
    defs = {}
    ni_aliases = set()

    def scan(path, base, depth):
        with open(os.path.join(src, path), errors="replace") as fh:
            text = fh.read()
        if "SYSCALL_DEFINE" not in text and ".c\"" not in text:
            return

        # A definition whose whole body is `return -ENOSYS;` is a not-implemented stub (x86's ioperm
        # and iopl without X86_IOPL_IOPERM): optional, like a COND_SYSCALL, and not a definition.
        stripped = strip_c_comments(text)
        stubs = {stripped.count("\n", 0, m.start()) + 1 for m in ENOSYS_STUB.finditer(stripped)}

        def on_line(n, d, rest, cond):
            c = logic.and_(base, cond)
            if c == FALSE:
                return
            if d == "include":
                m = INCLUDE_C.match(rest)
                if m and depth < 3:
                    inc = os.path.normpath(os.path.join(os.path.dirname(path), m.group(1)))
                    if os.path.isfile(os.path.join(src, inc)):
                        scan(inc, c, depth + 1)
            elif d is None:
                m = SYSCALL_DEF.match(rest)
                if m and n in stubs:
                    ni_aliases.add(m.group(1))
                elif m:
                    per = defs.setdefault(m.group(1), {})
                    per[path] = logic.or_(per.get(path, FALSE), c)
                m = NI_ALIAS.match(rest)
                if m:
                    ni_aliases.add(m.group(1) or m.group(2))

        walker.walk(text, on_line)

    for f in sorted(files):
        scan(f, files[f], 0)
    return defs, ni_aliases


def syscall_table(src):
    out = []
    with open(os.path.join(src, "arch/x86/entry/syscalls/syscall_64.tbl")) as fh:
        for line in fh:
            line = line.split("#")[0].split()
            if len(line) < 3 or line[1] not in ("common", "64"):
                continue
            out.append((line[2], line[3] if len(line) > 3 else None))
    return out


def cond_syscalls(src):
    with open(os.path.join(src, "kernel/sys_ni.c")) as fh:
        return set(re.findall(r"^COND_SYSCALL\((\w+)\)", fh.read(), re.M))
