//! `corral --k8s`: the entrypoint of a pod of a StatefulSet (see
//! `deploy/` and `docs/operations.md`, Kubernetes).
//!
//! From what Kubernetes gives a pod — its name (`<set>-<ordinal>`), its
//! IP, its namespace, the headless Service — and a base zoo.cfg (a
//! ConfigMap, no `server.N` lines), it writes `myid` (ordinal + 1) and the
//! zoo.cfg the server runs with, then keeps this member in the ensemble:
//!
//! - **first start of a new ensemble** (no member answers with a
//!   configuration): the members are ordinals `0 … CORRAL_REPLICAS-1`,
//!   the same lines on every pod, and they form the ensemble together;
//! - **scale-up** (a member answers): the configuration it serves plus
//!   this pod's line; the server waits to be added, and [`join`] asks the
//!   ensemble to add it with a `reconfig` (a peer message over the quorum
//!   port: the quorum port is the ensemble's trust boundary, as in
//!   ZooKeeper, where any server that reaches it can join as a learner);
//! - **restart**: the zoo.cfg the server keeps (`dynamicConfigFile`, rewritten
//!   after each change) is kept, the rest of the base applied again;
//! - **scale-down**: the leader removes, by `reconfig`, a member whose
//!   name has left the Service's DNS and that has not been replicating for
//!   `corral.k8s.removeAfterMs` ([`crate::reconfig::sweep_departed`]).
//!   A member removed that way that comes back is added again by [`join`].
//!
//! Every member's address is its stable DNS name,
//! `<set>-<ordinal>.<service>.<namespace>.svc.<domain>`, resolved on each
//! connection.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use consensus::network::{PeerClients, PeerRequest, PeerResponse, PeerTls};
use tracing::{info, warn};

use crate::config::zoo_cfg::{self, Properties};
use crate::reconfig::{Ask, TAG_CONFIG};

/// What Kubernetes tells a pod, from its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pod {
    /// The StatefulSet's name: the pod's name without `-<ordinal>`.
    pub set: String,
    /// The pod's ordinal; `myid` is one more.
    pub ordinal: u64,
    /// The headless Service (`CORRAL_SERVICE`).
    pub service: String,
    /// `POD_NAMESPACE` (default `default`).
    pub namespace: String,
    /// `CORRAL_CLUSTER_DOMAIN` (default `cluster.local`).
    pub domain: String,
    /// `CORRAL_REPLICAS`: the ensemble's size when it is first formed.
    pub replicas: u64,
    /// `POD_IP`: where the client port listens (default every address).
    pub pod_ip: Option<IpAddr>,
    /// `CORRAL_CLIENT_PORT`, `CORRAL_QUORUM_PORT`, `CORRAL_ELECTION_PORT`
    /// (2181, 2888, 3888).
    pub ports: (u16, u16, u16),
}

impl Pod {
    /// Reads the pod's environment (`POD_NAME`, or `HOSTNAME` as the
    /// StatefulSet sets it).
    ///
    /// # Errors
    /// A missing or malformed variable, named.
    pub fn from_env() -> Result<Self, String> {
        Self::from_vars(|k| std::env::var(k).ok())
    }

