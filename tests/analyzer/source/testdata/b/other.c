/* Same base name as ../other.c, and the same static function name: still a separate function. */
static int helper(int x) { return x - 1; } /* M:b_helper */

int other_b(int x) { return helper(x); } /* M:b_call_helper */
