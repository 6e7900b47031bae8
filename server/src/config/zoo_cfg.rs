//! zoo.cfg: the Java-properties file ZooKeeper operators already have.
//!
//! Properties syntax as `java.util.Properties.load` reads it, for what
//! zoo.cfg files use: `key=value`, `key: value` or `key value`; `#` and `!`
//! comments; surrounding whitespace trimmed; a trailing `\` continues a
//! line. Later duplicates win, as in Java.

use std::collections::BTreeMap;

/// A parsed properties file, keys in file order of first appearance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties {
    entries: BTreeMap<String, (usize, String)>,
}

impl Properties {
    /// Parses properties text.
    pub fn parse(text: &str) -> Self {
        let mut entries = BTreeMap::new();
        let mut pending = String::new();
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim_start();
            if pending.is_empty()
                && (line.is_empty() || line.starts_with('#') || line.starts_with('!'))
            {
                continue;
            }
            if let Some(stripped) = line.strip_suffix('\\') {
                pending.push_str(stripped);
                continue;
            }
            pending.push_str(line);
            let logical = std::mem::take(&mut pending);
            let (key, value) = split(&logical);
            if !key.is_empty() {
                entries.insert(key.to_owned(), (n + 1, value.to_owned()));
            }
        }
        Properties { entries }
    }

    /// Every key with its value and the line it was on.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, usize)> {
        self.entries
            .iter()
            .map(|(k, (line, v))| (k.as_str(), v.as_str(), *line))
    }
}

/// The key of one line of a properties file, as [`Properties::parse`]
/// reads it (a comment's key starts with `#` or `!`).
pub fn line_key(line: &str) -> &str {
    split(line.trim_start()).0
}

/// Splits a logical line at the first unescaped `=`, `:` or whitespace.
fn split(line: &str) -> (&str, &str) {
    let sep = line.find(['=', ':', ' ', '\t']).unwrap_or(line.len());
    let key = line[..sep].trim();
    let mut rest = line[sep..].trim_start();
    if let Some(r) = rest.strip_prefix(['=', ':']) {
        rest = r.trim_start();
    }
    (key, rest.trim_end())
}

/// One `server.N=host:quorumPort:electionPort[:role][;[clientHost:]clientPort]` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLine {
    /// N, the server's id (`myid`).
    pub id: u64,
    /// `host:quorumPort`: Raft traffic goes here.
    pub quorum_addr: String,
    /// ZooKeeper's leader-election port (unused by Raft, kept for reference).
    pub election_port: u16,
    /// `observer` makes a non-voting member.
    pub observer: bool,
    /// `host:clientPort`, if given.
    pub client_addr: Option<String>,
    /// The client address as ZooKeeper shows it in `/zookeeper/config`
    /// (`QuorumServer.toString`): as written when it names a host, else
    /// `0.0.0.0:<port>` (a port alone binds every address).
    pub client_shown: Option<String>,
}

impl ServerLine {
    /// The line's value as ZooKeeper writes it back in the dynamic
    /// configuration: `host:quorumPort:electionPort:role[;clientAddr]`.
    pub fn zookeeper_value(&self) -> String {
        let role = if self.observer {
            "observer"
        } else {
            "participant"
        };
        let mut v = format!("{}:{}:{role}", self.quorum_addr, self.election_port);
        if let Some(c) = &self.client_shown {
            v.push(';');
            v.push_str(c);
        }
        v
    }

    /// The whole line, `server.N=…`, as ZooKeeper writes it back.
    pub fn line(&self) -> String {
        format!("server.{}={}", self.id, self.zookeeper_value())
    }
}

/// `/zookeeper/config` as ZooKeeper's `QuorumMaj.toString` writes it: a
/// `server.N=…` line per member in id order, then `version=<hex>` (no
/// final newline).
pub fn dynamic_config(servers: &[ServerLine], version: i64) -> String {
    let mut out = member_lines(servers);
    out.push_str(&format!("version={version:x}"));
    out
}

/// The `server.N=…` lines of [`dynamic_config`], each with its newline:
/// what a `reconfig` proposes (the `version=` line follows once its zxid
/// is known).
pub fn member_lines(servers: &[ServerLine]) -> String {
    let mut sorted: Vec<&ServerLine> = servers.iter().collect();
    sorted.sort_by_key(|s| s.id);
    let mut out = String::new();
    for s in sorted {
        out.push_str(&s.line());
        out.push('\n');
    }
    out
}

