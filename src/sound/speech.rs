//! What the till says: an amount read aloud the way a 收款音箱 reads it, as a list of bundled clips.
//!
//! The rules are the Dspread ZS10 speaker firmware's (`numplay.c`), see wave2-protocols.md §7: digits 零一二三四五六七八九
//! (二, never 两); groups 亿 / 万 / 千百十; 一十 → 十 only at the very start; one 零 for each run of zeros between
//! non-zero digits, none at the end; decimals 点 + tenths (also 零) + hundredths when not 0; `.00` dropped; then 元.

use crate::money::Amount;

/// One bundled recording (assets/sound/, made by scripts/make-sound-clips.sh).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Clip {
    /// 零 … 九.
    Digit(u8),
    Shi,
    Bai,
    Qian,
    Wan,
    Yi,
    Dian,
    Yuan,
    /// 支付宝到账
    AlipayReceived,
    /// 微信收款
    WechatReceived,
    /// Alipay+ 到账
    AlipayPlusReceived,
    /// The rising two-note chime of a payment.
    Chime,
    /// The low double beep of a failure.
    Fail,
}

const DIGITS: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];

impl Clip {
    /// What the clip says (tests and logs).
    pub fn text(self) -> &'static str {
        match self {
            Clip::Digit(d) => DIGITS.get(usize::from(d)).copied().unwrap_or("?"),
            Clip::Shi => "十",
            Clip::Bai => "百",
            Clip::Qian => "千",
            Clip::Wan => "万",
            Clip::Yi => "亿",
            Clip::Dian => "点",
            Clip::Yuan => "元",
            Clip::AlipayReceived => "支付宝到账",
            Clip::WechatReceived => "微信收款",
            Clip::AlipayPlusReceived => "Alipay+到账",
            Clip::Chime => "♪",
            Clip::Fail => "✗",
        }
    }

    /// The clip's WAV file (16 kHz, mono, 16-bit PCM).
    pub fn wav(self) -> &'static [u8] {
        macro_rules! clip {
            ($name:literal) => {
                include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sound/", $name, ".wav")).as_slice()
            };
        }
        match self {
            Clip::Digit(0) => clip!("d0"),
            Clip::Digit(1) => clip!("d1"),
            Clip::Digit(2) => clip!("d2"),
            Clip::Digit(3) => clip!("d3"),
            Clip::Digit(4) => clip!("d4"),
            Clip::Digit(5) => clip!("d5"),
            Clip::Digit(6) => clip!("d6"),
            Clip::Digit(7) => clip!("d7"),
            Clip::Digit(8) => clip!("d8"),
            Clip::Digit(_) => clip!("d9"),
            Clip::Shi => clip!("shi"),
            Clip::Bai => clip!("bai"),
            Clip::Qian => clip!("qian"),
            Clip::Wan => clip!("wan"),
            Clip::Yi => clip!("yi"),
            Clip::Dian => clip!("dian"),
            Clip::Yuan => clip!("yuan"),
            Clip::AlipayReceived => clip!("alipay"),
            Clip::WechatReceived => clip!("wechat"),
            Clip::AlipayPlusReceived => clip!("alipayplus"),
            Clip::Chime => clip!("chime"),
            Clip::Fail => clip!("fail"),
        }
    }
}

/// Whose wallet took a payment, for the phrase before the amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Announced {
    Alipay,
    WechatPay,
    AlipayPlus,
}

/// The announcement of a received payment: "支付宝到账 十二点三四 元".
pub fn announcement(wallet: Announced, amount: Amount) -> Vec<Clip> {
    let phrase = match wallet {
        Announced::Alipay => Clip::AlipayReceived,
        Announced::WechatPay => Clip::WechatReceived,
        Announced::AlipayPlus => Clip::AlipayPlusReceived,
    };
    let mut clips = vec![phrase];
    clips.extend(amount_clips(amount));
    clips
}

/// An amount read aloud, ending in 元 (a negative amount is read as its size).
pub fn amount_clips(amount: Amount) -> Vec<Clip> {
    let fen = amount.fen().unsigned_abs();
    let (yuan, cents) = (fen / 100, fen % 100);
    let mut clips = integer_clips(yuan);
    if cents != 0 {
        clips.push(Clip::Dian);
        clips.push(Clip::Digit((cents / 10) as u8));
        if cents % 10 != 0 {
            clips.push(Clip::Digit((cents % 10) as u8));
        }
    }
    clips.push(Clip::Yuan);
    clips
}

