// A shared object without qd_plugin_entry: not a plugin.
extern "C" __attribute__((visibility("default"))) int not_a_plugin(void) {
  return 42;
}
