"""kconfig_logic (scripts/gen-kconfig-map): conditions as DNF over Kconfig literals, Kconfig
expressions, and the Kconfig model of an x86-64 build (which symbols exist, what selects and implies what).
Split out of gen-kconfig-map; see its docstring for what the table means."""

import os
import re

warnings = []


def warn(msg):
    warnings.append(msg)


# ---------------------------------------------------------------------------------------------------
# Conditions: a DNF is a frozenset of alternatives, each a frozenset of literals ("X", "!X"; an
# unknown preprocessor or make condition is the literal "?text").

TRUE = frozenset([frozenset()])
FALSE = frozenset()


def neg_lit(l):
    return l[1:] if l.startswith("!") else "!" + l


class Logic:
    """DNF operations with the options fixed by x86-64 evaluated away."""

    def __init__(self, fixed_true, fixed_false, symbols):
        self.fixed_true = fixed_true
        self.fixed_false = fixed_false
        self.symbols = symbols

    def lit(self, name):
        if name in self.fixed_true:
            return TRUE
        if name in self.fixed_false or not (name.startswith("?") or name in self.symbols):
            return FALSE
        return frozenset([frozenset([name])])

    def literal(self, l):
        return self.negate(self.lit(l[1:])) if l.startswith("!") else self.lit(l)

    @staticmethod
    def simplify(alts):
        alts = {a for a in alts if not any(neg_lit(l) in a for l in a)}
        changed = True
        while changed:
            changed = False
            # Resolution: (s & X) | (s & !X) = s. Sorted, so that the result never depends on hashing.
            for a in sorted(alts, key=sorted):
                for l in sorted(a):
                    b = (a - {l}) | {neg_lit(l)}
                    if b in alts:
                        alts.discard(a)
                        alts.discard(b)
                        alts.add(a - {l})
                        changed = True
                        break
                if changed:
                    break
        # Absorption: s | (s & X) = s.
        return frozenset(a for a in alts if not any(b < a for b in alts))

    def and_(self, x, y):
        return self.simplify({a | b for a in x for b in y})

    def or_(self, x, y):
        return self.simplify(set(x) | set(y))

    def negate(self, x):
        out = TRUE
        for a in x:
            out = self.and_(out, frozenset(frozenset([neg_lit(l)]) for l in a))
        return out


# ---------------------------------------------------------------------------------------------------
# The Kconfig model, from the Kconfig files an x86-64 build reads (the top Kconfig and what it
# sources, with SRCARCH=x86). It serves two purposes:
#   fixed options: X86, X86_64, 64BIT, MMU and what they select without `if` (transitively) are on;
#     X86_32 and UML are off; a symbol no such file defines is off (it is never set on x86-64);
#   resolve(): a symbol without a prompt cannot be set by hand; in the final conditions it is replaced
#     by what turns it on (its defaults and the symbols that select it) when that is a constant or one
#     settable option (ODD_RT_SIGACTION, selected by alpha and sparc only -> off; ARCH_HAS_PKEYS ->
#     X86_INTEL_MEMORY_PROTECTION_KEYS); otherwise it stays, as a .config shows it (MEMFD_CREATE);
#   reduce(): an option that another of the same alternative selects is dropped (BPF_SYSCALL selects
#     BPF); one it merely depends on stays (MODULE_UNLOAD and MODULES), since a config needs both.

class KconfigExpr:
    """A Kconfig expression as a raw DNF over symbol names (no fixed options applied), or None."""

    TOKEN = re.compile(r"\s*(\|\||&&|!=|[()!=]|\"[^\"]*\"|\w+)")

    def __init__(self, logic):
        self.logic = logic

    def parse(self, text):
        text = text.strip()
        self.toks = self.TOKEN.findall(text)
        if "".join(self.toks).replace(" ", "") != text.replace(" ", "").replace("\t", ""):
            return None
        self.i = 0
        try:
            r = self.e_or()
            return r if self.i == len(self.toks) else None
        except (ValueError, IndexError):
            return None

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else None

    def e_or(self):
        r = self.e_and()
        while self.peek() == "||":
            self.i += 1
            r = Logic.simplify(set(r) | set(self.e_and()))
        return r

    def e_and(self):
        r = self.e_not()
        while self.peek() == "&&":
            self.i += 1
            o = self.e_not()
            r = Logic.simplify({a | b for a in r for b in o})
        return r

    def e_not(self):
        if self.peek() == "!":
            self.i += 1
            return self.logic.negate(self.e_not())
        return self.e_atom()

    def e_atom(self):
        t = self.toks[self.i]
        self.i += 1
        if t == "(":
            r = self.e_or()
            if self.peek() != ")":
                raise ValueError
            self.i += 1
            return r
        if not re.fullmatch(r"\w+", t):
            raise ValueError
        if self.peek() in ("=", "!="):
            op = self.toks[self.i]
            v = self.toks[self.i + 1]
            self.i += 2
            if v in ("y", "n", "m"):
                on = v == "y" if op == "=" else v == "n"  # SYM=y, SYM!=n: on; SYM=n, SYM!=y: off
                base = frozenset([frozenset([t])])
                return base if on else self.logic.negate(base)
            raise ValueError
        if t == "y":
            return TRUE
        if t in ("n", "m"):
            return FALSE
        return frozenset([frozenset([t])])


