import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.ref.Cleaner;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Peer benchmark: java.lang.ref.Cleaner.
 *
 * <p>Prints one JSON object on stdout (see README.md in this directory).
 * Compile into a scratch directory: {@code javac -Xlint:all -d $TMP JavaCleaner.java}
 * and run with e.g. {@code java -Xmx4g -cp $TMP JavaCleaner --n 1000000 --runs 3}.
 */
public final class JavaCleaner {
    /** Small owner object (12-byte header + 4-byte field with compressed oops = 16 bytes). */
    static final class Owner {
        int payload;
    }

    static final AtomicLong COUNT = new AtomicLong();

    /** Static, non-capturing cleanup action: one shared instance, no per-registration allocation. */
    static final Runnable BUMP = COUNT::incrementAndGet;

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

    /** Heap bytes per pending registration, beyond the live owners. Median of a few rounds. */
    static double memoryPerRegistration(int n) {
        double[] samples = new double[MEMORY_ROUNDS];
        for (int round = 0; round < MEMORY_ROUNDS; round++) {
            Owner[] owners = makeOwners(n);
            settle();
            long before = usedHeap();
            for (int i = 0; i < n; i++) {
                // Cleanables are not stored: the Cleaner's own list keeps them reachable.
                CLEANER.register(owners[i], BUMP);
            }
            settle();
            long after = usedHeap();
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

    static String num(double d) {
        return String.format(Locale.ROOT, "%.3f", d);
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

    public static void main(String[] args) {
        int n = 1_000_000;
        int runs = 3;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--n": n = Integer.parseInt(args[++i]); break;
                case "--runs": runs = Integer.parseInt(args[++i]); break;
                default:
                    System.err.println("usage: JavaCleaner [--n N] [--runs R]");
                    System.exit(2);
            }
        }
        if (n <= 0 || runs <= 0) {
            System.err.println("--n and --runs must be positive");
            System.exit(2);
        }

        String[] names = {"register_collect", "run_now", "register_only"};
        Workload[] fns = {JavaCleaner::registerCollect, JavaCleaner::runNow, JavaCleaner::registerOnly};

        // JIT warm-up, not reported.
        int warm = Math.min(n, WARMUP_N);
        for (int rep = 0; rep < 2; rep++) {
            for (Workload w : fns) {
                w.run(warm);
            }
        }

        StringBuilder results = new StringBuilder("{");
        for (int w = 0; w < names.length; w++) {
            double[] perOp = new double[runs];
            for (int r = 0; r < runs; r++) {
                perOp[r] = (double) fns[w].run(n) / n;
            }
            if (w > 0) {
                results.append(", ");
            }
            results.append(jsonString(names[w])).append(": {\"median_ns_per_op\": ").append(num(median(perOp)))
                    .append(", \"runs_ns_per_op\": [");
            for (int r = 0; r < runs; r++) {
                results.append(r > 0 ? ", " : "").append(num(perOp[r]));
            }
            results.append("]}");
        }
        results.append("}");

        double mem = memoryPerRegistration(n);

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
                + "Runtime totalMemory-freeMemory after 3x System.gc(), with N owners alive vs the same owners plus "
                + "N pending registrations (Cleanables not stored by the benchmark), median of "
                + MEMORY_ROUNDS + " rounds at n=" + n + ".";

        System.out.println("{\"runtime\": \"java\", \"n\": " + n + ", \"results\": " + results
                + ", \"memory_bytes_per_registration\": " + num(mem) + ", \"notes\": " + jsonString(notes) + "}");
    }
}
