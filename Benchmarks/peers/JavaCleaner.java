import java.io.File;
import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.ref.Cleaner;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Peer benchmark: java.lang.ref.Cleaner.
 *
 * <p>Prints one JSON object on stdout (see README.md in this directory).
 * Compile into a scratch directory: {@code javac -Xlint:all -d $TMP JavaCleaner.java}
 * and run with e.g. {@code java -Xmx4g -cp $TMP JavaCleaner --n 1000000 --runs 3}
 * (add {@code -XX:+UseSerialGC} for the serial collector; {@code --batch-only} runs only the batch forms).
 */
public final class JavaCleaner {
    /** Small owner object (12-byte header + 4-byte field with compressed oops = 16 bytes). */
    static final class Owner {
        int payload;
    }

    static final AtomicLong COUNT = new AtomicLong();

    /** Static, non-capturing cleanup action: one shared instance, no per-registration allocation. */
    static final Runnable BUMP = COUNT::incrementAndGet;

    /** Checksum of the indices the batch forms' cleanups captured. */
    static final AtomicLong SUM = new AtomicLong();

    /** Cleanup body of the batch forms: uses the value its lambda captured. */
    static void record(int index) {
        SUM.addAndGet(index);
        COUNT.incrementAndGet();
    }

    static final Cleaner CLEANER = Cleaner.create();

    static final long COLLECT_TIMEOUT_NS = 120_000_000_000L;
    static final int WARMUP_N = 100_000;
    static final int MEMORY_ROUNDS = 3;

    /** Keeps results observable so the JIT cannot discard work. */
    static volatile Object sink;

    // ---------------------------------------------------------------- helpers

    static void awaitCount(long expected, String what) {
        long deadline = System.nanoTime() + COLLECT_TIMEOUT_NS;
        long lastSeen = -1;
        int idlePolls = 0;
        System.gc();
        while (true) {
            long seen = COUNT.get();
            if (seen >= expected) {
                if (seen != expected) {
                    throw new IllegalStateException(what + ": expected " + expected + " cleanups, saw " + seen);
                }
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(what + ": timed out with " + seen + "/" + expected + " cleanups");
            }
            if (seen == lastSeen) {
                idlePolls++;
            } else {
                idlePolls = 0;
                lastSeen = seen;
            }
            // The Cleaner thread is still draining while the count moves; only
            // request another collection once it has stalled for a few polls.
            if (idlePolls >= 5) {
                System.gc();
                idlePolls = 0;
            }
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    static void settle() {
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
    }

    /**
     * settle() until the used heap stops changing (at most 20 rounds, 10 ms apart). Right after the
     * Cleaner has run a batch of actions, some of its PhantomCleanableRefs can survive a few full
     * collections more (the Cleaner and reference-handler threads still hold them), so a single
     * settle() can read megabytes of a previous round's registrations.
     */
    static long settleStable() {
        long last = -1;
        for (int i = 0; i < 20; i++) {
            settle();
            long used = usedHeap();
            if (used == last) {
                return used;
            }
            last = used;
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        return last;
    }

    static Owner[] makeOwners(int n) {
        Owner[] owners = new Owner[n];
        for (int i = 0; i < n; i++) {
            owners[i] = new Owner();
        }
        return owners;
    }

    static long usedHeap() {
        Runtime rt = Runtime.getRuntime();
        return rt.totalMemory() - rt.freeMemory();
    }

    // -------------------------------------------------------------- workloads

    /** Fresh owner, register, drop; then collect until all N cleanups ran. */
    static long registerCollect(int n) {
        COUNT.set(0);
        settle();
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            CLEANER.register(new Owner(), BUMP);
        }
        awaitCount(n, "register_collect");
        return System.nanoTime() - t0;
    }

    /** N clean() calls on pending cleanables registered outside the timing. */
    static long runNow(int n) {
        Owner[] owners = makeOwners(n);
        Cleaner.Cleanable[] cs = new Cleaner.Cleanable[n];
        for (int i = 0; i < n; i++) {
            cs[i] = CLEANER.register(owners[i], BUMP);
        }
        COUNT.set(0);
        settle();
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            cs[i].clean();
        }
        long elapsed = System.nanoTime() - t0;
        if (COUNT.get() != n) {
            throw new IllegalStateException("run_now: expected " + n + " cleanups, saw " + COUNT.get());
        }
        sink = owners;
        sink = null;
        return elapsed;
    }

    /** N registrations on live owners; the Cleanables are stored in a preallocated array. */
    static long registerOnly(int n) {
        Owner[] owners = makeOwners(n);
        Cleaner.Cleanable[] cs = new Cleaner.Cleanable[n];
        COUNT.set(0);
        settle();
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            cs[i] = CLEANER.register(owners[i], BUMP);
        }
        long elapsed = System.nanoTime() - t0;
        // Teardown outside the timing: run them so nothing is left pending.
        for (int i = 0; i < n; i++) {
            cs[i].clean();
        }
        if (COUNT.get() != n) {
            throw new IllegalStateException("register_only: expected " + n + " cleanups, saw " + COUNT.get());
        }
        sink = owners;
        sink = null;
        return elapsed;
    }


