//! Object ids: random UUID v4 strings, as mediasoup uses.

use rand::RngCore;

/// A new random UUID v4 in its canonical lowercase form (one allocation: the string).
pub(crate) fn new_uuid() -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut out = [0u8; 36];
    let mut i = 0;
    for (n, x) in b.iter().enumerate() {
        if matches!(n, 4 | 6 | 8 | 10) {
            out[i] = b'-';
            i += 1;
        }
        out[i] = HEX[usize::from(x >> 4)];
        out[i + 1] = HEX[usize::from(x & 0x0f)];
        i += 2;
    }
    // ASCII hex digits and dashes only.
    String::from_utf8(out.to_vec()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn uuid_has_version_and_variant_bits() {
        let id = super::new_uuid();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
        assert_ne!(super::new_uuid(), id);
        let dashes: Vec<usize> = id.char_indices().filter(|c| c.1 == '-').map(|c| c.0).collect();
        assert_eq!(dashes, [8, 13, 18, 23], "{id}");
        assert!(id.chars().all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{id}");
    }
}
