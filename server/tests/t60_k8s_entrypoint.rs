//! `corral --k8s` outside Kubernetes: separate `corral` processes with
//! the environment a StatefulSet gives its pods (`POD_NAME`, `POD_IP`,
//! `POD_NAMESPACE`, the headless Service), each pod on its own loopback
//! address, and the pods' DNS names resolved through a hosts file that
//! stands for the Service's records (bind-mounted over `/etc/hosts` in a
//! private mount namespace of each process, so nothing outside changes).
//!
//! Three pods form an ensemble; two more join it by `reconfig` (scale-up)
//! and get the data; the two leave the Service (scale-down: SIGTERM, their
//! records gone) and the leader removes them by `reconfig`; a remaining pod
//! restarts with the membership it kept; a removed pod comes back on its
//! old volume and is added again. Needs root (`unshare -m`, `mount`).

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use bytes::Bytes;
use jute::proto::*;
use jute::{Acl, Request, Response};

const DOMAIN: &str = "corral-hs.test.svc.cluster.local";

struct Pods {
    root: tempfile::TempDir,
    hosts: PathBuf,
    ports: (u16, u16, u16),
    children: Vec<Option<Child>>,
    /// Processes started so far (each logs to its own file).
    runs: usize,
}

impl Drop for Pods {
    fn drop(&mut self) {
        for c in self.children.iter_mut().filter_map(Option::take) {
            stop(c, "KILL");
        }
    }
}

fn stop(mut c: Child, signal: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{signal}"), &c.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = c.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = c.kill();
    let _ = c.wait();
}

fn ip(ordinal: usize) -> Ipv4Addr {
    Ipv4Addr::new(
        127,
        0,
        0,
        40 + u8::try_from(ordinal).expect("a small ordinal"),
    )
}

impl Pods {
    fn new() -> Self {
        let root = tempfile::tempdir().expect("a directory");
        let hosts = root.path().join("hosts");
        let p = || common::free_port();
        let mut pods = Pods {
            hosts,
            root,
            ports: (p(), p(), p()),
            children: Vec::new(),
            runs: 0,
        };
        pods.service(&[0, 1, 2, 3, 4]);
        pods
    }

    /// The Service's records: the pods that exist. Written in place (the
    /// processes see it through their bind mount).
    fn service(&mut self, ordinals: &[usize]) {
        let mut text = String::from("127.0.0.1 localhost\n");
        for o in ordinals {
            text.push_str(&format!("{} corral-{o}.{DOMAIN}\n", ip(*o)));
        }
        std::fs::write(&self.hosts, text).expect("write the hosts file");
    }

    fn dir(&self, o: usize) -> PathBuf {
        self.root.path().join(format!("pod{o}"))
    }

    fn client(&self, o: usize) -> SocketAddr {
        SocketAddr::from((ip(o), self.ports.0))
    }

    /// Starts pod `o` as its StatefulSet would, with `replicas` in its
    /// environment.
    fn start(&mut self, o: usize, replicas: usize) {
        let dir = self.dir(o);
        std::fs::create_dir_all(&dir).expect("pod directory");
        let base = dir.join("base.cfg");
        std::fs::write(
            &base,
            format!(
                "tickTime=1000\ninitLimit=10\nsyncLimit=5\ndataDir={}\n\
                 4lw.commands.whitelist=*\nadmin.enableServer=false\nmetricsProvider.httpPort=0\n\
                 corral.k8s.removeAfterMs=3000\n",
                dir.join("data").display()
            ),
        )
        .expect("base zoo.cfg");
        let runs = self.runs;
        self.runs += 1;
        let log = std::fs::File::create(dir.join(format!("corral-{runs}.log"))).expect("log file");
        let child = Command::new("unshare")
            .args(["-m", "sh", "-c"])
            .arg("mount --bind \"$1\" /etc/hosts && exec \"$2\" --k8s --config \"$3\" --log info")
            .arg("sh")
            .arg(&self.hosts)
            .arg(env!("CARGO_BIN_EXE_corral"))
            .arg(&base)
            .env("POD_NAME", format!("corral-{o}"))
            .env("POD_IP", ip(o).to_string())
            .env("POD_NAMESPACE", "test")
            .env("CORRAL_SERVICE", "corral-hs")
            .env("CORRAL_REPLICAS", replicas.to_string())
            .env("CORRAL_CLIENT_PORT", self.ports.0.to_string())
            .env("CORRAL_QUORUM_PORT", self.ports.1.to_string())
            .env("CORRAL_ELECTION_PORT", self.ports.2.to_string())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("spawn unshare + corral (needs root)");
        while self.children.len() <= o {
            self.children.push(None);
        }
        self.children[o] = Some(child);
    }

    fn sigterm(&mut self, o: usize) {
        if let Some(c) = self.children[o].take() {
            stop(c, "TERM");
        }
    }

    fn logs(&self) -> String {
        let mut out = String::new();
        for o in 0..self.children.len() {
            for i in 0..self.runs {
                let p = self.dir(o).join(format!("corral-{i}.log"));
                if let Ok(t) = std::fs::read_to_string(&p) {
                    let tail: Vec<&str> = t.lines().rev().take(25).collect();
                    out.push_str(&format!("--- pod {o} ({}):\n", p.display()));
                    for l in tail.iter().rev() {
                        out.push_str(l);
                        out.push('\n');
                    }
                }
            }
        }
        out
    }
}

