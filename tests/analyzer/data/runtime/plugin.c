// A plugin: its constructor makes a syscall nothing else in these tests makes (acct, 163), so the
// syscall is in a footprint exactly when the plugin's code is.
__attribute__((constructor)) static void plugin_init(void) {
  long ret;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(163L), "D"(0L) : "rcx", "r11", "memory");
}
int plugin_entry(void) { return 42; }
