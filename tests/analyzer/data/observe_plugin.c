/* observe_plugin: the shared object that observe_dlopen loads at run time (observe_tests). */
int observe_plugin_value(void) { return 42; }
