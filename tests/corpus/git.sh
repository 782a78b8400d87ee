#!/usr/bin/env bash
# Corpus workload: git (dynamic; libpcre2, zlib). `git init`, `git add`, two commits with fixed
# identities and dates (so the commit ids are known), a `pre-commit` hook (a #!/bin/sh script that
# runs `git diff --cached`), `git log`, `git status`, `git diff --stat`, `git tag`, `git cat-file`.
# git executes the hook and, after a commit, `/usr/lib/git-core/git maintenance run --auto` (a copy of
# /usr/bin/git); both run under git's seccomp filter, so they are declared with allow_exec.
source "$(dirname "$0")/lib.sh"
corpus_init git /usr/bin/git "$@"

export HOME="$WORK" GIT_CONFIG_NOSYSTEM=1 GIT_PAGER=cat LC_ALL=C TZ=UTC
export GIT_AUTHOR_NAME="Ada Corpus" GIT_AUTHOR_EMAIL=ada@example.org GIT_AUTHOR_DATE="2024-01-02T03:04:05Z"
export GIT_COMMITTER_NAME="Ada Corpus" GIT_COMMITTER_EMAIL=ada@example.org GIT_COMMITTER_DATE="2024-01-02T03:04:05Z"
trace init "$BIN" init -q -b main "$WORK/repo"
cd repo
cat >.git/hooks/pre-commit <<'SH'
#!/bin/sh
# records the staged files, as a linting hook would look at them
git diff --cached --name-only >>../hook.out || exit 1
SH
chmod +x .git/hooks/pre-commit
allow_exec .git/hooks/pre-commit /usr/lib/git-core/git

printf 'hello\n' >a.txt
mkdir src
seq 1 200 >src/numbers.txt
trace add "$BIN" add a.txt src
trace commit1 "$BIN" commit -q -m "first commit"
printf 'hello again\n' >>a.txt
printf 'b\n' >b.txt
trace add2 "$BIN" add -A
export GIT_AUTHOR_DATE="2024-01-03T03:04:05Z" GIT_COMMITTER_DATE="2024-01-03T03:04:05Z"
trace commit2 "$BIN" commit -q -m "second commit"
trace tag "$BIN" tag -a v1 -m "release one"
trace log "$BIN" log --format='%h %an %s' >../log.txt
trace status "$BIN" status --porcelain --untracked-files=all >../status.txt
trace diff "$BIN" diff --stat HEAD~1 HEAD >../diff.txt
trace cat-file "$BIN" cat-file -p HEAD:a.txt >../cat.txt
cd ..

expect_eq "hook output" "$(printf 'a.txt\nsrc/numbers.txt\na.txt\nb.txt')" "$(cat hook.out)"
expect_eq "git log" "$(printf 'f249ae2 Ada Corpus second commit\n3ec951b Ada Corpus first commit')" "$(cat log.txt)"
expect_eq "git status" "" "$(cat status.txt)"
expect_eq "git diff --stat" " 2 files changed, 2 insertions(+)" "$(tail -n 1 diff.txt)"
expect_eq "git cat-file" "$(printf 'hello\nhello again')" "$(cat cat.txt)"
say "ok"
