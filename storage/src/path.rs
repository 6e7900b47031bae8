//! ZooKeeper path rules (`PathUtils.validatePath`) and path arithmetic.
//!
//! Pure string logic: no tree, no errors beyond "invalid".

/// Why a path is not a valid znode path (ZooKeeper's `IllegalArgumentException`
/// messages, which the server turns into `BADARGUMENTS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidPath {
    /// `""`
    Empty,
    /// Does not start with `/`.
    NotAbsolute,
    /// Ends with `/` (other than the root).
    TrailingSlash,
    /// Contains `\0`.
    NullCharacter,
    /// Contains `//`.
    EmptyNodeName,
    /// A `.` or `..` component.
    Relative,
    /// A character ZooKeeper rejects (controls, surrogates and private use,
    /// U+FFF0..U+FFFF, and anything outside the BMP, which Java stores as
    /// surrogates).
    InvalidCharacter,
}

/// Validates `path` as ZooKeeper's `PathUtils.validatePath(String)` does.
///
/// # Errors
/// The first rule the path breaks.
pub fn validate(path: &str) -> Result<(), InvalidPath> {
    let bytes = path.as_bytes();
    let Some(&first) = bytes.first() else {
        return Err(InvalidPath::Empty);
    };
    if first != b'/' {
        return Err(InvalidPath::NotAbsolute);
    }
    if path.len() == 1 {
        return Ok(());
    }
    if path.ends_with('/') {
        return Err(InvalidPath::TrailingSlash);
    }
    // Walk components: everything between slashes. The root slash is first.
    for component in path.split('/').skip(1) {
        if component.is_empty() {
            return Err(InvalidPath::EmptyNodeName);
        }
        for c in component.chars() {
            if c == '\0' {
                return Err(InvalidPath::NullCharacter);
            }
            if invalid_char(c) {
                return Err(InvalidPath::InvalidCharacter);
            }
        }
        if component == "." || component == ".." {
            return Err(InvalidPath::Relative);
        }
    }
    Ok(())
}

/// The characters `PathUtils` rejects, in Java's UTF-16 terms.
fn invalid_char(c: char) -> bool {
    let u = u32::from(c);
    (0x01..=0x1f).contains(&u)
        || (0x7f..=0x9f).contains(&u)
        || (0xd800..=0xf8ff).contains(&u)
        || (0xfff0..=0xffff).contains(&u)
        || u > 0xffff
}

/// Validates a path that will receive a sequence suffix
/// (`PathUtils.validatePath(path, true)` checks `path + "1"`), so
/// `/locks/` is a valid sequential prefix.
///
/// # Errors
/// The first rule the suffixed path breaks.
pub fn validate_sequential_prefix(path: &str) -> Result<(), InvalidPath> {
    let mut p = String::with_capacity(path.len() + 1);
    p.push_str(path);
    p.push('1');
    validate(&p)
}

/// The parent of `path` (`"/"` for a top-level node), or `None` for the
/// root and for strings without a slash.
pub fn parent(path: &str) -> Option<&str> {
    let i = path.rfind('/')?;
    if path.len() == 1 {
        return None;
    }
    Some(if i == 0 { "/" } else { &path[..i] })
}

/// The last component of `path` (empty for the root).
pub fn name(path: &str) -> &str {
    path.rfind('/').map_or(path, |i| &path[i + 1..])
}

/// `parent` + `/` + `name`.
pub fn join(parent: &str, name: &str) -> String {
    let mut p = String::with_capacity(parent.len() + 1 + name.len());
    p.push_str(parent);
    if parent != "/" {
        p.push('/');
    }
    p.push_str(name);
    p
}

/// The sequential suffix ZooKeeper appends: the parent's cversion as
/// `%010d` of a signed 32-bit int (so `-000000001` after overflow).
pub fn sequence_suffix(cversion: i32) -> String {
    format!("{cversion:010}")
}

/// Whether `path` is `prefix` or lies below it.
pub fn is_within(path: &str, prefix: &str) -> bool {
    if prefix == "/" {
        return true;
    }
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zookeeper_path_rules() {
        for ok in [
            "/",
            "/a",
            "/a/b",
            "/a.b",
            "/...",
            "/a/.b",
            "/a/..b",
            "/ü",
            "/a b",
            "/\u{fffd}x",
        ] {
            let expect = if ok.contains('\u{fffd}') {
                Err(InvalidPath::InvalidCharacter)
            } else {
                Ok(())
            };
            assert_eq!(validate(ok), expect, "{ok:?}");
        }
        let bad = [
            ("", InvalidPath::Empty),
            ("a", InvalidPath::NotAbsolute),
            ("/a/", InvalidPath::TrailingSlash),
            ("//a", InvalidPath::EmptyNodeName),
            ("/a//b", InvalidPath::EmptyNodeName),
            ("/a/\0", InvalidPath::NullCharacter),
            ("/.", InvalidPath::Relative),
            ("/a/..", InvalidPath::Relative),
            ("/a/./b", InvalidPath::Relative),
            ("/a\u{1}", InvalidPath::InvalidCharacter),
            ("/a\u{85}", InvalidPath::InvalidCharacter),
            ("/a\u{e000}", InvalidPath::InvalidCharacter),
            ("/a\u{1f600}", InvalidPath::InvalidCharacter),
        ];
        for (p, why) in bad {
            assert_eq!(validate(p), Err(why), "{p:?}");
        }
        assert_eq!(validate_sequential_prefix("/locks/"), Ok(()));
        assert_eq!(
            validate_sequential_prefix("/locks//"),
            Err(InvalidPath::EmptyNodeName)
        );
    }

    #[test]
    fn parents_names_and_suffixes() {
        assert_eq!(parent("/"), None);
        assert_eq!(parent("/a"), Some("/"));
        assert_eq!(parent("/a/b"), Some("/a"));
        assert_eq!(name("/a/b"), "b");
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/a", "b"), "/a/b");
        assert_eq!(sequence_suffix(7), "0000000007");
        assert_eq!(sequence_suffix(i32::MIN), "-2147483648");
        assert_eq!(sequence_suffix(-1), "-000000001");
        assert!(is_within("/a/b", "/a") && is_within("/a", "/a") && !is_within("/ab", "/a"));
        assert!(is_within("/x", "/"));
    }
}