    // ------------------------------------------------------------ batch forms
    //
    // Every batch cleanup is a lambda capturing the owner's index (one small
    // object per registration), which calls record(index).

    static void resetBatch() {
        COUNT.set(0);
        SUM.set(0);
    }

    /** Sum of base .. base+n-1. */
    static long indexSum(long base, long n) {
        return n * base + n * (n - 1) / 2;
    }

    static void checkBatch(long expectedCount, long expectedSum, String what) {
        if (COUNT.get() != expectedCount || SUM.get() != expectedSum) {
            throw new IllegalStateException(what + ": expected " + expectedCount + " cleanups / checksum "
                    + expectedSum + ", saw " + COUNT.get() + " / " + SUM.get());
        }
    }

    /**
     * Creates n owners in an array (kept alive), registers a capturing cleanup on each (indices
     * base .. base+n-1), and returns: the array, and with it every owner, is unreachable afterwards.
     */
    static void createRegisterDrop(int n, int base) {
        Owner[] owners = new Owner[n];
        for (int i = 0; i < n; i++) {
            owners[i] = new Owner();
        }
        for (int i = 0; i < n; i++) {
            final int index = base + i;
            CLEANER.register(owners[i], () -> record(index));
        }
        sink = owners;
        sink = null;
    }

    /** N owners made and registered, then all dropped; collect until all N cleanups ran. */
    static long batchRegisterDrop(int n) {
        resetBatch();
        settle();
        long t0 = System.nanoTime();
        createRegisterDrop(n, 0);
        awaitCount(n, "batch_register_drop");
        long elapsed = System.nanoTime() - t0;
        checkBatch(n, indexSum(0, n), "batch_register_drop");
        return elapsed;
    }

    /** N pending registrations on live owners (made outside the timing), cleaned newest first. */
    static long batchRunNow(int n) {
        Owner[] owners = makeOwners(n);
        Cleaner.Cleanable[] cs = new Cleaner.Cleanable[n];
        for (int i = 0; i < n; i++) {
            final int index = i;
            cs[i] = CLEANER.register(owners[i], () -> record(index));
        }
        resetBatch();
        settle();
        long t0 = System.nanoTime();
        for (int i = n - 1; i >= 0; i--) {
            cs[i].clean();
        }
        long elapsed = System.nanoTime() - t0;
        checkBatch(n, indexSum(0, n), "batch_run_now");
        sink = owners;
        sink = null;
        return elapsed;
    }

