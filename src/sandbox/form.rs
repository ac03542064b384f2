//! `application/x-www-form-urlencoded` parameters in the request's own charset.
//!
//! Alipay's gateway takes `charset=utf-8`, `gbk` or `gb2312`: the percent-escapes are bytes in that charset, so
//! the pairs are percent-decoded to bytes first and only then decoded as text.

use std::collections::BTreeMap;

/// The charsets the Alipay gateway accepts (`gb2312` is read as GBK, its superset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    Utf8,
    Gbk,
}

impl Charset {
    /// `utf-8`, `gbk`, `gb2312` in any case; anything else is None.
    pub fn parse(label: &str) -> Option<Charset> {
        match label.trim().to_ascii_lowercase().as_str() {
            "utf-8" => Some(Charset::Utf8),
            "gbk" | "gb2312" => Some(Charset::Gbk),
            _ => None,
        }
    }

    pub fn decode(self, bytes: &[u8]) -> String {
        match self {
            Charset::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
            Charset::Gbk => encoding_rs::GBK.decode_without_bom_handling(bytes).0.into_owned(),
        }
    }

    pub fn encode(self, text: &str) -> Vec<u8> {
        match self {
            Charset::Utf8 => text.as_bytes().to_vec(),
            Charset::Gbk => encoding_rs::GBK.encode(text).0.into_owned(),
        }
    }
}

/// Splits a query string or form body into percent-decoded byte pairs, as `form_urlencoded` does (empty segments
/// skipped, `+` is a space, a pair without `=` has an empty value).
pub fn raw_pairs(input: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    input
        .split(|b| *b == b'&')
        .filter(|seg| !seg.is_empty())
        .map(|seg| match seg.iter().position(|b| *b == b'=') {
            Some(eq) => (percent_decode(&seg[..eq]), percent_decode(&seg[eq + 1..])),
            None => (percent_decode(seg), Vec::new()),
        })
        .collect()
}

fn percent_decode(input: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < input.len() => match (hex(input[i + 1]), hex(input[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// The parameters of a request: query string and form body merged (the body wins), decoded in the charset the
/// request names. Returns the parameters and that charset (None: a charset the gateway does not accept, read as
/// UTF-8 so the refusal can say so).
pub fn decode_params(query: Option<&str>, body: &[u8]) -> (BTreeMap<String, String>, Option<Charset>) {
    let mut pairs = query.map(|q| raw_pairs(q.as_bytes())).unwrap_or_default();
    pairs.extend(raw_pairs(body));
    let label = pairs.iter().rev().find(|(k, _)| k == b"charset").map(|(_, v)| String::from_utf8_lossy(v).into_owned());
    let charset = match label.as_deref() {
        None | Some("") => Some(Charset::Utf8),
        Some(l) => Charset::parse(l),
    };
    let reading = charset.unwrap_or(Charset::Utf8);
    let params = pairs.into_iter().map(|(k, v)| (reading.decode(&k), reading.decode(&v))).collect();
    (params, charset)
}

/// Percent-encodes bytes for a form body (everything but unreserved characters), e.g. GBK-encoded values.
#[cfg(test)]
pub fn percent_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'*') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn gbk_forms_decode_in_their_charset() {
        let subject = Charset::Gbk.encode("拿铁咖啡");
        let body = format!("charset=GBK&subject={}&a=1+2&b", percent_encode(&subject));
        let (params, charset) = decode_params(Some("method=alipay.trade.pay"), body.as_bytes());
        assert_eq!(charset, Some(Charset::Gbk));
        assert_eq!(params["subject"], "拿铁咖啡");
        assert_eq!(params["a"], "1 2");
        assert_eq!(params["b"], "");
        assert_eq!(params["method"], "alipay.trade.pay");
        let (_, charset) = decode_params(None, b"charset=latin1");
        assert_eq!(charset, None);
        let (params, charset) = decode_params(None, b"x=%E4%BD%A0&bad=%Z1%");
        assert_eq!((charset, params["x"].as_str(), params["bad"].as_str()), (Some(Charset::Utf8), "你", "%Z1%"));
    }

    proptest! {
        #[test]
        fn utf8_values_round_trip(key in "[a-z_]{1,12}", value in "\\PC{0,40}") {
            let body = format!("{}={}", percent_encode(key.as_bytes()), percent_encode(value.as_bytes()));
            let (params, _) = decode_params(None, body.as_bytes());
            prop_assert_eq!(params.get(&key), Some(&value));
        }

        #[test]
        fn gbk_values_round_trip(value in "[a-zA-Z0-9 拿铁咖啡张三面馆上海南京路店]{0,30}") {
            let body = format!("charset=gbk&v={}", percent_encode(&Charset::Gbk.encode(&value)));
            let (params, _) = decode_params(None, body.as_bytes());
            prop_assert_eq!(params.get("v"), Some(&value));
        }

        #[test]
        fn any_bytes_decode_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_params(None, &bytes);
        }
    }
}
