//! The harness's "hosts": one network namespace per member, each joined by
//! a veth pair to a bridge in a switch namespace, plus a client namespace
//! the workload runs in. Addresses exist only inside these namespaces
//! (10.77.0.0/24 in every run: two runs never share a namespace, so they
//! never share a network). Partitions are nftables rules in a member's
//! namespace; loss is nftables' `numgen`, a slow link `tc tbf` (this
//! machine's kernel is built without `netem`, so no delay, jitter or
//! reordering of its kind).
//! Everything is removed when [`Net`] is dropped, and namespaces left by a
//! run that was killed are removed by the next one.

use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

/// The client namespace's address (the workload's connections).
pub const CLIENT_ADDR: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
/// A second address of the client namespace, for hostile clients
/// (connection floods), so that `maxClientCnxns` counts them apart.
pub const HOSTILE_ADDR: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 3);

/// Every namespace of a run starts with this and the harness's pid.
const PREFIX: &str = "corral-f";

/// A host: a namespace with one address.
#[derive(Debug, Clone)]
pub struct Host {
    /// The namespace's name.
    pub ns: String,
    /// Its address on the bridge.
    pub addr: Ipv4Addr,
}

/// The namespaces of one run.
pub struct Net {
    /// One per member, in member order (member `i + 1` on `hosts[i]`).
    pub hosts: Vec<Host>,
    switch: String,
    client: String,
    created: Vec<String>,
}

/// Runs a command; its stderr on failure.
pub fn run(args: &[&str]) -> Result<String, String> {
    run_input(args, None)
}

