//! Reading typed values out of a message and writing them back, naming the field in every error.

use super::*;

/// Reads typed values out of a message, naming the field in every error.
pub(super) struct Fields<'a>(pub(super) &'a Params);

impl Fields<'_> {
    /// The trimmed value; blank counts as absent.
    pub(super) fn opt(&self, name: &str) -> Option<String> {
        self.0.get(name).map(|v| sdk_trim(v)).filter(|v| !v.is_empty()).map(str::to_owned)
    }

    pub(super) fn req(&self, name: &str) -> Result<String, WireError> {
        self.opt(name).ok_or_else(|| WireError::MissingField(name.to_owned()))
    }

    pub(super) fn parse_opt<T>(
        &self,
        name: &str,
        parse: impl FnOnce(&str) -> Option<T>,
        expected: impl FnOnce() -> String,
    ) -> Result<Option<T>, WireError> {
        match self.opt(name) {
            None => Ok(None),
            Some(value) => match parse(&value) {
                Some(parsed) => Ok(Some(parsed)),
                None => Err(WireError::BadField { field: name.to_owned(), value, expected: expected() }),
            },
        }
    }

    pub(super) fn parse_req<T>(
        &self,
        name: &str,
        parse: impl FnOnce(&str) -> Option<T>,
        expected: impl FnOnce() -> String,
    ) -> Result<T, WireError> {
        self.parse_opt(name, parse, expected)?.ok_or_else(|| WireError::MissingField(name.to_owned()))
    }

    pub(super) fn fen_opt(&self, name: &str) -> Result<Option<Amount>, WireError> {
        self.parse_opt(name, parse_fen, || "an amount in fen (a whole number like 888 for 8.88)".into())
    }

    pub(super) fn fen(&self, name: &str) -> Result<Amount, WireError> {
        self.fen_opt(name)?.ok_or_else(|| WireError::MissingField(name.to_owned()))
    }

    pub(super) fn count_opt(&self, name: &str) -> Result<Option<u32>, WireError> {
        self.parse_opt(name, parse_count, || "a count (a whole number)".into())
    }

    pub(super) fn time_opt(&self, name: &str) -> Result<Option<String>, WireError> {
        self.parse_opt(
            name,
            |v| (v.len() == 14 && v.bytes().all(|b| b.is_ascii_digit())).then(|| v.to_owned()),
            || "a time like 20141030133525 (yyyyMMddHHmmss)".into(),
        )
    }

    pub(super) fn time(&self, name: &str) -> Result<String, WireError> {
        self.time_opt(name)?.ok_or_else(|| WireError::MissingField(name.to_owned()))
    }

    pub(super) fn yes_no_opt(&self, name: &str) -> Result<Option<bool>, WireError> {
        self.parse_opt(
            name,
            |v| match v {
                "Y" => Some(true),
                "N" => Some(false),
                _ => None,
            },
            || "Y or N".into(),
        )
    }
}

pub(super) fn parse_fen(text: &str) -> Option<Amount> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<i64>().ok().map(Amount::from_fen)
}

pub(super) fn parse_count(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Builds a message, dropping absent values.
#[derive(Default)]
pub(super) struct Out(pub(super) Params);

impl Out {
    pub(super) fn put(&mut self, name: &str, value: impl Into<String>) {
        self.0.insert(name.to_owned(), value.into());
    }

    pub(super) fn opt(&mut self, name: &str, value: Option<&String>) {
        if let Some(v) = value {
            self.put(name, v.as_str());
        }
    }

    pub(super) fn fen(&mut self, name: &str, value: Amount) {
        self.put(name, value.fen().to_string());
    }

    pub(super) fn fen_opt(&mut self, name: &str, value: Option<Amount>) {
        if let Some(v) = value {
            self.fen(name, v);
        }
    }

    pub(super) fn count_opt(&mut self, name: &str, value: Option<u32>) {
        if let Some(v) = value {
            self.put(name, v.to_string());
        }
    }
}