class Kconfig:
    ROOTS = {"X86", "X86_64", "64BIT", "MMU"}
    OFF = {"X86_32", "UML"}

    def __init__(self, src):
        self.src = src
        self.defs = {}      # symbol -> [definition]: {"prompt", "choice", "defaults", "deps", "selects"}
        self.selectors = {} # symbol -> [(selector, if-condition text or None)]
        self.read("Kconfig", [])

    def read(self, path, blocks):
        """One Kconfig file, inside the enclosing if/menu conditions `blocks` (text; None for a menu
        without one); `source` is followed, as kconfig does, with ARCH=x86."""
        blocks = list(blocks)
        cur = cur_name = None
        help_indent = None
        in_help = False
        choice = 0
        try:
            with open(os.path.join(self.src, path), errors="replace") as fh:
                lines = [l.rstrip("\n") for l in fh]
        except OSError:
            warn("Kconfig: cannot read %s" % path)
            return
        for raw in lines:
            if in_help:
                if not raw.strip():
                    continue
                ind = len(raw.expandtabs()) - len(raw.expandtabs().lstrip())
                if help_indent is None:
                    help_indent = ind
                if ind >= help_indent and ind > 0:
                    continue
                in_help = False
            s = raw.split("#")[0].strip() if not raw.strip().startswith("help") else raw.strip()
            if not s:
                continue
            m = re.match(r"^(menu)?config\s+(\w+)$", s)
            if m:
                cur = {"prompt": False, "choice": choice > 0, "defaults": [], "selects": [],
                       "deps": [b for b in blocks if b]}
                cur_name = m.group(2)
                self.defs.setdefault(cur_name, []).append(cur)
                continue
            if re.match(r"^(help|---help---)$", s):
                in_help, help_indent = True, None
                continue
            if re.match(r"^if\s", s):
                blocks.append(s[3:].strip())
                cur = None
                continue
            if re.match(r"^(menu\s|choice\b)", s):
                blocks.append(None)
                choice += s.startswith("choice")
                cur, cur_name = {"prompt": False, "choice": True, "defaults": [], "selects": [], "deps": [], "block": True}, None
                continue
            if re.match(r"^(endif|endmenu|endchoice)\b", s):
                if blocks:
                    blocks.pop()
                if s.startswith("endchoice"):
                    choice = max(0, choice - 1)
                cur = None
                continue
            m = re.match(r"^(source|rsource|osource)\s+\"([^\"]+)\"", s)
            if m:
                inc = m.group(2).replace("$(SRCARCH)", "x86").replace("$(HEADER_ARCH)", "x86")
                if m.group(1) == "rsource":
                    inc = os.path.normpath(os.path.join(os.path.dirname(path), inc))
                self.read(inc, blocks)
                cur = None
                continue
            if re.match(r"^(comment|mainmenu)\b", s):
                cur = None
                continue
            if cur is None:
                continue
            if cur.get("block"):
                m = re.match(r"^depends\s+on\s+(.*)$", s)
                if m and blocks:
                    blocks[-1] = m.group(1) if blocks[-1] is None else "(%s) && (%s)" % (blocks[-1], m.group(1))
                continue
            m = re.match(r"^(bool|tristate|string|int|hex)\b\s*(\"[^\"]*\"|'[^']*')?", s)
            if m:
                if m.group(2):
                    cur["prompt"] = True
                if m.group(1) in ("string", "int", "hex"):
                    cur["choice"] = True  # not a boolean: never substituted
                continue
            if s.startswith("prompt"):
                cur["prompt"] = True
                continue
            m = re.match(r"^(def_bool|def_tristate|default)\s+(.*?)(?:\s+if\s+(.*))?$", s)
            if m:
                cur["defaults"].append((m.group(2), m.group(3)))
                continue
            m = re.match(r"^depends\s+on\s+(.*)$", s)
            if m:
                cur["deps"].append(m.group(1))
                continue
            m = re.match(r"^select\s+(\w+)(?:\s+if\s+(.*))?$", s)
            if m:
                cur["selects"].append((m.group(1), m.group(2)))
                self.selectors.setdefault(m.group(1), []).append((cur_name, m.group(2)))

    def fixed(self):
        on = set(self.ROOTS)
        todo = list(on)
        while todo:
            for d in self.defs.get(todo.pop(), []):
                for t, cond in d["selects"]:
                    if cond is None and t not in on:
                        on.add(t)
                        todo.append(t)
        return on, set(self.OFF) - on

    def attach(self, logic):
        self.logic = logic
        self.expr = KconfigExpr(logic)
        self.memo = {}
        self.implied_memo = {}

    def apply_fixed(self, dnf):
        out = FALSE
        for a in dnf:
            t = TRUE
            for l in a:
                t = self.logic.and_(t, self.logic.literal(l))
            out = self.logic.or_(out, t)
        return out

    def parse(self, text):
        if text is None:
            return TRUE
        d = self.expr.parse(text)
        return None if d is None else self.apply_fixed(d)

    def symbol(self, name, stack=()):
        """What turns a promptless symbol on, as a DNF over settable symbols; None: keep the symbol."""
        if name in self.memo:
            return self.memo[name]
        defs = self.defs.get(name)
        if not defs or any(d["prompt"] or d["choice"] for d in defs) or name in stack or len(stack) > 6:
            return None
        logic = self.logic
        f = FALSE
        for d in defs:
            deps = TRUE
            for dep in d["deps"]:
                p = self.parse(dep)
                if p is None:
                    return None
                deps = logic.and_(deps, p)
            seen = FALSE
            val = FALSE
            for v, c in d["defaults"]:
                pv, pc = self.parse(v), self.parse(c)
                if pv is None or pc is None:
                    return None
                val = logic.or_(val, logic.and_(logic.and_(logic.negate(seen), pc), pv))
                seen = logic.or_(seen, pc)
            f = logic.or_(f, logic.and_(deps, val))
        for sel, cond in self.selectors.get(name, []):
            if sel is None:
                return None
            pc = self.parse(cond)
            if pc is None:
                return None
            f = logic.or_(f, logic.and_(logic.lit(sel), pc))
        f = self.resolve(f, stack + (name,))
        # Only a constant or one settable option replaces the symbol: the table keeps the names a
        # .config shows (MEMFD_CREATE = TMPFS || HUGETLBFS stays MEMFD_CREATE).
        single = len(f) == 1 and len(next(iter(f))) == 1 and not next(iter(next(iter(f)))).startswith("!")
        if f not in (TRUE, FALSE) and not single:
            return None
        self.memo[name] = f
        return f

    def resolve(self, dnf, stack=()):
        """dnf with promptless symbols replaced (see above)."""
        logic = self.logic
        out = FALSE
        for a in dnf:
            t = TRUE
            for l in sorted(a):
                neg = l.startswith("!")
                name = l[1:] if neg else l
                f = None if name.startswith("?") else self.symbol(name, stack)
                if f is None:
                    f = logic.lit(name)
                t = logic.and_(t, logic.negate(f) if neg else f)
            out = logic.or_(out, t)
        return out

    def implied(self, name, stack=()):
        """Symbols that `name` selects without `if` (transitively): on whenever it is. Dependencies
        are not used: `depends on` does not turn an option on, so a config needs both listed."""
        if name in self.implied_memo:
            return self.implied_memo[name]
        defs = self.defs.get(name) or []
        common = None
        for d in defs:
            here = {t for t, c in d["selects"] if c is None}
            common = here if common is None else common & here
        out = set(common or ())
        if name not in stack:
            for x in list(out):
                out |= self.implied(x, stack + (name,))
        self.implied_memo[name] = out
        return out

    def reduce(self, dnf):
        alts = set()
        for a in dnf:
            pos = {l for l in a if not l.startswith("!")}
            imp = set()
            for x in pos:
                imp |= self.implied(x)
            if any(l.startswith("!") and l[1:] in imp for l in a):
                continue  # X needs Y, yet Y is off: impossible
            alts.add(frozenset(l for l in a if l.startswith("!") or l not in imp or l in self.implied(l)))
        return Logic.simplify(alts)
