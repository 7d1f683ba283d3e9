// A plugin as a future, incompatible taskexec would build it: the entry
// exists but announces another ABI version. Written without taskexec's
// headers on purpose, the way an old host would see a new plugin.
struct FutureEntry {
    int abi_version;
    int library_version;
    void* (*registry)();
};
extern "C" __attribute__((visibility("default"))) const void* taskexec_plugin_entry() {
    static const FutureEntry entry{999, 990000, nullptr};
    return &entry;
}