/// Parses dynamic configuration text (`/zookeeper/config`, a
/// `dynamicConfigFile`, `reconfig`'s `newMembers`): `server.N=…` lines and
/// an optional `version=<hex>`. Other keys (`group`, `weight`: ZooKeeper's
/// hierarchical quorums) are refused.
///
/// # Errors
/// A one-line description of the first bad line.
pub fn parse_dynamic_config(text: &str) -> Result<(Vec<ServerLine>, Option<i64>), String> {
    let mut servers: Vec<ServerLine> = Vec::new();
    let mut version = None;
    for (key, value, line) in Properties::parse(text).iter() {
        if let Some(n) = key.strip_prefix("server.") {
            let id = n
                .parse::<u64>()
                .map_err(|_| format!("line {line}: server.N needs a number N, got {key:?}"))?;
            servers.push(parse_server_line(id, value).map_err(|e| format!("{key}: {e}"))?);
        } else if key == "version" {
            version = Some(
                i64::from_str_radix(value, 16)
                    .map_err(|_| format!("line {line}: version is hexadecimal, got {value:?}"))?,
            );
        } else {
            return Err(format!(
                "line {line}: {key} is not a dynamic configuration key (server.N, version)"
            ));
        }
    }
    servers.sort_by_key(|s| s.id);
    Ok((servers, version))
}

/// A `zoo.cfg.dynamic.<version>` file's content as ZooKeeper's
/// `writeDynamicConfig` writes it: the `server.N=…` lines sorted as
/// strings, joined by newlines, no version.
pub fn dynamic_file_text(servers: &[ServerLine]) -> String {
    let mut lines: Vec<String> = servers.iter().map(ServerLine::line).collect();
    lines.sort();
    lines.join("\n")
}

/// Parses the value of a `server.N` key.
///
/// # Errors
/// A one-line description of what is wrong.
pub fn parse_server_line(id: u64, value: &str) -> Result<ServerLine, String> {
    let (addrs, client) = match value.split_once(';') {
        Some((a, c)) => (a.trim(), Some(c.trim())),
        None => (value.trim(), None),
    };
    let parts: Vec<&str> = addrs.split(':').collect();
    let (host, quorum, election, role) = match parts.as_slice() {
        [h, q, e] => (*h, *q, *e, None),
        [h, q, e, r] => (*h, *q, *e, Some(*r)),
        _ => {
            return Err(format!(
                "expected host:quorumPort:electionPort[:role], got {addrs:?}"
            ));
        }
    };
    let port = |p: &str, what: &str| {
        p.parse::<u16>()
            .map_err(|_| format!("bad {what} port {p:?}"))
    };
    port(quorum, "quorum")?;
    let election_port = port(election, "election")?;
    let observer = match role {
        None | Some("participant") => false,
        Some("observer") => true,
        Some(other) => return Err(format!("unknown role {other:?} (participant or observer)")),
    };
    let (client_addr, client_shown) = match client {
        None | Some("") => (None, None),
        Some(c) if c.contains(':') => {
            let (h, p) = c.rsplit_once(':').unwrap_or((c, ""));
            port(p, "client")?;
            (Some(format!("{h}:{p}")), Some(format!("{h}:{p}")))
        }
        Some(p) => {
            port(p, "client")?;
            (Some(format!("{host}:{p}")), Some(format!("0.0.0.0:{p}")))
        }
    };
    Ok(ServerLine {
        id,
        quorum_addr: format!("{host}:{quorum}"),
        election_port,
        observer,
        client_addr,
        client_shown,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_properties_forms() {
        let p = Properties::parse(
            "# comment\n! also\ntickTime=2000\ndataDir : /var/zk\nclientPort 2181\n  initLimit=5  \nlong=a\\\n  b\ntickTime=3000\n",
        );
        let got: Vec<(&str, &str)> = p.iter().map(|(k, v, _)| (k, v)).collect();
        assert_eq!(
            got,
            vec![
                ("clientPort", "2181"),
                ("dataDir", "/var/zk"),
                ("initLimit", "5"),
                ("long", "ab"),
                ("tickTime", "3000")
            ]
        );
    }

    #[test]
    fn server_lines() {
        let s = parse_server_line(2, "zk2:2888:3888:participant;2181").expect("valid");
        assert_eq!(s.quorum_addr, "zk2:2888");
        assert_eq!(s.client_addr.as_deref(), Some("zk2:2181"));
        assert!(!s.observer);
        let s = parse_server_line(3, "10.0.0.3:2888:3888:observer;0.0.0.0:2181").expect("valid");
        assert!(s.observer);
        assert_eq!(s.client_addr.as_deref(), Some("0.0.0.0:2181"));
        assert!(parse_server_line(1, "zk1:2888").is_err());
        assert!(parse_server_line(1, "zk1:2888:3888:boss").is_err());
        assert!(parse_server_line(1, "zk1:x:3888").is_err());
    }

    #[test]
    fn dynamic_config_as_zookeeper_writes_it() {
        let lines = [
            parse_server_line(3, "10.0.0.3:2888:3888:observer;10.0.0.3:2181").expect("valid"),
            parse_server_line(1, "zk1:2888:3888").expect("valid"),
            parse_server_line(2, "zk2:2889:3889:participant;2181").expect("valid"),
        ];
        assert_eq!(
            dynamic_config(&lines, 0x1_0000_0003),
            "server.1=zk1:2888:3888:participant\n\
             server.2=zk2:2889:3889:participant;0.0.0.0:2181\n\
             server.3=10.0.0.3:2888:3888:observer;10.0.0.3:2181\n\
             version=100000003"
        );
    }
}