/// A whole number read aloud: groups of four digits under 亿 and 万.
fn integer_clips(n: u64) -> Vec<Clip> {
    if n == 0 {
        return vec![Clip::Digit(0)];
    }
    let mut out = Vec::new();
    let mut started = false;
    let mut zero_pending = false;
    let yi = n / 100_000_000;
    if yi >= 10_000 {
        // More than 9999 亿: read the 亿 count as a number of its own.
        out.extend(integer_clips(yi));
        out.push(Clip::Yi);
        started = true;
    }
    let groups = [
        (if yi >= 10_000 { 0 } else { yi }, Some(Clip::Yi)),
        ((n / 10_000) % 10_000, Some(Clip::Wan)),
        (n % 10_000, None),
    ];
    for (value, unit) in groups {
        if value == 0 {
            zero_pending |= started;
            continue;
        }
        for (pos, place) in [(3, Some(Clip::Qian)), (2, Some(Clip::Bai)), (1, Some(Clip::Shi)), (0, None)] {
            let digit = (value / 10u64.pow(pos)) % 10;
            if digit == 0 {
                zero_pending |= started;
                continue;
            }
            if zero_pending {
                out.push(Clip::Digit(0));
                zero_pending = false;
            }
            // 一十 → 十 only at the very start (10 → 十, 110000 → 十一万, but 1010 → 一千零一十).
            if !(digit == 1 && pos == 1 && !started) {
                out.push(Clip::Digit(digit as u8));
            }
            out.extend(place);
            started = true;
        }
        out.extend(unit);
    }
    out
}

/// The words a list of clips says, joined ("支付宝到账十二点三四元").
pub fn spoken(clips: &[Clip]) -> String {
    clips.iter().map(|c| c.text()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn say(text: &str) -> String {
        spoken(&amount_clips(Amount::parse(text).unwrap()))
    }

    #[test]
    fn amounts_are_read_as_the_speaker_reads_them() {
        for (amount, words) in [
            ("0.01", "零点零一元"),
            ("0.10", "零点一元"),
            ("1", "一元"),
            ("2", "二元"),
            ("10", "十元"),
            ("12.34", "十二点三四元"),
            ("12.05", "十二点零五元"),
            ("12.30", "十二点三元"),
            ("100.05", "一百点零五元"),
            ("105", "一百零五元"),
            ("1000", "一千元"),
            ("1010", "一千零一十元"),
            ("10000.50", "一万点五元"),
            ("10010", "一万零一十元"),
            ("20000.02", "二万点零二元"),
            ("110000", "十一万元"),
            ("1100000", "一百一十万元"),
            ("1100500", "一百一十万零五百元"),
            ("123456.78", "十二万三千四百五十六点七八元"),
            ("100000000", "一亿元"),
            ("100000001", "一亿零一元"),
            ("0", "零元"),
        ] {
            assert_eq!(say(amount), words, "{amount}");
        }
    }

    #[test]
    fn each_wallet_has_its_phrase_before_the_amount() {
        let amount = Amount::parse("12.34").unwrap();
        assert_eq!(spoken(&announcement(Announced::Alipay, amount)), "支付宝到账十二点三四元");
        assert_eq!(spoken(&announcement(Announced::WechatPay, amount)), "微信收款十二点三四元");
        assert_eq!(spoken(&announcement(Announced::AlipayPlus, amount)), "Alipay+到账十二点三四元");
        assert_eq!(announcement(Announced::Alipay, amount).first(), Some(&Clip::AlipayReceived));
    }

    #[test]
    fn every_clip_is_a_readable_wav_of_the_same_format() {
        let mut clips: Vec<Clip> = (0..10).map(Clip::Digit).collect();
        clips.extend([
            Clip::Shi,
            Clip::Bai,
            Clip::Qian,
            Clip::Wan,
            Clip::Yi,
            Clip::Dian,
            Clip::Yuan,
            Clip::AlipayReceived,
            Clip::WechatReceived,
            Clip::AlipayPlusReceived,
            Clip::Chime,
            Clip::Fail,
        ]);
        let mut seen = std::collections::HashSet::new();
        for clip in clips {
            let pcm = super::super::wav::Pcm::read(clip.wav()).unwrap();
            assert_eq!((pcm.sample_rate, pcm.channels), (16_000, 1), "{clip:?}");
            assert!(!pcm.data.is_empty(), "{clip:?}");
            assert!(seen.insert(clip.wav().as_ptr()), "{clip:?} has a recording of its own");
        }
    }
}