    /**
     * batch_register_drop split over {@code threads} threads (thread t does its share with its own
     * owners), timed from the moment all threads are released until the Cleaner has run all N
     * actions. Threads are created and started outside the timing.
     */
    static long batchThreads(int n, int threads) {
        resetBatch();
        settle();
        CountDownLatch ready = new CountDownLatch(threads);
        CountDownLatch go = new CountDownLatch(1);
        Thread[] workers = new Thread[threads];
        int base = 0;
        for (int t = 0; t < threads; t++) {
            final int share = n / threads + (t < n % threads ? 1 : 0);
            final int from = base;
            base += share;
            workers[t] = new Thread(() -> {
                ready.countDown();
                try {
                    go.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                createRegisterDrop(share, from);
            }, "batch-worker-" + t);
            workers[t].start();
        }
        try {
            ready.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        long t0 = System.nanoTime();
        go.countDown();
        for (Thread w : workers) {
            try {
                w.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        awaitCount(n, "batch_threads" + threads);
        long elapsed = System.nanoTime() - t0;
        checkBatch(n, indexSum(0, n), "batch_threads" + threads);
        return elapsed;
    }

    static long processCpuNanos() {
        java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean) {
            return ((com.sun.management.OperatingSystemMXBean) os).getProcessCpuTime();
        }
        return -1;
    }

    /**
     * CPU time of every thread of this process, in ns, from /proc/self/task/{tid}/schedstat (Linux;
     * nanosecond resolution, where getProcessCpuTime counts 10 ms clock ticks). -1 if unavailable. A
     * thread that exits between two readings takes its time with it.
     */
    static long schedstatCpuNanos() {
        File[] tasks = new File("/proc/self/task").listFiles();
        if (tasks == null) {
            return -1;
        }
        long total = 0;
        int read = 0;
        for (File task : tasks) {
            try {
                String line = Files.readString(new File(task, "schedstat").toPath()).trim();
                total += Long.parseLong(line.substring(0, line.indexOf(' ')));
                read++;
            } catch (IOException | RuntimeException e) {
                // The thread has exited, or no schedstat: skip it.
            }
        }
        return read > 0 ? total : -1;
    }

    /**
     * Percent of one core the whole JVM (all threads: GC, JIT, Cleaner) uses while the main thread
     * sleeps, with N live owners each holding a pending capturing registration. One sample per round:
     * [0] from schedstat (NaN if unavailable), [1] from getProcessCpuTime.
     */
    static double[][] idleCpu(int n, double seconds, int rounds) {
        Owner[] owners = makeOwners(n);
        for (int i = 0; i < n; i++) {
            final int index = i;
            CLEANER.register(owners[i], () -> record(index));
        }
        resetBatch();
        settle();
        // Window 0 is an extra first window, reported apart (settling_window): it shows the
        // aftermath of the setup (JIT, concurrent GC work), not the idle state.
        double[][] samples = new double[2][rounds + 1];
        long sleepMs = Math.max(1L, Math.round(seconds * 1000));
        for (int r = 0; r <= rounds; r++) {
            long s0 = schedstatCpuNanos();
            long c0 = processCpuNanos();
            long w0 = System.nanoTime();
            try {
                Thread.sleep(sleepMs);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            long w1 = System.nanoTime();
            long c1 = processCpuNanos();
            long s1 = schedstatCpuNanos();
            samples[0][r] = (s0 < 0 || s1 < 0) ? Double.NaN : 100.0 * (s1 - s0) / (w1 - w0);
            samples[1][r] = (c0 < 0 || c1 < 0) ? Double.NaN : 100.0 * (c1 - c0) / (w1 - w0);
        }
        if (COUNT.get() != 0) {
            throw new IllegalStateException("idle_cpu: " + COUNT.get() + " cleanups ran during the idle windows");
        }
        // Teardown: drop the owners and let the Cleaner drain.
        sink = owners;
        sink = null;
        owners = null;
        awaitCount(n, "idle_cpu teardown");
        return samples;
    }

    /**
     * Heap bytes per pending registration, beyond the live owners. Median of a few rounds.
     * capturing: the batch forms' registration, whose lambda captures the index (one more object).
     */
    static double memoryPerRegistration(int n, boolean capturing) {
        double[] samples = new double[MEMORY_ROUNDS];
        for (int round = 0; round < MEMORY_ROUNDS; round++) {
            Owner[] owners = makeOwners(n);
            long before = settleStable();
            if (capturing) {
                for (int i = 0; i < n; i++) {
                    final int index = i;
                    CLEANER.register(owners[i], () -> record(index));
                }
            } else {
                for (int i = 0; i < n; i++) {
                    // Cleanables are not stored: the Cleaner's own list keeps them reachable.
                    CLEANER.register(owners[i], BUMP);
                }
            }
            long after = settleStable();
            samples[round] = (double) (after - before) / n;
            // Teardown: drop the owners and let the Cleaner drain.
            COUNT.set(0);
            sink = owners;
            sink = null;
            owners = null;
            awaitCount(n, "memory teardown");
        }
        return median(samples);
    }

    // ------------------------------------------------------------------- main

    interface Workload {
        long run(int n);
    }

    static double median(double[] xs) {
        double[] s = xs.clone();
        Arrays.sort(s);
        int m = s.length / 2;
        return (s.length % 2 == 1) ? s[m] : (s[m - 1] + s[m]) / 2.0;
    }

    /** A JSON number (null for NaN); five decimals below 1 so that small percentages keep their digits. */
    static String num(double d) {
        if (Double.isNaN(d) || Double.isInfinite(d)) {
            return "null";
        }
        return String.format(Locale.ROOT, Math.abs(d) < 1 ? "%.5f" : "%.3f", d);
    }

    static String jsonString(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"': b.append("\\\""); break;
                case '\\': b.append("\\\\"); break;
                case '\n': b.append("\\n"); break;
                default:
                    if (c < 0x20) {
                        b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
            }
        }
        return b.append('"').toString();
    }

    static String runsJson(double[] perOp, String extra) {
        StringBuilder b = new StringBuilder("{\"median_ns_per_op\": ").append(num(median(perOp)))
                .append(", \"runs_ns_per_op\": ").append(numList(perOp));
        return b.append(extra).append('}').toString();
    }

    static String numList(double[] xs) {
        StringBuilder b = new StringBuilder("[");
        for (int r = 0; r < xs.length; r++) {
            b.append(r > 0 ? ", " : "").append(num(xs[r]));
        }
        return b.append(']').toString();
    }

    static void usage() {
        System.err.println("usage: JavaCleaner [--n N] [--runs R] [--idle-seconds S] [--batch-only]");
        System.exit(2);
    }

    public static void main(String[] args) {
        int n = 1_000_000;
        int runs = 3;
        double idleSeconds = 5.0;
        boolean batchOnly = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--n": if (i + 1 >= args.length) usage(); n = Integer.parseInt(args[++i]); break;
                case "--runs": if (i + 1 >= args.length) usage(); runs = Integer.parseInt(args[++i]); break;
                case "--idle-seconds":
                    if (i + 1 >= args.length) usage();
                    idleSeconds = Double.parseDouble(args[++i]);
                    break;
                case "--batch-only": batchOnly = true; break;
                default: usage();
            }
        }
        if (n <= 0 || runs <= 0 || !(idleSeconds > 0)) {
            System.err.println("--n, --runs and --idle-seconds must be positive");
            System.exit(2);
        }

        List<String> names = new ArrayList<>();
        List<Workload> fns = new ArrayList<>();
        if (!batchOnly) {
            names.addAll(List.of("register_collect", "run_now", "register_only"));
            fns.addAll(List.of(JavaCleaner::registerCollect, JavaCleaner::runNow, JavaCleaner::registerOnly));
        }
        names.addAll(List.of("batch_register_drop", "batch_run_now"));
        fns.addAll(List.of(JavaCleaner::batchRegisterDrop, JavaCleaner::batchRunNow));

        // JIT warm-up, not reported.
        int warm = Math.min(n, WARMUP_N);
        for (int rep = 0; rep < 2; rep++) {
            for (Workload w : fns) {
                w.run(warm);
            }
            batchThreads(warm, 1);
            batchThreads(warm, 2);
        }

        List<String> entries = new ArrayList<>();
        for (int w = 0; w < names.size(); w++) {
            double[] perOp = new double[runs];
            for (int r = 0; r < runs; r++) {
                perOp[r] = (double) fns.get(w).run(n) / n;
            }
            entries.add(jsonString(names.get(w)) + ": " + runsJson(perOp, ""));
        }
        entries.add("\"batch_register_detach\": null");

        // One thread on N against two threads on N/2 each, in the same run; the order alternates.
        double[] one = new double[runs];
        double[] two = new double[runs];
        double[] throughput = new double[runs];
        for (int r = 0; r < runs; r++) {
            long t1;
            long t2;
            if (r % 2 == 0) {
                t1 = batchThreads(n, 1);
                t2 = batchThreads(n, 2);
            } else {
                t2 = batchThreads(n, 2);
                t1 = batchThreads(n, 1);
            }
            one[r] = (double) t1 / n;
            two[r] = (double) t2 / n;
            throughput[r] = (double) t1 / t2;
        }
        entries.add("\"batch_threads1\": " + runsJson(one, ""));
        entries.add("\"batch_threads2\": " + runsJson(two, ", \"throughput_ratio\": " + num(median(throughput))
                + ", \"runs_throughput_ratio\": " + numList(throughput)));

        double[][] idle = idleCpu(n, idleSeconds, runs);
        boolean schedstat = !Double.isNaN(idle[0][0]);
        double[] primaryAll = schedstat ? idle[0] : idle[1];
        double[] primary = Arrays.copyOfRange(primaryAll, 1, primaryAll.length);
        double[] mxbean = Arrays.copyOfRange(idle[1], 1, idle[1].length);
        entries.add("\"idle_cpu\": {\"percent_of_core\": " + num(median(primary)) + ", \"runs_percent_of_core\": "
                + numList(primary) + ", \"settling_window_percent_of_core\": " + num(primaryAll[0])
                + ", \"source\": " + jsonString(schedstat ? "schedstat" : "getProcessCpuTime")
                + ", \"percent_of_core_getProcessCpuTime\": " + num(median(mxbean))
                + ", \"runs_percent_of_core_getProcessCpuTime\": " + numList(mxbean)
                + ", \"idle_seconds\": " + num(idleSeconds) + ", \"live_owners\": " + n + "}");

        String mem = batchOnly ? "null" : num(memoryPerRegistration(n, false));
        String memBatch = num(memoryPerRegistration(n, true));

        List<String> gcs = new ArrayList<>();
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            gcs.add(gc.getName());
        }
        String notes = "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name")
                + "), GC beans " + gcs + ", max heap " + (Runtime.getRuntime().maxMemory() >> 20) + " MiB, "
                + Runtime.getRuntime().availableProcessors() + " CPUs. One shared Cleaner (one daemon thread); "
                + "cleanup = static non-capturing Runnable incrementing an AtomicLong; owner = object with one int "
                + "field. JIT warmed up with 2 untimed rounds at n=" + warm + ". register_collect: timing covers "
                + "the registration loop plus System.gc() and 1 ms polling (System.gc() again whenever the count "
                + "stalls for 5 polls) until the Cleaner thread has run all N actions; 'collect' = a full GC that "
                + "discovers the phantom-reachable owners, then the single Cleaner thread runs the actions. "
                + "register_detach omitted: a Cleaner.Cleanable cannot be cancelled without running its action "
                + "(clean() runs it). register_only stores each Cleanable into a preallocated array. memory: "
                + "Runtime totalMemory-freeMemory after 3x System.gc() (repeated until the reading stops changing), "
                + "with N owners alive vs the same owners plus "
                + "N pending registrations (Cleanables not stored by the benchmark), median of "
                + MEMORY_ROUNDS + " rounds at n=" + n + ". "
                + "Batch forms: the cleanup is a lambda capturing the owner's index (a new object per "
                + "registration) that adds it to a checksum (AtomicLong) and bumps the counter; the checksum is "
                + "verified. batch_register_drop: timing covers allocating N owners into an array, registering "
                + "each (Cleanables not stored), dropping the array (the method returns), then the same "
                + "System.gc() + 1 ms polling as register_collect until the Cleaner thread has run all N actions. "
                + "batch_register_detach: null, no equivalent (a Cleanable cannot be cancelled without running "
                + "its action). batch_run_now: N Cleanables registered outside the timing; timed = clean() on "
                + "each, newest first. batch_threads1/batch_threads2: the batch_register_drop work on 1 thread "
                + "(N owners) and on 2 threads (N/2 owners each, own arrays), threads started outside the timing "
                + "and released together; timed until the one shared Cleaner thread has run all N actions (the "
                + "collection and the cleanup thread are shared, so only allocation and registration can run in "
                + "parallel); ns/op = wall time / N; throughput_ratio = 1-thread time / 2-thread time, per run "
                + "(the two are measured back to back, order alternating). idle_cpu: "
                + "CPU time of all JVM threads (GC, JIT, Cleaner, service threads) over Thread.sleep windows of "
                + num(idleSeconds) + " s, one per run after an extra first window reported apart "
                + "(settling_window), after System.gc(), with N live owners each holding a pending "
                + "capturing registration; percent_of_core sums /proc/self/task/*/schedstat (ns resolution; a "
                + "thread that exits within the window is not counted), percent_of_core_getProcessCpuTime is "
                + "com.sun.management.OperatingSystemMXBean.getProcessCpuTime, which counts 10 ms clock ticks "
                + "(0.2% of a core per tick over 5 s). memory_batch: as memory, with the "
                + "capturing lambda (one more object per registration), at n=" + n + ".";

        System.out.println("{\"runtime\": \"java\", \"n\": " + n + ", \"gc\": " + jsonString(String.join(",", gcs))
                + ", \"results\": {" + String.join(", ", entries) + "}"
                + ", \"memory_bytes_per_registration\": " + mem
                + ", \"memory_batch_bytes_per_registration\": " + memBatch
                + ", \"notes\": " + jsonString(notes) + "}");
    }
}
