//! The password ZooKeeper gives a session: derived from its id
//! (`ZooKeeperServer.generatePasswd`: `new Random(id ^ superSecret)`, 16
//! bytes of `nextBytes`). A session imported from ZooKeeper keeps the
//! password its client holds only if Corral derives the same bytes.

/// `ZooKeeperServer.superSecret`.
const SUPER_SECRET: i64 = 0xB341_5C00;
/// `java.util.Random`'s LCG.
const MULTIPLIER: u64 = 0x5_DEEC_E66D;
const ADDEND: u64 = 0xB;
const MASK: u64 = (1 << 48) - 1;

/// The 16-byte password ZooKeeper derives for session `id`.
pub fn zookeeper_password(id: i64) -> [u8; 16] {
    // new Random(seed): scrambled with the multiplier, 48 bits kept.
    let mut seed = ((id ^ SUPER_SECRET) as u64 ^ MULTIPLIER) & MASK;
    let mut next_int = || {
        seed = seed.wrapping_mul(MULTIPLIER).wrapping_add(ADDEND) & MASK;
        // next(32): the top 32 of the 48 bits, as an int.
        (seed >> 16) as u32
    };
    // nextBytes: each int fills up to four bytes, low byte first.
    let mut out = [0u8; 16];
    for chunk in out.chunks_mut(4) {
        let mut r = next_int();
        for b in chunk {
            *b = r as u8;
            r >>= 8;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `new Random(42).nextInt()` is -1170105035 in every JVM (the
    /// sequence is specified by `java.util.Random`'s contract); with
    /// `superSecret` folded in, `42 ^ 0xB3415C00` seeds the same LCG.
    #[test]
    fn follows_java_util_random() {
        let id = 42 ^ SUPER_SECRET;
        let p = zookeeper_password(id);
        assert_eq!(i32::from_le_bytes([p[0], p[1], p[2], p[3]]), -1_170_105_035);
        // new Random(42).nextInt() twice: -1170105035, 234785527.
        assert_eq!(i32::from_le_bytes([p[4], p[5], p[6], p[7]]), 234_785_527);
        // The bytes a JVM gives: `new Random(0x0100000012340001L ^
        // 0xB3415C00L).nextBytes(new byte[16])`.
        let p = zookeeper_password(0x0100_0000_1234_0001);
        let hex: String = p.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "81f5788803c4b75bf14200dfb83728d5");
    }
}
