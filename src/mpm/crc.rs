//! CRC-16/CCITT-FALSE (also catalogued as CRC-16/IBM-3740): polynomial 0x1021, initial value 0xFFFF, no
//! reflection, no final XOR. EMVCo MPM tag 63 carries it over the UTF-8 bytes of the payload up to and including
//! `"6304"` (EMVCo MPM v1.0 §4.7.3).

const POLY: u16 = 0x1021;

const TABLE: [u16; 256] = build_table();

const fn build_table() -> [u16; 256] {
    let mut table = [0u16; 256];
    let mut byte = 0;
    while byte < 256 {
        let mut crc = (byte as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ POLY } else { crc << 1 };
            bit += 1;
        }
        table[byte] = crc;
        byte += 1;
    }
    table
}

/// CRC-16/CCITT-FALSE of `bytes`.
pub fn crc16_ccitt_false(bytes: &[u8]) -> u16 {
    bytes.iter().fold(0xFFFF_u16, |crc, &b| (crc << 8) ^ TABLE[usize::from((crc >> 8) as u8 ^ b)])
}

/// The CRC as EMVCo writes it: 4 uppercase hex digits.
pub fn crc_hex(bytes: &[u8]) -> String {
    format!("{:04X}", crc16_ccitt_false(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Bit-by-bit reference, to check the table.
    fn slow(bytes: &[u8]) -> u16 {
        let mut crc: u16 = 0xFFFF;
        for &b in bytes {
            crc ^= u16::from(b) << 8;
            for _ in 0..8 {
                crc = if crc & 0x8000 != 0 { (crc << 1) ^ POLY } else { crc << 1 };
            }
        }
        crc
    }

    #[test]
    fn catalogue_check_value() {
        assert_eq!(crc16_ccitt_false(b"123456789"), 0x29B1);
        assert_eq!(crc_hex(b"123456789"), "29B1");
    }

    #[test]
    fn empty_input_is_the_initial_value() {
        assert_eq!(crc16_ccitt_false(b""), 0xFFFF);
    }

    #[test]
    fn hex_is_uppercase_and_zero_padded() {
        // Research vector V9 without its CRC.
        let hex = crc_hex(b"00020101021226270012hk.com.hkicl0207999999952040000530334454031235802HK5902NA6002HK6304");
        assert_eq!(hex, "D1A3");
        assert_eq!(format!("{:04X}", 0x007Bu16), "007B");
    }

    proptest! {
        #[test]
        fn table_matches_bitwise(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            prop_assert_eq!(crc16_ccitt_false(&bytes), slow(&bytes));
        }
    }
}
