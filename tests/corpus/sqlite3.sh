#!/usr/bin/env bash
# Corpus workload: sqlite3 shell (dynamic, libsqlite3). A SQL script against a database file in the
# temporary directory: tables, a transaction of inserts, an index, a join with GROUP BY/ORDER BY; then
# a second session re-opens the file read-only and queries it (journal, locking, fsync paths).
source "$(dirname "$0")/lib.sh"
corpus_init sqlite3 /usr/bin/sqlite3 "$@"

cat >script.sql <<'SQL'
CREATE TABLE author(id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE book(id INTEGER PRIMARY KEY, author_id INTEGER REFERENCES author(id), title TEXT, year INTEGER);
BEGIN;
INSERT INTO author(name) VALUES ('Le Guin'), ('Lem'), ('Calvino');
INSERT INTO book(author_id, title, year) VALUES
  (1, 'The Dispossessed', 1974), (1, 'The Left Hand of Darkness', 1969),
  (2, 'Solaris', 1961), (2, 'The Cyberiad', 1965), (2, 'His Master''s Voice', 1968),
  (3, 'Invisible Cities', 1972);
COMMIT;
CREATE INDEX book_year ON book(year);
.mode list
.separator |
SELECT a.name, count(*), min(b.year) FROM author a JOIN book b ON b.author_id = a.id
  GROUP BY a.id ORDER BY count(*) DESC, a.name;
SELECT title FROM book WHERE year BETWEEN 1965 AND 1972 ORDER BY year, title;
SQL
trace write "$BIN" -bail "$WORK/books.db" <script.sql >out1.txt
expect_eq "join/group by/order by" "$(printf 'Lem|3|1961\nLe Guin|2|1969\nCalvino|1|1972\nThe Cyberiad\nHis Master'"'"'s Voice\nThe Left Hand of Darkness\nInvisible Cities')" "$(cat out1.txt)"
trace read "$BIN" -readonly -bail "$WORK/books.db" 'SELECT sum(year) FROM book;' 'PRAGMA integrity_check;' >out2.txt
expect_eq "re-open read-only" "$(printf '11809\nok')" "$(cat out2.txt)"
say "ok"
