// Curator with SASL DIGEST-MD5 from a JAAS `Client` section, as Java
// applications authenticate to ZooKeeper:
//
//   java -Djava.security.auth.login.config=client.jaas -cp <curator, zookeeper jars> \
//       CuratorSasl.java HOST:PORT good|bad
//
// good: waits for SaslAuthenticated, prints whoAmI, makes a node only the
// SASL user may touch, reads it and its ACL back: "ok sasl <whoAmI>".
// The node's ACL names the user SASL_USER (default jaasuser).
// bad (a wrong password in the JAAS file): waits for AuthFailed:
// "ok authfailed". Anything else prints "FAILED: <why>".
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.api.CuratorEventType;
import org.apache.curator.retry.RetryOneTime;
import org.apache.zookeeper.Watcher.Event.KeeperState;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.ClientInfo;
import org.apache.zookeeper.data.Id;

public class CuratorSasl {
    public static void main(String[] args) throws Exception {
        String connect = args[0];
        boolean good = args[1].equals("good");
        CountDownLatch authenticated = new CountDownLatch(1);
        CountDownLatch failed = new CountDownLatch(1);
        CuratorFramework client = CuratorFrameworkFactory.builder()
            .connectString(connect)
            .sessionTimeoutMs(10000)
            .connectionTimeoutMs(10000)
            .retryPolicy(new RetryOneTime(500))
            .build();
        // The client's connection-level events reach Curator's listeners
        // as WATCHED events.
        client.getCuratorListenable().addListener((c, event) -> {
            if (event.getType() == CuratorEventType.WATCHED && event.getWatchedEvent() != null) {
                KeeperState s = event.getWatchedEvent().getState();
                if (s == KeeperState.SaslAuthenticated) {
                    authenticated.countDown();
                } else if (s == KeeperState.AuthFailed) {
                    failed.countDown();
                }
            }
        });
        client.start();
        try {
            if (!good) {
                System.out.println(failed.await(20, TimeUnit.SECONDS)
                    ? "ok authfailed" : "FAILED: no AuthFailed event");
                return;
            }
            if (!authenticated.await(20, TimeUnit.SECONDS)) {
                System.out.println("FAILED: no SaslAuthenticated event");
                return;
            }
            List<String> who = new ArrayList<>();
            for (ClientInfo i : client.getZookeeperClient().getZooKeeper().whoAmI()) {
                who.add(i.getAuthScheme() + ":" + i.getUser());
            }
            Collections.sort(who);
            String path = "/curator-sasl";
            String user = System.getenv().getOrDefault("SASL_USER", "jaasuser");
            List<ACL> acl = Collections.singletonList(
                new ACL(ZooDefs.Perms.ALL, new Id("sasl", user)));
            client.create().withACL(acl).forPath(path, "secret".getBytes());
            String data = new String(client.getData().forPath(path));
            List<ACL> back = client.getACL().forPath(path);
            client.delete().forPath(path);
            if (!data.equals("secret") || !back.equals(acl)) {
                System.out.println("FAILED: read " + data + " " + back);
                return;
            }
            System.out.println("ok sasl " + String.join(",", who));
        } finally {
            client.close();
        }
    }
}
