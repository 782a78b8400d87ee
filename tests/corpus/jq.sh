#!/usr/bin/env bash
# Corpus workload: jq (dynamic, libjq/libonig). Filters a JSON document read from a file, with
# select/map/sort_by/group_by, a regex (oniguruma), and --arg.
source "$(dirname "$0")/lib.sh"
corpus_init jq /usr/bin/jq "$@"

cat >doc.json <<'JSON'
{"items": [
  {"name": "bolt", "qty": 120, "price": 0.05, "tags": ["metal", "small"]},
  {"name": "nut", "qty": 300, "price": 0.03, "tags": ["metal", "small"]},
  {"name": "plank", "qty": 12, "price": 4.5, "tags": ["wood"]},
  {"name": "glue", "qty": 0, "price": 3.25, "tags": ["liquid"]},
  {"name": "beam", "qty": 4, "price": 19.99, "tags": ["wood", "large"]}
]}
JSON
trace filter "$BIN" -c --arg tag wood \
  '[.items[] | select(.qty > 0) | select(.tags | index($tag)) | {name, value: (.qty * .price)}] | sort_by(.value) | map(.name)' \
  doc.json >out1.txt
expect_eq "select/sort_by" '["plank","beam"]' "$(cat out1.txt)"
trace regex "$BIN" -r '(.items | group_by(.tags[0]) | map("\(.[0].tags[0]):\(length)") | join(" ")), (.items[] | select(.name | test("^b")) | .name)' doc.json >out2.txt
expect_eq "group_by/test" "$(printf 'liquid:1 metal:2 wood:2\nbolt\nbeam')" "$(cat out2.txt)"
say "ok"
