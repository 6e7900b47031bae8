// Apache Curator's recipes against a ZooKeeper-compatible server: the
// mutex, the leader latch, CuratorCache (persistent recursive watches),
// the shared counter, the barrier and double barrier, and transactions.
//
//   java -cp <curator, guava, zookeeper jars> CuratorSuite.java HOST:PORT[,HOST:PORT...] [ROOT]
//
// Run as a single-file source program (Java 11+). Prints "ok <recipe>" for
// each check that passes and exits 0; on the first failure prints the
// reason and exits 1. Every wait is bounded.

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.api.transaction.CuratorOp;
import org.apache.curator.framework.api.transaction.CuratorTransactionResult;
import org.apache.curator.framework.recipes.atomic.DistributedAtomicLong;
import org.apache.curator.framework.recipes.barriers.DistributedBarrier;
import org.apache.curator.framework.recipes.barriers.DistributedDoubleBarrier;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.shared.SharedCount;
import org.apache.curator.framework.recipes.shared.VersionedValue;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.curator.retry.RetryNTimes;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.data.Stat;

public class CuratorSuite {
    static String connect;
    static String root;
    static final List<CuratorFramework> clients = new ArrayList<>();

    static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    static CuratorFramework client() throws Exception {
        CuratorFramework c = CuratorFrameworkFactory.builder()
                .connectString(connect)
                .sessionTimeoutMs(10_000)
                .connectionTimeoutMs(5_000)
                .retryPolicy(new ExponentialBackoffRetry(100, 5))
                .build();
        c.start();
        check(c.blockUntilConnected(15, TimeUnit.SECONDS), "client connected to " + connect);
        clients.add(c);
        return c;
    }

