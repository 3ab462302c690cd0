extension _RegistryCore {
    /// A synchronous shutdown of this registry alone.
    func shutdown() -> Int {
        ShutdownRun.run([self])
    }

    /// The public registry is gone: run what shutdown runs, and detach the
    /// watched finalizers that no sweep could ever run, dropping the table
    /// that owns them, so no cycle through this core remains. Host
    /// finalizers stay with their bags (the exit logs do not own them) and
    /// still run when their owners die; their shards keep this core alive
    /// until then.
    func end() {
        _ = shutdown()
        shards.forEachShard { shard in
            for entry in shard.removeAllWatched() {
                if entry.owner.isDeallocating {
                    _ = entry.withFinalizer { $0.fire(.sweep, requiringExitFlag: false) }
                } else {
                    entry.withFinalizer { $0.abandon() }
                }
                entry.release()
            }
            shard.orphanHostFinalizers()
        }
    }
}
