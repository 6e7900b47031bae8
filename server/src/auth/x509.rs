//! The `x509` scheme (`X509AuthenticationProvider`): a TLS client's
//! certificate is its id. ZooKeeper takes the subject's distinguished
//! name as Java's `X500Principal.getName()` prints it (RFC 2253: the
//! RDNs last first, `,` between them, the RFC 2253 keywords, other
//! attributes as `<oid>=#<DER hex>`), so an ACL written for ZooKeeper,
//! `x509:CN=app,O=Example`, names the same client on Corral.

use x509_parser::prelude::{FromDer, X509Certificate, X509Name};

/// The ids a client with the DER certificate `der` has
/// (`X509AuthenticationProvider.handleAuthentication`): `super` (named by
/// its DN) when the DN is `X509AuthenticationProvider.superUser`, then
/// `x509:<DN>`; `None` if the certificate does not parse.
pub(crate) fn ids(config: &crate::Config, der: &[u8]) -> Option<Vec<jute::Id>> {
    let dn = subject_dn(der)?;
    let mut ids = Vec::with_capacity(2);
    if config.auth.x509_super_user.as_deref() == Some(dn.as_str()) {
        ids.push(jute::Id::new("super", dn.clone()));
    }
    ids.push(jute::Id::new("x509", dn));
    Some(ids)
}

/// The subject DN of the DER certificate `der`, as Java's
/// `X500Principal.getName()` gives it; `None` if it does not parse.
pub(crate) fn subject_dn(der: &[u8]) -> Option<String> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    Some(rfc2253(cert.subject()))
}

/// `name` in Java's RFC 2253 form (`X500Name.toRFC2253String`): the RDNs
/// in reverse order joined by `,`, the values of a multi-valued RDN by
/// `+`.
fn rfc2253(name: &X509Name<'_>) -> String {
    let rdns: Vec<String> = name
        .iter()
        .map(|rdn| {
            rdn.iter()
                .map(|ava| {
                    let oid = ava.attr_type().to_id_string();
                    let value = ava.attr_value();
                    match keyword(&oid) {
                        Some(k) => match string_value(value) {
                            Some(s) => format!("{k}={}", escape(&s)),
                            None => format!("{k}=#{}", hex::encode(der_tlv(value))),
                        },
                        None => format!("{oid}=#{}", hex::encode(der_tlv(value))),
                    }
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    rdns.into_iter().rev().collect::<Vec<_>>().join(",")
}

/// The RFC 2253 keyword Java prints for an attribute (`AVAKeyword`'s
/// table, the entries marked RFC 2253 compliant); others print as OIDs.
fn keyword(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.9" => "STREET",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        _ => return None,
    })
}

/// The text of a value of one of the string types Java prints as text
/// (`AVA.isDerString`, not canonical): Printable, T61, IA5, General,
/// BMP and UTF8 strings. Others print as hex.
fn string_value(v: &x509_parser::der_parser::asn1_rs::Any<'_>) -> Option<String> {
    use x509_parser::der_parser::asn1_rs::Class;
    if v.header.class() != Class::Universal || v.header.is_constructed() {
        return None;
    }
    match v.header.tag().0 {
        // UTF8String
        12 => std::str::from_utf8(v.data).ok().map(str::to_owned),
        // PrintableString, IA5String: ASCII; T61String, GeneralString:
        // one byte per character, as Java reads them.
        19 | 22 | 20 | 27 => Some(v.data.iter().map(|&b| char::from(b)).collect()),
        // BMPString: UTF-16, big-endian.
        30 => {
            let units: Vec<u16> = v
                .data
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                .collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

/// A value escaped as `AVA.toRFC2253String` does: `,=+<>#;"\` behind a
/// backslash, NUL as `\00`, and leading and trailing spaces (and CRs)
/// escaped.
fn escape(s: &str) -> String {
    const ESCAPEES: &str = ",=+<>#;\"\\";
    let mut chars: Vec<char> = Vec::with_capacity(s.len());
    for c in s.chars() {
        if ESCAPEES.contains(c) {
            chars.push('\\');
            chars.push(c);
        } else if c == '\0' {
            chars.extend(['\\', '0', '0']);
        } else {
            chars.push(c);
        }
    }
    let blank = |c: &char| *c == ' ' || *c == '\r';
    let lead = chars.iter().take_while(|c| blank(c)).count();
    let trail = chars.iter().rev().take_while(|c| blank(c)).count();
    let mut out = String::with_capacity(chars.len() + 4);
    let n = chars.len();
    for (i, c) in chars.into_iter().enumerate() {
        if i < lead || i >= n - trail {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The DER encoding (tag, length, contents) of `v`, which Java prints in
/// hex for attributes without a keyword.
fn der_tlv(v: &x509_parser::der_parser::asn1_rs::Any<'_>) -> Vec<u8> {
    use x509_parser::der_parser::asn1_rs::Class;
    let class: u8 = match v.header.class() {
        Class::Universal => 0x00,
        Class::Application => 0x40,
        Class::ContextSpecific => 0x80,
        Class::Private => 0xc0,
    };
    let constructed = if v.header.is_constructed() { 0x20 } else { 0 };
    let tag = v.header.tag().0;
    let mut out = Vec::with_capacity(v.data.len() + 8);
    if tag < 31 {
        out.push(class | constructed | tag as u8);
    } else {
        out.push(class | constructed | 0x1f);
        let mut groups = Vec::new();
        let mut t = tag;
        loop {
            groups.push((t & 0x7f) as u8);
            t >>= 7;
            if t == 0 {
                break;
            }
        }
        for (i, g) in groups.iter().rev().enumerate() {
            out.push(if i + 1 < groups.len() { g | 0x80 } else { *g });
        }
    }
    let len = v.data.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(v.data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_as_java_does() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape("a,b=c+d"), "a\\,b\\=c\\+d");
        assert_eq!(escape("#x"), "\\#x");
        assert_eq!(escape(" lead and trail "), "\\ lead and trail\\ ");
        assert_eq!(escape("q\"b\\"), "q\\\"b\\\\");
        assert_eq!(escape("é*@_"), "é*@_");
    }
}