    /// As [`Pod::from_env`], from `get`.
    ///
    /// # Errors
    /// A missing or malformed variable, named.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let name = get("POD_NAME")
            .or_else(|| get("HOSTNAME"))
            .ok_or("POD_NAME (or HOSTNAME) is not set")?;
        let (set, ordinal) = name
            .rsplit_once('-')
            .and_then(|(s, o)| Some((s.to_owned(), o.parse::<u64>().ok()?)))
            .ok_or_else(|| format!("pod name {name:?} is not <statefulset>-<ordinal>"))?;
        if ordinal >= 255 {
            return Err(format!("ordinal {ordinal}: myid is at most 255"));
        }
        let port = |k: &str, default: u16| -> Result<u16, String> {
            get(k).map_or(Ok(default), |v| {
                v.parse().map_err(|_| format!("{k}={v:?} is not a port"))
            })
        };
        let replicas = get("CORRAL_REPLICAS")
            .ok_or("CORRAL_REPLICAS is not set")?
            .parse::<u64>()
            .map_err(|_| "CORRAL_REPLICAS is not a number")?;
        if replicas == 0 || replicas > 255 {
            return Err(format!("CORRAL_REPLICAS={replicas}: 1 to 255"));
        }
        Ok(Pod {
            set,
            ordinal,
            service: get("CORRAL_SERVICE")
                .ok_or("CORRAL_SERVICE (the headless Service) is not set")?,
            namespace: get("POD_NAMESPACE").unwrap_or_else(|| "default".into()),
            domain: get("CORRAL_CLUSTER_DOMAIN").unwrap_or_else(|| "cluster.local".into()),
            replicas,
            pod_ip: get("POD_IP")
                .map(|ip| {
                    ip.parse()
                        .map_err(|_| format!("POD_IP={ip:?} is not an address"))
                })
                .transpose()?,
            ports: (
                port("CORRAL_CLIENT_PORT", 2181)?,
                port("CORRAL_QUORUM_PORT", 2888)?,
                port("CORRAL_ELECTION_PORT", 3888)?,
            ),
        })
    }

    /// `myid`.
    pub fn myid(&self) -> u64 {
        self.ordinal + 1
    }

    /// The stable DNS name of the pod with `ordinal`.
    pub fn host(&self, ordinal: u64) -> String {
        format!(
            "{}-{ordinal}.{}.{}.svc.{}",
            self.set, self.service, self.namespace, self.domain
        )
    }

    /// The `server.N` value of the pod with `ordinal`, a participant.
    pub fn line_value(&self, ordinal: u64) -> String {
        let host = self.host(ordinal);
        let (client, quorum, election) = self.ports;
        format!("{host}:{quorum}:{election}:participant;{host}:{client}")
    }

    /// `server.N=…` of the pod with `ordinal`.
    pub fn line(&self, ordinal: u64) -> String {
        format!("server.{}={}", ordinal + 1, self.line_value(ordinal))
    }

    /// The lines of a pod joining the ensemble of `servers`: theirs, with
    /// this pod's own line in place of any it had.
    fn joining(&self, servers: &[zoo_cfg::ServerLine]) -> Vec<String> {
        servers
            .iter()
            .filter(|s| s.id != self.myid())
            .map(zoo_cfg::ServerLine::line)
            .chain(std::iter::once(self.line(self.ordinal)))
            .collect()
    }

    /// Ordinals that may hold a member: those of the first ensemble and
    /// every one below this pod's.
    fn peers(&self) -> impl Iterator<Item = u64> + '_ {
        (0..self.replicas.max(self.ordinal + 1)).filter(|o| *o != self.ordinal)
    }
}

/// The TLS this member uses toward the others (`sslQuorum`), if on.
///
/// # Errors
/// The key or trust store cannot be read.
pub fn quorum_tls(config: &crate::Config) -> Result<Option<PeerTls>, String> {
    crate::net::tls::peer_tls(config).map_err(|e| e.to_string())
}

/// Asks the members for the configuration they serve; the first one
/// found, as text (`server.N` lines and `version=`).
async fn ask_config(pod: &Pod, clients: &PeerClients) -> Option<String> {
    for o in pod.peers() {
        let addr = format!("{}:{}", pod.host(o), pod.ports.1);
        let msg = PeerRequest::App(vec![TAG_CONFIG]);
        if let Ok(PeerResponse::App(text)) = clients
            .call(o + 1, &addr, msg, Duration::from_secs(2))
            .await
            && let Ok(text) = String::from_utf8(text)
            && text.contains("server.")
        {
            return Some(text);
        }
    }
    None
}

