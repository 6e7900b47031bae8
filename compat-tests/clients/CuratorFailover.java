// A Curator client's session moving to another server while it holds a
// lock, an ephemeral node, a CuratorCache (a persistent recursive watch)
// and a one-shot data watch.
//
//   java -cp <curator, guava, zookeeper jars> CuratorFailover.java HOST:PORT[,HOST:PORT...] [ROOT]
//
// The program sets the state up, prints "pause <port>" (the client port of
// the server its session is on) and waits for a line on stdin. Meanwhile
// the test restarts that server, then writes "go". The program then checks
// that the session survived on another server (or on the restarted one)
// with everything it held, and that its watches were re-registered: a
// write by another client fires the one-shot watch and reaches the cache.
// Prints "ok failover" and exits 0, or the reason and exits 1. Every wait
// is bounded.

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.api.CuratorWatcher;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.data.Stat;

public class CuratorFailover {
    static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    static CuratorFramework client(String connect) throws Exception {
        CuratorFramework c = CuratorFrameworkFactory.builder()
                .connectString(connect)
                .sessionTimeoutMs(15_000)
                .connectionTimeoutMs(5_000)
                .retryPolicy(new ExponentialBackoffRetry(100, 8))
                .build();
        c.start();
        check(c.blockUntilConnected(15, TimeUnit.SECONDS), "client connected to " + connect);
        return c;
    }

    /**
     * The children of `path` as `c` sees them after a sync: ZooKeeper
     * promises one client another's writes only after a sync (its server
     * may not have applied them yet), so a read across sessions syncs first.
     */
    static List<String> childrenAfterSync(CuratorFramework c, String path) throws Exception {
        CountDownLatch synced = new CountDownLatch(1);
        c.sync().inBackground((client, event) -> synced.countDown()).forPath(path);
        check(synced.await(15, TimeUnit.SECONDS), "sync of " + path);
        return c.getChildren().forPath(path);
    }

    /** The client port of the server the client's session is on. */
    static int serverPort(CuratorFramework c) throws Exception {
        // ZooKeeper.toString() ends with the connection's
        // "... remoteserver:<host>/<ip>:<port> lastZxid:...".
        String s = c.getZookeeperClient().getZooKeeper().toString();
        Matcher m = Pattern.compile("remoteserver:\\S*:(\\d+)").matcher(s);
        check(m.find(), "the server's address in " + s);
        return Integer.parseInt(m.group(1));
    }

    public static void main(String[] args) throws Exception {
        String connect = args[0];
        String base = (args.length > 1 ? args[1] : "/failover-" + System.nanoTime());
        CuratorFramework c = null;
        CuratorFramework other = null;
        int status = 0;
        try {
            c = client(connect);
            other = client(connect);
            ConcurrentLinkedQueue<ConnectionState> states = new ConcurrentLinkedQueue<>();
            c.getConnectionStateListenable().addListener((cl, st) -> states.add(st));
            c.create().creatingParentsIfNeeded().forPath(base, "0".getBytes());

            InterProcessMutex mutex = new InterProcessMutex(c, base + "/lock");
            check(mutex.acquire(15, TimeUnit.SECONDS), "mutex acquired");
            String eph = c.create().withMode(CreateMode.EPHEMERAL).forPath(base + "/eph");
            ConcurrentLinkedQueue<String> events = new ConcurrentLinkedQueue<>();
            CountDownLatch initialized = new CountDownLatch(1);
            CuratorCache cache = CuratorCache.build(c, base);
            cache.listenable().addListener(CuratorCacheListener.builder()
                    .forCreates(n -> events.add("create " + n.getPath()))
                    .forChanges((o, n) -> events.add("change " + n.getPath() + " " + new String(n.getData())))
                    .forInitialized(initialized::countDown)
                    .build());
            cache.start();
            check(initialized.await(15, TimeUnit.SECONDS), "cache initialized");
            CountDownLatch fired = new CountDownLatch(1);
            CuratorWatcher watcher = e -> {
                if (e.getType() == Watcher.Event.EventType.NodeDataChanged) {
                    fired.countDown();
                }
            };
            c.getData().usingWatcher(watcher).forPath(base);
            long session = c.getZookeeperClient().getZooKeeper().getSessionId();
            int before = serverPort(c);

            System.out.println("pause " + before);
            System.out.flush();
            String go = new BufferedReader(new InputStreamReader(System.in)).readLine();
            check("go".equals(go), "\"go\" on stdin, got " + go);

            // The restart closed the connection: Curator saw SUSPENDED and
            // then RECONNECTED, never LOST (the session outlived it).
            for (int t = 0; t < 300 && !states.contains(ConnectionState.RECONNECTED); t++) {
                Thread.sleep(50);
            }
            check(states.contains(ConnectionState.SUSPENDED), "the connection was lost: " + states);
            check(states.contains(ConnectionState.RECONNECTED), "reconnected: " + states);
            check(!states.contains(ConnectionState.LOST), "the session was not lost: " + states);
            check(c.getZookeeperClient().getZooKeeper().getSessionId() == session, "the same session");
            System.out.println("session 0x" + Long.toHexString(session) + " moved from " + before
                    + " to " + serverPort(c) + "; states " + states);

            // What the session held is still there.
            Stat st = c.checkExists().forPath(eph);
            check(st != null && st.getEphemeralOwner() == session, "the ephemeral is still the session's");
            check(mutex.isAcquiredInThisProcess(), "the mutex is still held");
            List<String> locks = childrenAfterSync(other, base + "/lock");
            check(locks.size() == 1, "one lock node, saw " + locks);

            // Its watches were set again on the new connection: another
            // client's writes reach the one-shot watch and the cache.
            events.clear();
            other.setData().forPath(base, "1".getBytes());
            other.create().forPath(base + "/after", "a".getBytes());
            check(fired.await(15, TimeUnit.SECONDS), "the one-shot data watch fired after the move");
            List<String> want = List.of("change " + base + " 1", "create " + base + "/after");
            for (int t = 0; t < 300 && !events.containsAll(want); t++) {
                Thread.sleep(50);
            }
            check(events.containsAll(want), "the cache saw " + want + ", got " + events);

            // And the moved session writes.
            c.create().forPath(base + "/mine", "m".getBytes());
            mutex.release();
            // Its parent is a container: once empty it may be reaped too
            // before the read (Corral's test servers check every 200 ms).
            List<String> left;
            try {
                left = childrenAfterSync(other, base + "/lock");
            } catch (org.apache.zookeeper.KeeperException.NoNodeException reaped) {
                left = List.of();
            }
            check(left.isEmpty(), "the lock node went with release, saw " + left);
            cache.close();
            System.out.println("ok failover");
        } catch (Throwable e) {
            System.out.println("FAILED: " + e);
            e.printStackTrace(System.out);
            status = 1;
        } finally {
            if (other != null) {
                other.close();
            }
            if (c != null) {
                c.close();
            }
        }
        System.exit(status);
    }
}