/// Runs a command with `input` on its stdin.
fn run_input(args: &[&str], input: Option<&str>) -> Result<String, String> {
    use std::io::Write;
    let mut cmd = Command::new(args[0]);
    cmd.args(&args[1..])
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("{}: {e}", args.join(" ")))?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin
            .write_all(text.as_bytes())
            .map_err(|e| format!("{}: {e}", args.join(" ")))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`{}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Whether process `pid` is alive.
fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Removes the namespaces of runs whose harness is gone (killed before it
/// could clean up), and ends the servers it left in them.
fn remove_stale() {
    let Ok(list) = run(&["ip", "netns", "list"]) else {
        return;
    };
    for line in list.lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|p| !alive(p)) {
            let pids = run(&["ip", "netns", "pids", name]).unwrap_or_default();
            for p in pids
                .split_whitespace()
                .filter_map(|p| p.parse::<i32>().ok())
            {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(p),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            let _ = run(&["ip", "netns", "del", name]);
        }
    }
}

impl Net {
    /// Creates the switch, `members` member hosts (10.77.0.11, .12, …) and
    /// the client host.
    ///
    /// # Errors
    /// An `ip` command failed (not root, no `ip`).
    pub fn create(members: usize) -> Result<Net, String> {
        remove_stale();
        let tag = format!("{PREFIX}{}", std::process::id());
        let mut net = Net {
            hosts: Vec::new(),
            switch: format!("{tag}-sw"),
            client: format!("{tag}-c"),
            created: Vec::new(),
        };
        let sw = net.switch.clone();
        net.add_ns(&sw)?;
        run(&["ip", "-n", &sw, "link", "add", "br0", "type", "bridge"])?;
        run(&["ip", "-n", &sw, "link", "set", "br0", "up"])?;
        for i in 0..members {
            let ns = format!("{tag}-h{}", i + 1);
            let addr = Ipv4Addr::new(10, 77, 0, 11 + u8::try_from(i).map_err(|e| e.to_string())?);
            net.attach(&ns, &format!("v{}", i + 1), &[addr])?;
            net.hosts.push(Host { ns, addr });
        }
        let client = net.client.clone();
        net.attach(&client, "vc", &[CLIENT_ADDR, HOSTILE_ADDR])?;
        Ok(net)
    }

    fn add_ns(&mut self, ns: &str) -> Result<(), String> {
        run(&["ip", "netns", "add", ns])?;
        self.created.push(ns.to_owned());
        run(&["ip", "-n", ns, "link", "set", "lo", "up"])?;
        Ok(())
    }

    /// A new namespace `ns` with an `eth0` bridged through `port` in the
    /// switch, holding `addrs`.
    fn attach(&mut self, ns: &str, port: &str, addrs: &[Ipv4Addr]) -> Result<(), String> {
        self.add_ns(ns)?;
        let sw = self.switch.clone();
        run(&[
            "ip", "-n", &sw, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns",
            ns,
        ])?;
        run(&["ip", "-n", &sw, "link", "set", port, "master", "br0", "up"])?;
        for a in addrs {
            run(&[
                "ip",
                "-n",
                ns,
                "addr",
                "add",
                &format!("{a}/24"),
                "dev",
                "eth0",
            ])?;
        }
        run(&["ip", "-n", ns, "link", "set", "eth0", "up"])?;
        Ok(())
    }

    /// Moves the calling thread into the client namespace: sockets it (and
    /// threads it starts afterwards) opens are the client host's.
    ///
    /// # Errors
    /// The namespace cannot be opened or entered.
    pub fn enter_client(&self) -> Result<(), String> {
        let f = std::fs::File::open(format!("/run/netns/{}", self.client))
            .map_err(|e| format!("open the client namespace: {e}"))?;
        nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET)
            .map_err(|e| format!("enter the client namespace: {e}"))
    }

    /// Runs `args` in member `i`'s namespace.
    ///
    /// # Errors
    /// The command failed.
    pub fn exec(&self, i: usize, args: &[&str]) -> Result<String, String> {
        let mut full = vec!["ip", "netns", "exec", &self.hosts[i].ns];
        full.extend_from_slice(args);
        run(&full)
    }

    /// Installs nftables table `table` in member `i`'s namespace with one
    /// input rule (replacing an earlier table of that name).
    fn input_rule(&self, i: usize, table: &str, rule: &str) -> Result<(), String> {
        self.drop_table(i, table);
        let rules = format!(
            "table inet {table} {{\n  chain input {{ type filter hook input priority 0;\n    \
             {rule}\n  }}\n}}\n"
        );
        run_input(
            &["ip", "netns", "exec", &self.hosts[i].ns, "nft", "-f", "-"],
            Some(&rules),
        )
        .map(|_| ())
    }

    fn drop_table(&self, i: usize, table: &str) {
        let _ = self.exec(i, &["nft", "delete", "table", "inet", table]);
    }

    /// Member `i` drops every packet it receives from `from`, silently
    /// (the sender sees a link that went quiet, as in a real partition;
    /// dropping on output instead would fail the sender's calls at once).
    /// A partition is this on both sides; a one-way one on one side.
    ///
    /// # Errors
    /// `nft` failed.
    pub fn block(&self, i: usize, from: &[Ipv4Addr]) -> Result<(), String> {
        let set = from
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        self.input_rule(i, "corral_partition", &format!("ip saddr {{ {set} }} drop"))
    }

    /// Removes member `i`'s partition rules.
    pub fn unblock(&self, i: usize) {
        self.drop_table(i, "corral_partition");
    }

    /// Member `i` drops `percent` % of the packets it receives, at random
    /// (nftables' `numgen`; this machine's kernel has no `netem`).
    ///
    /// # Errors
    /// `nft` failed.
    pub fn lossy(&self, i: usize, percent: u32) -> Result<(), String> {
        self.input_rule(
            i,
            "corral_loss",
            &format!("numgen random mod 100 < {percent} drop"),
        )
    }

    /// Member `i`'s link sends at most `rate` (a `tc tbf` rate such as
    /// `2mbit`), queueing up to 300 ms: a slow, congested link.
    ///
    /// # Errors
    /// `tc` failed.
    pub fn slow(&self, i: usize, rate: &str) -> Result<(), String> {
        self.exec(
            i,
            &[
                "tc", "qdisc", "replace", "dev", "eth0", "root", "tbf", "rate", rate, "burst",
                "16kb", "latency", "300ms",
            ],
        )
        .map(|_| ())
    }

    /// Removes member `i`'s loss and rate limit.
    pub fn clear_link(&self, i: usize) {
        self.drop_table(i, "corral_loss");
        let _ = self.exec(i, &["tc", "qdisc", "del", "dev", "eth0", "root"]);
    }

    /// Heals everything: no partition, no loss, no rate limit.
    pub fn heal(&self) {
        for i in 0..self.hosts.len() {
            self.unblock(i);
            self.clear_link(i);
        }
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for ns in self.created.iter().rev() {
            let _ = run(&["ip", "netns", "del", ns]);
        }
    }
}
