// The throwaway shared library need_missing is linked against.
int bespoke_missing_fn(void) { return 0; }