/// The `server.N` lines of `conf` on `addr`: (id, role).
async fn members(addr: SocketAddr) -> Vec<(u64, String)> {
    common::four_letter(addr, "conf")
        .await
        .lines()
        .filter_map(|l| {
            let (k, v) = l.strip_prefix("server.")?.split_once('=')?;
            let role = if v.contains(":observer") {
                "observer"
            } else {
                "participant"
            };
            Some((k.parse().ok()?, role.to_owned()))
        })
        .collect()
}

async fn wait_for<T>(
    what: &str,
    pods: &Pods,
    limit: Duration,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\n{}",
            pods.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn modes(pods: &Pods, ordinals: &[usize]) -> Vec<String> {
    let mut out = Vec::new();
    for o in ordinals {
        out.push(common::mode(pods.client(*o)).await);
    }
    out
}

fn serving(modes: &[String]) -> bool {
    modes.iter().filter(|m| *m == "leader").count() == 1
        && modes.iter().all(|m| m == "leader" || m == "follower")
}

fn dynamic_file(dir: &Path) -> Option<String> {
    let cfg = std::fs::read_to_string(dir.join("data/zoo.cfg")).ok()?;
    let path = cfg
        .lines()
        .find_map(|l| l.strip_prefix("dynamicConfigFile="))?;
    std::fs::read_to_string(path).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_form_grow_and_shrink_an_ensemble_by_reconfig() {
    let mut pods = Pods::new();
    for o in 0..3 {
        pods.start(o, 3);
    }
    let first = [0, 1, 2];
    wait_for(
        "three pods to form an ensemble",
        &pods,
        Duration::from_secs(60),
        async || serving(&modes(&pods, &first).await).then_some(()),
    )
    .await;
    assert_eq!(members(pods.client(0)).await.len(), 3);

    // Data written before the ensemble grows.
    let (mut c, _) = common::connect(pods.client(1), None).await;
    let create = Request::Create(CreateRequest {
        path: "/k8s".into(),
        data: Some(Bytes::from_static(b"before")),
        acl: vec![Acl::open()],
        flags: 0,
    });
    let (h, _) = common::call(&mut c, 1, create).await;
    assert_eq!(h.err, 0, "create /k8s");

    // Scale-up: two pods join by reconfig.
    pods.start(3, 5);
    pods.start(4, 5);
    let all = [0, 1, 2, 3, 4];
    wait_for(
        "five participants, every pod serving",
        &pods,
        Duration::from_secs(90),
        async || {
            let m = members(pods.client(0)).await;
            (m.len() == 5
                && m.iter().all(|(_, r)| r == "participant")
                && serving(&modes(&pods, &all).await))
            .then_some(())
        },
    )
    .await;
    let (mut c, _) = common::connect(pods.client(4), None).await;
    let (h, r) = common::call(
        &mut c,
        1,
        Request::GetData(GetDataRequest {
            path: "/k8s".into(),
            watch: false,
        }),
    )
    .await;
    assert_eq!(h.err, 0);
    assert!(
        matches!(&r, Response::GetData(d) if d.data.as_deref() == Some(&b"before"[..])),
        "{r:?}"
    );
    // Every pod keeps the membership where ZooKeeper does (written within
    // half a tick of applying it).
    wait_for(
        "pod 0's dynamic configuration file",
        &pods,
        Duration::from_secs(10),
        async || {
            let file = dynamic_file(&pods.dir(0))?;
            (file.lines().filter(|l| l.starts_with("server.")).count() == 5).then_some(())
        },
    )
    .await;

    // Scale-down: the two highest pods go (SIGTERM) and leave the
    // Service; the leader removes them by reconfig.
    pods.sigterm(4);
    pods.sigterm(3);
    pods.service(&first);
    wait_for(
        "the departed pods removed",
        &pods,
        Duration::from_secs(60),
        async || {
            let m = members(pods.client(0)).await;
            (m.iter().map(|(id, _)| *id).collect::<Vec<_>>() == vec![1, 2, 3]
                && serving(&modes(&pods, &first).await))
            .then_some(())
        },
    )
    .await;

    // A remaining pod restarts with the membership it kept.
    pods.sigterm(2);
    pods.start(2, 3);
    wait_for(
        "the restarted pod back in the ensemble",
        &pods,
        Duration::from_secs(60),
        async || serving(&modes(&pods, &first).await).then_some(()),
    )
    .await;
    wait_for(
        "pod 2's dynamic configuration file",
        &pods,
        Duration::from_secs(10),
        async || {
            let file = dynamic_file(&pods.dir(2))?;
            (file.lines().filter(|l| l.starts_with("server.")).count() == 3).then_some(())
        },
    )
    .await;
    assert_eq!(members(pods.client(2)).await.len(), 3);

    // Scale-up again: pod 3 comes back on the volume it had, whose
    // configuration no longer names it; it is added again.
    pods.service(&[0, 1, 2, 3]);
    pods.start(3, 4);
    let four = [0, 1, 2, 3];
    wait_for(
        "the returning pod added again",
        &pods,
        Duration::from_secs(90),
        async || {
            let m = members(pods.client(0)).await;
            (m.iter().map(|(id, _)| *id).collect::<Vec<_>>() == vec![1, 2, 3, 4]
                && serving(&modes(&pods, &four).await))
            .then_some(())
        },
    )
    .await;
}
