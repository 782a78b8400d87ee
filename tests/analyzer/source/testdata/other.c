/* A second translation unit: a static function with the same name as one in calls.c. */
static int helper(int x) { return x * 2; } /* M:other_helper */

int shared_fn(int x) { /* M:def_shared */
  return helper(x); /* M:other_call_helper */
}
