#!/usr/bin/env bash
# Corpus workload: GNU make (dynamic glibc). A small Makefile with variables, a pattern rule,
# $(shell ...), $(wildcard ...) and phony targets, built with -j2 (the job server's pipe) from scratch,
# then `make -q` (up to date: status 0), a touched source rebuilding one target, and `make clean`.
# make runs recipe lines with shell syntax through /bin/sh -c and simple ones (mkdir, rm) directly: all
# run under make's seccomp filter, so they are declared with allow_exec.
# The Makefile's recipes run sh, mkdir and rm: named to the analysis.
ANALYZE_ARGS=(--exec sh --exec mkdir --exec rm)
source "$(dirname "$0")/lib.sh"
corpus_init make /usr/bin/make "$@"
allow_exec sh mkdir rm

mkdir src
for n in one two three; do printf '%s\n' "source $n" >"src/$n.in"; done
touch -d '-10 min' src/*.in
cat >Makefile <<'MK'
SRCS := $(wildcard src/*.in)
OUTS := $(patsubst src/%.in,out/%.out,$(SRCS))
STAMP := $(shell printf '%s' built; printf '%s' -by-make)
.PHONY: all clean
all: out/all.txt
out:
	mkdir -p out
out/%.out: src/%.in | out
	{ read -r line; printf '%s [%s]\n' "$$line" "$(STAMP)"; } <$< >$@
out/all.txt: $(OUTS)
	for f in $(sort $^); do while read -r l; do echo "$$l"; done <$$f; done >$@
clean:
	rm -rf out
MK
trace build "$BIN" -j2 all >build.log
expect_eq "make output" "$(printf '%s\n' 'source one [built-by-make]' 'source three [built-by-make]' 'source two [built-by-make]')" "$(cat out/all.txt)"
trace uptodate "$BIN" -q all
touch src/two.in
trace rebuild "$BIN" all >rebuild.log
expect_eq "rebuild recipes" 2 "$(grep -c '^' rebuild.log)"
trace clean "$BIN" clean >/dev/null
[ ! -e out ] || die "make clean left out/"
say "ok"
