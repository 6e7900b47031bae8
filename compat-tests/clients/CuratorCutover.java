// Curator clients across a cut-over from ZooKeeper to Corral
// (docs/migration.md): one client holds a lock (InterProcessMutex), a
// leader latch and a CuratorCache; another writes continuously, recording
// every write acknowledged to it.
//
//   java -cp <curator, guava, zookeeper jars> CuratorCutover.java CONNECT
//
// CONNECT names the ZooKeeper servers and Corral's address (nothing
// listens there until the cut-over). The program sets everything up on
// ZooKeeper, prints "ready" and writes until it reads "stop" on stdin
// (the test meanwhile stops ZooKeeper, cuts over and starts Corral). Then
// it checks, with every wait bounded:
// - the holder's session never reached LOST (SUSPENDED, then RECONNECTED);
// - it still holds the lock and never lost the leadership (the holder uses
//   Curator's SessionConnectionStateErrorPolicy: only a lost session
//   counts), and the lock's node is its own;
// - every acknowledged write is readable, and the cache saw each of them;
// and prints "ok cutover gap_ms=<longest pause between acknowledged
// writes> acked=<n> states=<holder's states>", or "FAILED <why>".

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.framework.state.SessionConnectionStateErrorPolicy;
import org.apache.curator.retry.RetryNTimes;
import org.apache.zookeeper.data.Stat;

public class CuratorCutover {
    static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    static CuratorFramework client(String connect) throws Exception {
        CuratorFramework c = CuratorFrameworkFactory.builder()
                .connectString(connect)
                // Only a lost session is an error: recipes keep what they
                // hold while SUSPENDED (with the standard policy a
                // LeaderLatch gives up leadership at SUSPENDED and takes it
                // again after RECONNECTED).
                .connectionStateErrorPolicy(new SessionConnectionStateErrorPolicy())
                .sessionTimeoutMs(30_000)
                .connectionTimeoutMs(5_000)
                .retryPolicy(new RetryNTimes(3, 100))
                .build();
        c.start();
        check(c.blockUntilConnected(30, TimeUnit.SECONDS), "connected to " + connect);
        return c;
    }

    public static void main(String[] args) throws Exception {
        String connect = args[0];
        try {
            run(connect);
        } catch (Throwable t) {
            System.out.println("FAILED " + t);
            System.out.flush();
            System.exit(1);
        }
        System.exit(0);
    }

    static void run(String connect) throws Exception {
        CuratorFramework holder = client(connect);
        List<String> states = new CopyOnWriteArrayList<>();
        holder.getConnectionStateListenable().addListener((c, s) -> states.add(s.toString()));
        holder.create().creatingParentsIfNeeded().forPath("/cutover/data", new byte[0]);
        InterProcessMutex lock = new InterProcessMutex(holder, "/cutover/lock");
        check(lock.acquire(30, TimeUnit.SECONDS), "the lock");
        LeaderLatch latch = new LeaderLatch(holder, "/cutover/latch", "holder");
        List<String> leadership = new CopyOnWriteArrayList<>();
        latch.addListener(new LeaderLatchListener() {
            public void isLeader() {
                leadership.add("isLeader");
            }

            public void notLeader() {
                leadership.add("notLeader");
            }
        });
        latch.start();
        check(latch.await(30, TimeUnit.SECONDS), "the leadership");
        Map<String, String> seen = new ConcurrentHashMap<>();
        CuratorCache cache = CuratorCache.build(holder, "/cutover/data");
        cache.listenable().addListener(CuratorCacheListener.builder()
                .forCreatesAndChanges((before, after) -> seen.put(after.getPath(), new String(after.getData())))
                .build());
        cache.start();

        CuratorFramework writer = client(connect);
        AtomicBoolean stop = new AtomicBoolean(false);
        List<Long> ackedAt = new ArrayList<>();
        List<Integer> acked = new ArrayList<>();
        Thread writing = new Thread(() -> {
            for (int i = 0; !stop.get(); i++) {
                String path = "/cutover/data/k" + i;
                try {
                    writer.create().forPath(path, ("v" + i).getBytes());
                    synchronized (acked) {
                        acked.add(i);
                        ackedAt.add(System.nanoTime());
                    }
                } catch (Exception e) {
                    // Not acknowledged: it may or may not have happened.
                }
                try {
                    Thread.sleep(10);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        writing.start();
        System.out.println("ready");
        System.out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        String line;
        while ((line = in.readLine()) != null && !line.equals("stop")) {
        }
        // Keep writing a little on the new server, then stop.
        Thread.sleep(1_000);
        stop.set(true);
        writing.join(30_000);

        check(!states.contains(ConnectionState.LOST.toString()), "the holder's session was lost: " + states);
        check(holder.getZookeeperClient().blockUntilConnectedOrTimedOut(), "the holder is connected");
        check(lock.isAcquiredInThisProcess(), "the lock is still held");
        List<String> lockNodes = holder.getChildren().forPath("/cutover/lock");
        check(lockNodes.size() == 1, "one lock node: " + lockNodes);
        Stat st = holder.checkExists().forPath("/cutover/lock/" + lockNodes.get(0));
        long sessionId = holder.getZookeeperClient().getZooKeeper().getSessionId();
        check(st != null && st.getEphemeralOwner() == sessionId, "the lock node is the holder's");
        check(latch.hasLeadership() && !leadership.contains("notLeader"),
                "the leadership held throughout: " + leadership);

        int last;
        synchronized (acked) {
            last = acked.get(acked.size() - 1);
        }
        holder.sync().forPath("/cutover/data");
        for (int i : acked) {
            byte[] d = holder.getData().forPath("/cutover/data/k" + i);
            check(new String(d).equals("v" + i), "acknowledged write " + i + " is there");
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline && !acked.stream().allMatch(i -> seen.containsKey("/cutover/data/k" + i))) {
            Thread.sleep(50);
        }
        for (int i : acked) {
            check(seen.containsKey("/cutover/data/k" + i), "the cache saw write " + i);
        }
        long gap = 0;
        for (int i = 1; i < ackedAt.size(); i++) {
            gap = Math.max(gap, ackedAt.get(i) - ackedAt.get(i - 1));
        }
        System.out.println("ok cutover gap_ms=" + TimeUnit.NANOSECONDS.toMillis(gap) + " acked=" + acked.size()
                + " last=" + last + " states=" + states);
        System.out.flush();
        cache.close();
        latch.close();
        lock.release();
        writer.close();
        holder.close();
    }
}