/// Writes `myid` and the zoo.cfg the server runs with (in the data
/// directory of `base`), and returns that zoo.cfg's path.
///
/// # Errors
/// The base cannot be read, the data directory not written, or the
/// configuration served by the ensemble not parsed.
pub async fn prepare(pod: &Pod, base: &Path, tls: Option<PeerTls>) -> Result<PathBuf, String> {
    let text = std::fs::read_to_string(base).map_err(|e| format!("{}: {e}", base.display()))?;
    let props = Properties::parse(&text);
    let data_dir = props
        .iter()
        .find(|(k, _, _)| *k == "dataDir")
        .map_or_else(|| PathBuf::from("/data"), |(_, v, _)| PathBuf::from(v));
    std::fs::create_dir_all(&data_dir).map_err(|e| format!("{}: {e}", data_dir.display()))?;
    std::fs::write(data_dir.join("myid"), format!("{}\n", pod.myid()))
        .map_err(|e| format!("myid: {e}"))?;
    let generated = data_dir.join("zoo.cfg");
    // The membership: kept from the last run, else asked of the ensemble,
    // else the first ensemble's.
    let kept: Vec<String> = std::fs::read_to_string(&generated)
        .map(|t| {
            t.lines()
                .filter(|l| l.starts_with("dynamicConfigFile") || l.starts_with("server."))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    // A kept configuration that no longer names this pod (it was removed
    // while it was away): its lines and this pod's, to be added again.
    let kept = match kept
        .iter()
        .find_map(|l| l.strip_prefix("dynamicConfigFile="))
    {
        Some(file) => {
            match std::fs::read_to_string(file).map(|t| zoo_cfg::parse_dynamic_config(&t)) {
                Ok(Ok((servers, _))) if !servers.iter().any(|s| s.id == pod.myid()) => {
                    info!("removed while away: asking to be added again");
                    pod.joining(&servers)
                }
                _ => kept,
            }
        }
        None => kept,
    };
    let membership = if !kept.is_empty() {
        info!("restarting with the membership this member kept");
        kept
    } else {
        let clients = PeerClients::new(pod.myid(), Arc::default(), tls);
        match ask_config(pod, &clients).await {
            Some(live) => {
                let (servers, version) = zoo_cfg::parse_dynamic_config(&live)?;
                info!(
                    version = format_args!("{:x}", version.unwrap_or(0)),
                    members = servers.len(),
                    "the ensemble runs: joining it"
                );
                pod.joining(&servers)
            }
            None => {
                info!(
                    replicas = pod.replicas,
                    "no member answers: forming the ensemble"
                );
                (0..pod.replicas).map(|o| pod.line(o)).collect()
            }
        }
    };
    let mut out = String::from("# Written by corral --k8s from ");
    out.push_str(&format!("{}; edits here are replaced.\n", base.display()));
    for line in text.lines() {
        let key = zoo_cfg::line_key(line);
        let ours = key.starts_with("server.")
            || matches!(
                key,
                "dynamicConfigFile"
                    | "clientPort"
                    | "clientPortAddress"
                    | "reconfigEnabled"
                    | "standaloneEnabled"
            );
        if !ours {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str("reconfigEnabled=true\nstandaloneEnabled=false\n");
    out.push_str(&format!("clientPort={}\n", pod.ports.0));
    if let Some(ip) = pod.pod_ip {
        out.push_str(&format!("clientPortAddress={ip}\n"));
    }
    for line in membership {
        out.push_str(&line);
        out.push('\n');
    }
    std::fs::write(&generated, out).map_err(|e| format!("{}: {e}", generated.display()))?;
    Ok(generated)
}

/// Keeps this member in the ensemble's configuration: while the
/// configuration the members serve does not name it, asks them (any
/// member passes it to the leader) to add it with a `reconfig`. Checks
/// every 2 s until `shutdown`.
pub async fn join(pod: Pod, tls: Option<PeerTls>, shutdown: tokio_util::sync::CancellationToken) {
    let clients = PeerClients::new(pod.myid(), Arc::default(), tls);
    let me = format!("server.{}=", pod.myid());
    let mut member = false;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
        let Some(live) = ask_config(&pod, &clients).await else {
            continue;
        };
        if live.lines().any(|l| l.starts_with(&me)) {
            if !member {
                info!(myid = pod.myid(), "a member of the ensemble");
                member = true;
            }
            continue;
        }
        member = false;
        let ask = Ask {
            request: jute::proto::ReconfigRequest {
                joining_servers: Some(pod.line(pod.ordinal)),
                leaving_servers: None,
                new_members: None,
                cur_config_id: -1,
            },
            authorized: true,
        };
        for o in pod.peers() {
            let addr = format!("{}:{}", pod.host(o), pod.ports.1);
            let msg = PeerRequest::App(ask.encode());
            match clients
                .call(o + 1, &addr, msg, Duration::from_secs(60))
                .await
            {
                Ok(PeerResponse::App(a)) => {
                    match crate::reconfig::decode_answer(&a) {
                        Some(Ok(zxid)) => {
                            info!(
                                version = format_args!("{zxid:x}"),
                                "added to the ensemble by reconfig"
                            );
                        }
                        other => warn!(answer = ?other, "reconfig to join refused; trying again"),
                    }
                    break;
                }
                Ok(_) | Err(_) => continue,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn a_pod_from_its_environment() {
        let pod = Pod::from_vars(env(&[
            ("HOSTNAME", "zk-corral-2"),
            ("CORRAL_SERVICE", "zk-corral-headless"),
            ("POD_NAMESPACE", "infra"),
            ("CORRAL_REPLICAS", "3"),
            ("POD_IP", "10.1.2.3"),
        ]))
        .expect("valid");
        assert_eq!(
            (pod.set.as_str(), pod.ordinal, pod.myid()),
            ("zk-corral", 2, 3)
        );
        assert_eq!(
            pod.line(0),
            "server.1=zk-corral-0.zk-corral-headless.infra.svc.cluster.local:2888:3888:participant;\
             zk-corral-0.zk-corral-headless.infra.svc.cluster.local:2181"
        );
        assert_eq!(pod.peers().collect::<Vec<_>>(), vec![0, 1]);
        let joiner = Pod {
            ordinal: 4,
            ..pod.clone()
        };
        assert_eq!(joiner.peers().collect::<Vec<_>>(), vec![0, 1, 2, 3]);
        assert!(
            Pod::from_vars(env(&[
                ("POD_NAME", "nodash"),
                ("CORRAL_SERVICE", "s"),
                ("CORRAL_REPLICAS", "3")
            ]))
            .is_err()
        );
        assert!(Pod::from_vars(env(&[("POD_NAME", "a-1"), ("CORRAL_REPLICAS", "3")])).is_err());
        assert!(
            Pod::from_vars(env(&[
                ("POD_NAME", "a-1"),
                ("CORRAL_SERVICE", "s"),
                ("CORRAL_REPLICAS", "0")
            ]))
            .is_err()
        );
        // Every generated line parses as ZooKeeper's.
        assert!(zoo_cfg::parse_dynamic_config(&pod.line(1)).is_ok());
    }

    #[tokio::test]
    async fn a_new_ensemble_gets_the_first_replicas_and_a_restart_keeps_its_membership() {
        let dir = tempfile::tempdir().expect("a directory");
        let base = dir.path().join("base.cfg");
        let data = dir.path().join("data");
        std::fs::write(
            &base,
            format!(
                "tickTime=2000\ndataDir={}\nserver.9=stale:1:2\nclientPort=1\n",
                data.display()
            ),
        )
        .expect("write");
        let pod = Pod::from_vars(env(&[
            ("POD_NAME", "c-1"),
            ("CORRAL_SERVICE", "h"),
            ("CORRAL_REPLICAS", "3"),
            ("CORRAL_QUORUM_PORT", "1"),
        ]))
        .expect("valid");
        // No member answers (nothing resolves): the first ensemble.
        let cfg = prepare(&pod, &base, None).await.expect("prepared");
        let text = std::fs::read_to_string(&cfg).expect("read");
        assert_eq!(
            std::fs::read_to_string(data.join("myid")).expect("myid"),
            "2\n"
        );
        assert_eq!(text.matches("\nserver.").count(), 3, "{text}");
        assert!(
            !text.contains("server.9") && !text.contains("clientPort=1\n"),
            "{text}"
        );
        assert!(text.contains("reconfigEnabled=true") && text.contains("tickTime=2000"));
        // After a reconfig the server keeps a dynamicConfigFile there: a
        // restart keeps it.
        let kept = text.replace("server.3=", "#server.3=") + "";
        std::fs::write(&cfg, kept).expect("write");
        let cfg = prepare(&pod, &base, None).await.expect("prepared");
        let text = std::fs::read_to_string(&cfg).expect("read");
        assert_eq!(text.matches("\nserver.").count(), 2, "{text}");
    }
}
