//! JAAS login configuration files, as ZooKeeper's servers are given them
//! (`-Djava.security.auth.login.config=…`):
//!
//! ```text
//! Server {
//!     org.apache.zookeeper.server.auth.DigestLoginModule required
//!     user_super="adminsecret"
//!     user_bob="bobsecret";
//! };
//! ```
//!
//! Sections of login-module entries (`class flag option=value … ;`),
//! with `//`, `/* */` and `#` comments and quoted or bare values, the
//! syntax of Java's `ConfigFile`. ZooKeeper's DIGEST-MD5 users are the
//! `user_<name>` options of every entry of its section.

use std::collections::BTreeMap;

/// One login-module entry: its class, control flag and options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The login module's class name.
    pub class: String,
    /// `required`, `requisite`, `sufficient` or `optional`.
    pub flag: String,
    /// `name=value` options, in file order.
    pub options: Vec<(String, String)>,
}

/// A parsed file: section name → entries.
pub(crate) type Jaas = BTreeMap<String, Vec<Entry>>;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Punct(char),
}

fn tokens(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            _ if c.is_whitespace() => {
                chars.next();
            }
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '/' => {
                chars.next();
                match chars.next() {
                    Some('/') => {
                        for c in chars.by_ref() {
                            if c == '\n' {
                                break;
                            }
                        }
                    }
                    Some('*') => {
                        let mut last = ' ';
                        loop {
                            match chars.next() {
                                Some('/') if last == '*' => break,
                                Some(c) => last = c,
                                None => return Err("a /* comment is not closed".into()),
                            }
                        }
                    }
                    _ => return Err("a lone '/'".into()),
                }
            }
            '"' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c) => s.push(c),
                            None => return Err("a quoted value is not closed".into()),
                        },
                        Some(c) => s.push(c),
                        None => return Err("a quoted value is not closed".into()),
                    }
                }
                out.push(Token::Quoted(s));
            }
            '{' | '}' | ';' | '=' => {
                chars.next();
                out.push(Token::Punct(c));
            }
            _ => {
                let mut s = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || "{};=\"".contains(c) {
                        break;
                    }
                    s.push(c);
                    chars.next();
                }
                out.push(Token::Word(s));
            }
        }
    }
    Ok(out)
}

/// Parses a JAAS configuration file's text.
///
/// # Errors
/// What is wrong and where, in one line.
pub(crate) fn parse(text: &str) -> Result<Jaas, String> {
    let toks = tokens(text)?;
    let mut it = toks.into_iter().peekable();
    let mut jaas = Jaas::new();
    let word = |t: Option<Token>, what: &str| match t {
        Some(Token::Word(w)) => Ok(w),
        other => Err(format!("expected {what}, found {other:?}")),
    };
    let punct = |t: Option<Token>, p: char| match t {
        Some(Token::Punct(c)) if c == p => Ok(()),
        other => Err(format!("expected '{p}', found {other:?}")),
    };
    while it.peek().is_some() {
        let name = word(it.next(), "a section name")?;
        punct(it.next(), '{')?;
        let mut entries = Vec::new();
        loop {
            if it.peek() == Some(&Token::Punct('}')) {
                it.next();
                break;
            }
            let class = word(it.next(), "a login module class or '}'")?;
            let flag = word(it.next(), "a control flag")?;
            if !["required", "requisite", "sufficient", "optional"]
                .contains(&flag.to_ascii_lowercase().as_str())
            {
                return Err(format!("{name}: {class}: unknown control flag {flag}"));
            }
            let mut options = Vec::new();
            loop {
                match it.next() {
                    Some(Token::Punct(';')) => break,
                    Some(Token::Word(k)) => {
                        punct(it.next(), '=')?;
                        let v = match it.next() {
                            Some(Token::Quoted(v) | Token::Word(v)) => v,
                            other => {
                                return Err(format!(
                                    "{name}: {k}: expected a value, found {other:?}"
                                ));
                            }
                        };
                        options.push((k, v));
                    }
                    other => {
                        return Err(format!(
                            "{name}: {class}: expected an option or ';', found {other:?}"
                        ));
                    }
                }
            }
            entries.push(Entry {
                class,
                flag,
                options,
            });
        }
        // The closing `};` (Java's ConfigFile requires the ';').
        punct(it.next(), ';')?;
        jaas.insert(name, entries);
    }
    Ok(jaas)
}

/// ZooKeeper's DIGEST-MD5 users of a section: every `user_<name>` option
/// of every entry (`SaslServerCallbackHandler`).
pub(crate) fn digest_users(entries: &[Entry]) -> BTreeMap<String, String> {
    entries
        .iter()
        .flat_map(|e| e.options.iter())
        .filter_map(|(k, v)| k.strip_prefix("user_").map(|u| (u.to_owned(), v.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zookeepers_server_and_client_sections() {
        let text = r#"
// the server's users
Server {
       org.apache.zookeeper.server.auth.DigestLoginModule required
       user_super="adminsecret"
       user_bob="bob \"quoted\" secret";
};
/* kazoo's test setup */
Client {
       org.apache.zookeeper.server.auth.DigestLoginModule required
       username=bob password="bobsecret";
};
"#;
        let jaas = parse(text).expect("parses");
        let users = digest_users(&jaas["Server"]);
        assert_eq!(users["super"], "adminsecret");
        assert_eq!(users["bob"], "bob \"quoted\" secret");
        assert_eq!(
            jaas["Client"][0].options[0],
            ("username".into(), "bob".into())
        );
        assert_eq!(jaas["Client"][0].flag, "required");
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        for bad in [
            "Server { m required a=\"b\"; }",
            "Server { m always; };",
            "Server { m required a; };",
            "Server { m required a=\"open; };",
            "/* open",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(parse("").expect("empty"), Jaas::new());
    }
}
