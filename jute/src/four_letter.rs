//! Four-letter words: recognised from the first 4 bytes of a connection,
//! read as the frame length (ZooKeeper `FourLetterCommands.isKnown(len)`).
//! Executing them, and the whitelist, belong to the server.

/// A known four-letter word (ZooKeeper 3.8 `FourLetterCommands`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FourLetterWord {
    /// `conf`: server configuration.
    Conf,
    /// `cons`: connection details.
    Cons,
    /// `crst`: reset connection statistics.
    Crst,
    /// `dirs`: snapshot and log sizes.
    Dirs,
    /// `dump`: sessions and ephemerals (leader).
    Dump,
    /// `envi`: environment.
    Envi,
    /// `gtmk`: get the trace mask.
    Gtmk,
    /// `hash`: tree digests (3.6).
    Hash,
    /// `isro`: read-only mode.
    Isro,
    /// `mntr`: `key\tvalue` monitoring lines.
    Mntr,
    /// `ruok`: `imok` if the process is alive.
    Ruok,
    /// `srst`: reset server statistics.
    Srst,
    /// `srvr`: server summary.
    Srvr,
    /// `stat`: server summary and connections.
    Stat,
    /// `stmk`: set the trace mask; an 8-byte mask follows the word.
    Stmk,
    /// `wchc`: watches by session.
    Wchc,
    /// `wchp`: watches by path.
    Wchp,
    /// `wchs`: watch summary.
    Wchs,
    /// Telnet's interrupt sequence (`0xfff4fffd`): close the connection.
    TelnetClose,
}

const WORDS: [(FourLetterWord, [u8; 4]); 19] = [
    (FourLetterWord::Conf, *b"conf"),
    (FourLetterWord::Cons, *b"cons"),
    (FourLetterWord::Crst, *b"crst"),
    (FourLetterWord::Dirs, *b"dirs"),
    (FourLetterWord::Dump, *b"dump"),
    (FourLetterWord::Envi, *b"envi"),
    (FourLetterWord::Gtmk, *b"gtmk"),
    (FourLetterWord::Hash, *b"hash"),
    (FourLetterWord::Isro, *b"isro"),
    (FourLetterWord::Mntr, *b"mntr"),
    (FourLetterWord::Ruok, *b"ruok"),
    (FourLetterWord::Srst, *b"srst"),
    (FourLetterWord::Srvr, *b"srvr"),
    (FourLetterWord::Stat, *b"stat"),
    (FourLetterWord::Stmk, *b"stmk"),
    (FourLetterWord::Wchc, *b"wchc"),
    (FourLetterWord::Wchp, *b"wchp"),
    (FourLetterWord::Wchs, *b"wchs"),
    (FourLetterWord::TelnetClose, [0xff, 0xf4, 0xff, 0xfd]),
];

impl FourLetterWord {
    /// The word for the first four bytes of a connection, if they are one.
    pub fn from_bytes(bytes: [u8; 4]) -> Option<Self> {
        WORDS.iter().find(|(_, b)| *b == bytes).map(|(w, _)| *w)
    }

    /// The four bytes on the wire.
    pub fn as_bytes(self) -> [u8; 4] {
        WORDS
            .iter()
            .find(|(w, _)| *w == self)
            .map_or([0; 4], |(_, b)| *b)
    }

    /// The word as text (`"telnet close"` for [`FourLetterWord::TelnetClose`]).
    pub fn name(self) -> &'static str {
        match self {
            FourLetterWord::Conf => "conf",
            FourLetterWord::Cons => "cons",
            FourLetterWord::Crst => "crst",
            FourLetterWord::Dirs => "dirs",
            FourLetterWord::Dump => "dump",
            FourLetterWord::Envi => "envi",
            FourLetterWord::Gtmk => "gtmk",
            FourLetterWord::Hash => "hash",
            FourLetterWord::Isro => "isro",
            FourLetterWord::Mntr => "mntr",
            FourLetterWord::Ruok => "ruok",
            FourLetterWord::Srst => "srst",
            FourLetterWord::Srvr => "srvr",
            FourLetterWord::Stat => "stat",
            FourLetterWord::Stmk => "stmk",
            FourLetterWord::Wchc => "wchc",
            FourLetterWord::Wchp => "wchp",
            FourLetterWord::Wchs => "wchs",
            FourLetterWord::TelnetClose => "telnet close",
        }
    }

    /// Every known word.
    pub fn all() -> impl Iterator<Item = FourLetterWord> {
        WORDS.iter().map(|(w, _)| *w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_and_lengths_are_not_words() {
        for w in FourLetterWord::all() {
            assert_eq!(FourLetterWord::from_bytes(w.as_bytes()), Some(w));
        }
        assert_eq!(
            FourLetterWord::from_bytes(*b"ruok"),
            Some(FourLetterWord::Ruok)
        );
        // A ConnectRequest length (45) is not a word.
        assert_eq!(FourLetterWord::from_bytes([0, 0, 0, 45]), None);
        assert_eq!(FourLetterWord::from_bytes(*b"kill"), None);
    }
}
