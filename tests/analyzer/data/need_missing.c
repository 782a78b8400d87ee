// Linked against libbespokemissing.so, which lives only in the build tree (no rpath): with the default
// search path and no ld.so.cache entry, the loader cannot find it.
int bespoke_missing_fn(void);

int main(void) { return bespoke_missing_fn(); }