    /** Two clients, two threads each, increment a plain znode under the mutex. */
    static void mutex() throws Exception {
        String lock = root + "/mutex/lock";
        String counter = root + "/mutex/counter";
        CuratorFramework a = client(), b = client();
        a.create().creatingParentsIfNeeded().forPath(counter, "0".getBytes());
        AtomicInteger holders = new AtomicInteger();
        AtomicInteger maxHolders = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<?>> done = new ArrayList<>();
        int rounds = 15;
        for (CuratorFramework c : List.of(a, a, b, b)) {
            done.add(pool.submit(() -> {
                InterProcessMutex m = new InterProcessMutex(c, lock);
                for (int i = 0; i < rounds; i++) {
                    check(m.acquire(20, TimeUnit.SECONDS), "mutex acquired");
                    try {
                        maxHolders.accumulateAndGet(holders.incrementAndGet(), Math::max);
                        int v = Integer.parseInt(new String(c.getData().forPath(counter)));
                        c.setData().forPath(counter, Integer.toString(v + 1).getBytes());
                        holders.decrementAndGet();
                    } finally {
                        m.release();
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : done) {
            f.get(120, TimeUnit.SECONDS);
        }
        pool.shutdown();
        check(maxHolders.get() == 1, "one holder at a time, saw " + maxHolders.get());
        int total = Integer.parseInt(new String(a.getData().forPath(counter)));
        check(total == 4 * rounds, "counter " + total + " == " + 4 * rounds);
        // Curator makes the lock's parent a container: once empty, the
        // server may delete it at any time (ZooKeeper's container reaper).
        Stat lockDir = a.checkExists().forPath(lock);
        if (lockDir != null) {
            check(lockDir.getNumChildren() == 0, "lock nodes cleaned up: " + lockDir.getNumChildren());
        }
    }

    /** The first of `latches` to hold leadership within 10 s, or null. */
    static LeaderLatch awaitLeader(List<LeaderLatch> latches) throws InterruptedException {
        for (int t = 0; t < 200; t++) {
            for (LeaderLatch l : latches) {
                if (l.hasLeadership()) {
                    return l;
                }
            }
            Thread.sleep(50);
        }
        return null;
    }

    /** Three latches: exactly one leader; when it closes, another takes over. */
    static void leaderLatch() throws Exception {
        String path = root + "/leader";
        List<LeaderLatch> latches = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            LeaderLatch l = new LeaderLatch(client(), path, "p" + i);
            l.start();
            latches.add(l);
        }
        LeaderLatch first = awaitLeader(latches);
        check(first != null, "a leader was elected");
        int leaders = 0;
        for (LeaderLatch l : latches) {
            leaders += l.hasLeadership() ? 1 : 0;
        }
        check(leaders == 1, "exactly one leader, saw " + leaders);
        String firstId = first.getId();
        check(latches.get(0).getLeader().getId().equals(firstId), "participants agree on the leader");
        first.close();
        latches.remove(first);
        LeaderLatch next = awaitLeader(latches);
        check(next != null && !next.getId().equals(firstId), "leadership passed on");
        for (LeaderLatch l : latches) {
            l.close();
        }
    }

    /** CuratorCache over a subtree: creates, changes and deletes arrive (addWatch persistent recursive). */
    static void cache() throws Exception {
        String base = root + "/cache";
        CuratorFramework c = client();
        c.create().creatingParentsIfNeeded().forPath(base, "base".getBytes());
        ConcurrentLinkedQueue<String> events = new ConcurrentLinkedQueue<>();
        CountDownLatch initialized = new CountDownLatch(1);
        CuratorCache cache = CuratorCache.build(c, base);
        cache.listenable().addListener(CuratorCacheListener.builder()
                .forCreates(n -> events.add("create " + n.getPath()))
                .forChanges((o, n) -> events.add("change " + n.getPath() + " " + new String(n.getData())))
                .forDeletes(o -> events.add("delete " + o.getPath()))
                .forInitialized(initialized::countDown)
                .build());
        cache.start();
        check(initialized.await(15, TimeUnit.SECONDS), "cache initialized");
        events.clear();
        CuratorFramework writer = client();
        // CuratorCache reads a node's data in the background after each
        // event: a state that lasts less than that read is legitimately
        // never seen (against ZooKeeper too). So each write waits until the
        // cache has the previous one.
        writer.create().forPath(base + "/a", "1".getBytes());
        awaitEvent(events, "create " + base + "/a");
        writer.create().forPath(base + "/a/deep", "x".getBytes());
        awaitEvent(events, "create " + base + "/a/deep");
        writer.setData().forPath(base + "/a", "2".getBytes());
        awaitEvent(events, "change " + base + "/a 2");
        writer.delete().forPath(base + "/a/deep");
        awaitEvent(events, "delete " + base + "/a/deep");
        writer.create().forPath(base + "/b", "3".getBytes());
        awaitEvent(events, "create " + base + "/b");
        List<String> want = List.of("create " + base + "/a", "create " + base + "/a/deep",
                "change " + base + "/a 2", "delete " + base + "/a/deep", "create " + base + "/b");
        List<String> got = new ArrayList<>(events);
        check(got.size() == want.size() && got.containsAll(want), "the cache saw " + want + ", got " + got);
        check(got.contains("create " + base + "/a"), "create /a in " + got);
        check(got.contains("create " + base + "/a/deep"), "create /a/deep in " + got);
        check(got.contains("change " + base + "/a 2"), "change /a in " + got);
        check(got.contains("delete " + base + "/a/deep"), "delete /a/deep in " + got);
        check(got.contains("create " + base + "/b"), "create /b in " + got);
        check(cache.get(base + "/a").map(d -> new String(d.getData())).orElse("").equals("2"),
                "cache holds /a = 2");
        check(cache.get(base + "/a/deep").isEmpty(), "cache dropped /a/deep");
        cache.close();
    }

    /** Waits (bounded) until the cache listener has recorded `event`. */
    static void awaitEvent(ConcurrentLinkedQueue<String> events, String event) throws InterruptedException {
        for (int t = 0; t < 300 && !events.contains(event); t++) {
            Thread.sleep(20);
        }
        check(events.contains(event), "the cache saw " + event + "; it saw " + events);
    }

    /** SharedCount from two clients, with versioned compare-and-set. */
    static void sharedCount() throws Exception {
        String path = root + "/count";
        SharedCount one = new SharedCount(client(), path, 0);
        SharedCount two = new SharedCount(client(), path, 0);
        one.start();
        two.start();
        int adds = 20;
        ExecutorService pool = Executors.newFixedThreadPool(2);
        List<Future<?>> done = new ArrayList<>();
        for (SharedCount s : List.of(one, two)) {
            done.add(pool.submit(() -> {
                for (int i = 0; i < adds; i++) {
                    while (true) {
                        VersionedValue<Integer> v = s.getVersionedValue();
                        if (s.trySetCount(v, v.getValue() + 1)) {
                            break;
                        }
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : done) {
            f.get(120, TimeUnit.SECONDS);
        }
        pool.shutdown();
        // The other instance learns the final value through its watch.
        for (int t = 0; t < 100 && (one.getCount() != 2 * adds || two.getCount() != 2 * adds); t++) {
            Thread.sleep(50);
        }
        check(one.getCount() == 2 * adds && two.getCount() == 2 * adds,
                "shared count " + one.getCount() + "/" + two.getCount() + " == " + 2 * adds);
        one.close();
        two.close();
        DistributedAtomicLong atomic = new DistributedAtomicLong(client(), root + "/atomic", new RetryNTimes(50, 10));
        for (int i = 0; i < 10; i++) {
            check(atomic.increment().succeeded(), "atomic increment");
        }
        check(atomic.get().postValue() == 10, "atomic long == 10");
    }

    /** A barrier holds waiters until removed; a double barrier lets 3 enter and leave together. */
    static void barriers() throws Exception {
        String path = root + "/barrier";
        DistributedBarrier barrier = new DistributedBarrier(client(), path);
        barrier.setBarrier();
        DistributedBarrier waiter = new DistributedBarrier(client(), path);
        CountDownLatch passed = new CountDownLatch(1);
        Thread t = new Thread(() -> {
            try {
                if (waiter.waitOnBarrier(30, TimeUnit.SECONDS)) {
                    passed.countDown();
                }
            } catch (Exception e) {
                e.printStackTrace();
            }
        });
        t.start();
        check(!passed.await(500, TimeUnit.MILLISECONDS), "the barrier holds");
        barrier.removeBarrier();
        check(passed.await(15, TimeUnit.SECONDS), "the barrier released its waiter");

        String dpath = root + "/double";
        int members = 3;
        ExecutorService pool = Executors.newFixedThreadPool(members);
        AtomicInteger entered = new AtomicInteger();
        List<Future<Boolean>> done = new ArrayList<>();
        for (int i = 0; i < members; i++) {
            CuratorFramework c = client();
            done.add(pool.submit(() -> {
                DistributedDoubleBarrier d = new DistributedDoubleBarrier(c, dpath, members);
                boolean in = d.enter(30, TimeUnit.SECONDS);
                // Everyone is in when anyone gets past enter().
                boolean all = entered.incrementAndGet() <= members;
                boolean out = d.leave(30, TimeUnit.SECONDS);
                return in && all && out;
            }));
        }
        for (Future<Boolean> f : done) {
            check(f.get(90, TimeUnit.SECONDS), "double barrier entered and left");
        }
        pool.shutdown();
    }

    /** Transactions: all of a multi applies, or none of it, with ZooKeeper's error. */
    static void transactions() throws Exception {
        CuratorFramework c = client();
        String base = root + "/txn";
        c.create().creatingParentsIfNeeded().forPath(base);
        CuratorOp create = c.transactionOp().create().forPath(base + "/a", "1".getBytes());
        CuratorOp seq = c.transactionOp().create().withMode(CreateMode.PERSISTENT_SEQUENTIAL).forPath(base + "/s-", "x".getBytes());
        CuratorOp set = c.transactionOp().setData().forPath(base + "/a", "2".getBytes());
        CuratorOp check = c.transactionOp().check().withVersion(1).forPath(base + "/a");
        List<CuratorTransactionResult> results = c.transaction().forOperations(create, seq, set, check);
        check(results.size() == 4, "four results");
        check(results.get(1).getResultPath().equals(base + "/s-0000000001"),
                "sequential name " + results.get(1).getResultPath());
        Stat stat = new Stat();
        byte[] data = c.getData().storingStatIn(stat).forPath(base + "/a");
        check(new String(data).equals("2") && stat.getVersion() == 1, "committed data and version");
        try {
            c.transaction().forOperations(
                    c.transactionOp().create().forPath(base + "/b"),
                    c.transactionOp().setData().withVersion(7).forPath(base + "/a", "3".getBytes()));
            check(false, "a failing transaction throws");
        } catch (KeeperException.BadVersionException e) {
            // ZooKeeper reports the failed op's error.
        }
        check(c.checkExists().forPath(base + "/b") == null, "nothing of the failed transaction applied");
        check(new String(c.getData().forPath(base + "/a")).equals("2"), "data unchanged");
        // Ephemeral and container nodes through the framework.
        String eph = c.create().withMode(CreateMode.EPHEMERAL_SEQUENTIAL).forPath(base + "/e-");
        check(c.checkExists().forPath(eph).getEphemeralOwner() == c.getZookeeperClient().getZooKeeper().getSessionId(),
                "ephemeral owned by the session");
        c.create().withMode(CreateMode.CONTAINER).forPath(base + "/box");
        check(c.checkExists().forPath(base + "/box").getEphemeralOwner() == 0, "a container shows owner 0");
    }

    /** Expects `op` to fail with NoAuth. */
    static void noAuth(String what, java.util.concurrent.Callable<?> op) throws Exception {
        try {
            op.call();
            check(false, what + ": expected NoAuth");
        } catch (KeeperException.NoAuthException e) {
            // ZooKeeper's answer.
        }
    }

    /**
     * ACLs through the framework: a node anyone may write but nobody may
     * read, create under or administer. checkExists() on it answers with
     * the Stat on ZooKeeper 3.5.0 to 3.8.3 and with NoAuth from 3.8.4 on
     * (ZOOKEEPER-2590): EXISTS_NEEDS_READ=1 says which to expect.
     */
    static void acl() throws Exception {
        boolean existsNeedsRead = "1".equals(System.getenv("EXISTS_NEEDS_READ"));
        CuratorFramework c = client();
        String base = root + "/acl";
        String p = base + "/write-only";
        c.create().creatingParentsIfNeeded().forPath(base);
        List<ACL> writeOnly = List.of(new ACL(ZooDefs.Perms.WRITE, ZooDefs.Ids.ANYONE_ID_UNSAFE));
        c.create().withACL(writeOnly).forPath(p, "secret".getBytes());
        try {
            Stat st = c.checkExists().forPath(p);
            check(!existsNeedsRead, "checkExists without READ answered " + st + " where NoAuth was expected");
            check(st != null && st.getDataLength() == 6 && st.getVersion() == 0, "checkExists gives the Stat: " + st);
        } catch (KeeperException.NoAuthException e) {
            check(existsNeedsRead, "checkExists without READ is NoAuth only where exists needs READ");
        }
        check(c.checkExists().forPath(base + "/missing") == null, "checkExists of a missing node is null");
        noAuth("getData without READ", () -> c.getData().forPath(p));
        noAuth("getChildren without READ", () -> c.getChildren().forPath(p));
        noAuth("getACL without READ or ADMIN", () -> c.getACL().forPath(p));
        noAuth("create under it without CREATE", () -> c.create().forPath(p + "/child"));
        noAuth("setACL without ADMIN", () -> c.setACL().withACL(ZooDefs.Ids.OPEN_ACL_UNSAFE).forPath(p));
        Stat st = c.setData().forPath(p, "overwritten".getBytes());
        check(st.getVersion() == 1 && st.getDataLength() == 11, "setData with WRITE: " + st);
        // Deleting needs DELETE on the parent, which is open.
        c.delete().forPath(p);
        check(c.checkExists().forPath(p) == null, "deleted");

        // A digest ACL: another user is refused, the owner is let in.
        List<ACL> alice = List.of(new ACL(ZooDefs.Perms.ALL, new Id("digest",
                org.apache.zookeeper.server.auth.DigestAuthenticationProvider.generateDigest("alice:secret"))));
        c.create().withACL(alice).forPath(base + "/alice", "a".getBytes());
        CuratorFramework bob = CuratorFrameworkFactory.builder()
                .connectString(connect)
                .retryPolicy(new RetryNTimes(3, 100))
                .authorization("digest", "bob:secret".getBytes())
                .build();
        bob.start();
        clients.add(bob);
        check(bob.blockUntilConnected(15, TimeUnit.SECONDS), "bob connected");
        noAuth("another user's getData", () -> bob.getData().forPath(base + "/alice"));
        noAuth("another user's setData", () -> bob.setData().forPath(base + "/alice", "b".getBytes()));
        CuratorFramework owner = CuratorFrameworkFactory.builder()
                .connectString(connect)
                .retryPolicy(new RetryNTimes(3, 100))
                .authorization("digest", "alice:secret".getBytes())
                .build();
        owner.start();
        clients.add(owner);
        check(owner.blockUntilConnected(15, TimeUnit.SECONDS), "alice connected");
        check(new String(owner.getData().forPath(base + "/alice")).equals("a"), "the owner reads it");
        List<ACL> shown = owner.getACL().forPath(base + "/alice");
        check(shown.equals(alice), "the owner sees the ACL unmasked: " + shown);
    }

    public static void main(String[] args) throws Exception {
        connect = args[0];
        root = args.length > 1 ? args[1] : "/curator-" + System.nanoTime();
        int status = 0;
        String[] names = {"mutex", "leader_latch", "cache", "shared_count", "barriers", "transactions", "acl"};
        String only = System.getenv("RECIPES");
        if (only != null && !only.isEmpty()) {
            names = only.split(",");
        }
        try {
            for (String name : names) {
                switch (name) {
                    case "mutex": mutex(); break;
                    case "leader_latch": leaderLatch(); break;
                    case "cache": cache(); break;
                    case "shared_count": sharedCount(); break;
                    case "barriers": barriers(); break;
                    case "transactions": transactions(); break;
                    case "acl": acl(); break;
                    default: throw new IllegalArgumentException("no recipe " + name);
                }
                System.out.println("ok " + name);
            }
        } catch (Throwable e) {
            System.out.println("FAILED: " + e);
            e.printStackTrace(System.out);
            status = 1;
        } finally {
            Collections.reverse(clients);
            for (CuratorFramework c : clients) {
                c.close();
            }
        }
        System.exit(status);
    }
}
