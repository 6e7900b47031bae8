// Curator's reconfig and getConfig API against an ensemble with
// reconfigEnabled and the super user super:test:
//
//   java -cp <curator, zookeeper jars> CuratorReconfig.java HOST:PORT[,...] OBSERVER_LINE
//
// OBSERVER_LINE is a joining observer, "server.N=host:p:p:observer;host:p".
// Prints "ok <step>" per step, or "FAILED <step>: <why>" and stops; then
// "done".
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryNTimes;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.data.Stat;

public class CuratorReconfig {
    static long version(byte[] config) {
        String[] lines = new String(config, StandardCharsets.UTF_8).split("\n");
        return Long.parseLong(lines[lines.length - 1].split("=")[1], 16);
    }

    static List<String> members(byte[] config) {
        List<String> out = new ArrayList<>();
        for (String l : new String(config, StandardCharsets.UTF_8).split("\n")) {
            if (l.startsWith("server.")) {
                out.add(l);
            }
        }
        return out;
    }

    static void check(boolean ok, String step, String why) {
        if (!ok) {
            System.out.println("FAILED " + step + ": " + why);
            System.exit(1);
        }
        System.out.println("ok " + step);
    }

    public static void main(String[] args) throws Exception {
        String connect = args[0];
        String observer = args[1];
        String observerId = observer.substring("server.".length(), observer.indexOf('='));
        CuratorFramework client = CuratorFrameworkFactory.builder()
            .connectString(connect)
            .sessionTimeoutMs(15000)
            .connectionTimeoutMs(15000)
            .retryPolicy(new RetryNTimes(3, 500))
            .authorization("digest", "super:test".getBytes(StandardCharsets.UTF_8))
            .build();
        client.start();
        client.blockUntilConnected(30, TimeUnit.SECONDS);

        // getConfig with a watch, then an observer joins.
        CountDownLatch changed = new CountDownLatch(1);
        List<WatchedEvent> events = new ArrayList<>();
        Watcher watcher = e -> {
            events.add(e);
            changed.countDown();
        };
        Stat before = new Stat();
        byte[] config = client.getConfig().storingStatIn(before).usingWatcher(watcher).forEnsemble();
        check(members(config).size() == 3 && version(config) == before.getMzxid(),
            "getConfig", new String(config, StandardCharsets.UTF_8));
        byte[] joined = client.reconfig().joining(observer).fromConfig(version(config)).forEnsemble();
        check(new String(joined, StandardCharsets.UTF_8).contains(observer)
                && version(joined) > version(config),
            "reconfig joining", new String(joined, StandardCharsets.UTF_8));
        check(changed.await(10, TimeUnit.SECONDS)
                && events.get(0).getType() == Watcher.Event.EventType.NodeDataChanged
                && "/zookeeper/config".equals(events.get(0).getPath()),
            "config watch", events.toString());

        // A stale fromConfig.
        try {
            client.reconfig().leaving(observerId).fromConfig(version(config)).forEnsemble();
            check(false, "stale fromConfig", "no BadVersionException");
        } catch (KeeperException.BadVersionException e) {
            check(true, "stale fromConfig", "");
        }

        byte[] left = client.reconfig().leaving(observerId).fromConfig(version(joined)).forEnsemble();
        check(!new String(left, StandardCharsets.UTF_8).contains(observer)
                && members(left).size() == 3,
            "reconfig leaving", new String(left, StandardCharsets.UTF_8));

        // The whole membership at once (non-incremental): the same
        // members, a new version.
        List<String> now = members(left);
        byte[] same = client.reconfig().withNewMembers(now).forEnsemble();
        check(members(same).equals(now) && version(same) > version(left),
            "reconfig withNewMembers", new String(same, StandardCharsets.UTF_8));

        // Without the super user: NoAuth.
        CuratorFramework plain = CuratorFrameworkFactory.newClient(connect, new RetryNTimes(3, 500));
        plain.start();
        plain.blockUntilConnected(30, TimeUnit.SECONDS);
        try {
            plain.reconfig().joining(observer).forEnsemble();
            check(false, "reconfig without super", "no NoAuthException");
        } catch (KeeperException.NoAuthException e) {
            check(true, "reconfig without super", "");
        }
        // The client is told the new server list and stays connected.
        plain.getZookeeperClient().getZooKeeper().updateServerList(connect);
        check(plain.checkExists().forPath("/zookeeper") != null, "updateServerList", "");
        plain.close();
        client.close();
        System.out.println("done");
    }
}
