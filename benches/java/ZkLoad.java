// A second load generator for benches/compare.sh: ZooKeeper's own Java
// client (3.8, the Debian jars) on its asynchronous API, as an application
// drives ZooKeeper hardest. zk-load's layout and report, so both rulers
// measure the same thing:
//
//   java -cp CLASSES:ZOOKEEPER_JARS ZkLoad --servers 127.0.0.1:2181 \
//     --workload set --sessions 64 --inflight 4 --seconds 5 --warmup 2
//
// Workloads: set | get | mixed (90 % get), each session on its own node
// /zk-load/s<i> with --size-byte values. Each session keeps --inflight
// requests outstanding: a reply's callback (on the session's event thread)
// sends the next. After --warmup seconds of load (not counted: both JVMs
// compile their hot paths) the requests sent in the next --seconds count;
// latency is from a request's sending to its callback. Prints a table line
// and one JSON line with zk-load's fields. Loopback servers only; bounded
// to 300 s.
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;

public class ZkLoad {
    /** One session's chains of requests and what they measured. */
    static final class Session {
        final ZooKeeper zk;
        final String path;
        long[] latencies = new long[1 << 16];
        int recorded;
        long errors;
        long sequence;

        Session(ZooKeeper zk, String path) {
            this.zk = zk;
            this.path = path;
        }

        synchronized void record(long nanos, int rc) {
            if (recorded == latencies.length) {
                latencies = Arrays.copyOf(latencies, recorded * 2);
            }
            latencies[recorded++] = nanos;
            if (rc != 0) {
                errors++;
            }
        }

        synchronized long next() {
            return sequence++;
        }
    }

    static String workload;
    static byte[] data;
    static long measureAt;
    static long endAt;
    static CountDownLatch chains;

    public static void main(String[] argv) throws Exception {
        Map<String, String> o = new HashMap<>();
        for (int i = 0; i + 1 < argv.length; i += 2) {
            o.put(argv[i].replaceFirst("^--", ""), argv[i + 1]);
        }
        String[] servers = o.getOrDefault("servers", "127.0.0.1:2181").split(",");
        workload = o.getOrDefault("workload", "set");
        int sessions = Integer.parseInt(o.getOrDefault("sessions", "64"));
        int inflight = Integer.parseInt(o.getOrDefault("inflight", "4"));
        long seconds = Math.min(300, Long.parseLong(o.getOrDefault("seconds", "10")));
        long warmup = Math.min(60, Long.parseLong(o.getOrDefault("warmup", "2")));
        int size = Integer.parseInt(o.getOrDefault("size", "100"));
        String label = o.getOrDefault("label", "");
        if (!List.of("set", "get", "mixed").contains(workload)) {
            throw new IllegalArgumentException("workload " + workload + ": set, get or mixed");
        }
        for (String s : servers) {
            if (!s.startsWith("127.")) {
                throw new IllegalArgumentException("loopback servers only: " + s);
            }
        }
        data = new byte[size];
        Arrays.fill(data, (byte) 'x');

        List<Session> all = new ArrayList<>();
        for (int i = 0; i < sessions; i++) {
            CountDownLatch connected = new CountDownLatch(1);
            ZooKeeper zk = new ZooKeeper(servers[i % servers.length], 30_000, e -> {
                if (e.getState() == Watcher.Event.KeeperState.SyncConnected) {
                    connected.countDown();
                }
            });
            if (!connected.await(30, TimeUnit.SECONDS)) {
                throw new IllegalStateException("session " + i + " never connected");
            }
            String path = "/zk-load/s" + i;
            for (String p : new String[] {"/zk-load", path}) {
                try {
                    zk.create(p, data, ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
                } catch (KeeperException.NodeExistsException e) {
                    // Made by an earlier run or session.
                }
            }
            all.add(new Session(zk, path));
        }

        long startAt = System.nanoTime();
        measureAt = startAt + TimeUnit.SECONDS.toNanos(warmup);
        endAt = measureAt + TimeUnit.SECONDS.toNanos(seconds);
        chains = new CountDownLatch(sessions * inflight);
        for (Session s : all) {
            for (int k = 0; k < inflight; k++) {
                send(s);
            }
        }
        Thread.sleep(TimeUnit.NANOSECONDS.toMillis(Math.max(0, measureAt - System.nanoTime())));
        double cpu0 = cpuSeconds();
        if (!chains.await(seconds + 60, TimeUnit.SECONDS)) {
            throw new IllegalStateException("requests still outstanding 60 s after the end");
        }
        double wall = Math.max(1e-3, (System.nanoTime() - measureAt) / 1e9);
        double cpu = cpuSeconds() - cpu0;

        int n = 0;
        long errors = 0;
        for (Session s : all) {
            n += s.recorded;
            errors += s.errors;
        }
        long[] lat = new long[n];
        int at = 0;
        for (Session s : all) {
            System.arraycopy(s.latencies, 0, lat, at, s.recorded);
            at += s.recorded;
        }
        Arrays.sort(lat);
        for (Session s : all) {
            s.zk.close();
        }
        double ops = Math.round(n / wall);
        Locale.setDefault(Locale.ROOT);
        System.out.printf(
            "%-10s %-6s %dx%d: %9.0f ops/s  p50 %.2f ms  p99 %.2f ms  p999 %.2f ms  max %.2f ms  errors %d  loadgen cpu %.0f%% (java client)%n",
            label, workload, sessions, inflight, ops, ms(lat, 0.5), ms(lat, 0.99), ms(lat, 0.999),
            ms(lat, 1.0), errors, 100 * cpu / wall);
        System.out.printf(
            "{\"label\":\"%s\",\"workload\":\"%s\",\"sessions\":%d,\"inflight\":%d,\"ops_per_s\":%.1f,"
                + "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,\"errors\":%d,"
                + "\"failed_sessions\":0,\"loadgen_cpu\":%.4f,\"offered_rate\":null}%n",
            label, workload, sessions, inflight, ops, ms(lat, 0.5), ms(lat, 0.99), ms(lat, 0.999),
            ms(lat, 1.0), errors, cpu / wall);
    }

    /** The next request of a chain, or the chain's end once the run is over. */
    static void send(Session s) {
        long t0 = System.nanoTime();
        if (t0 >= endAt) {
            chains.countDown();
            return;
        }
        long n = s.next();
        boolean get = workload.equals("get") || (workload.equals("mixed") && n % 10 != 0);
        if (get) {
            s.zk.getData(s.path, false, (rc, path, ctx, bytes, stat) -> done(s, t0, rc), null);
        } else {
            s.zk.setData(s.path, data, -1, (rc, path, ctx, stat) -> done(s, t0, rc), null);
        }
    }

    static void done(Session s, long t0, int rc) {
        if (t0 >= measureAt) {
            s.record(System.nanoTime() - t0, rc);
        }
        send(s);
    }

    static double ms(long[] sorted, double q) {
        if (sorted.length == 0) {
            return 0;
        }
        int i = (int) Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
        return sorted[Math.max(0, i)] / 1e6;
    }

    /** User + system CPU seconds of this process so far. */
    static double cpuSeconds() throws Exception {
        String stat = new String(Files.readAllBytes(Paths.get("/proc/self/stat")));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0;
    }
}
