//! The flat `<xml>` codec: writing and reading WeChat Pay v2 messages, with the XXE guards.

use super::*;

/// Writes `<xml>` with one element per field, keys in ASCII order and `sign` last. Digit-only values are written
/// bare, all others in CDATA (a `]]>` inside a value is split across two CDATA sections).
///
/// Keys must be XML names; they are the protocol's own field names (`[a-z_0-9]`), never user text.
pub fn to_xml(params: &Params) -> String {
    let mut out = String::with_capacity(16 + params.iter().map(|(k, v)| 2 * k.len() + v.len() + 17).sum::<usize>());
    out.push_str("<xml>");
    for (key, value) in params.iter().filter(|(k, _)| k.as_str() != SIGN_FIELD) {
        write_element(&mut out, key, value);
    }
    if let Some(sign) = params.get(SIGN_FIELD) {
        write_element(&mut out, SIGN_FIELD, sign);
    }
    out.push_str("</xml>");
    out
}

pub(super) fn write_element(out: &mut String, key: &str, value: &str) {
    debug_assert!(is_xml_name(key), "field name {key:?} is not an XML name");
    out.push('<');
    out.push_str(key);
    out.push('>');
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        out.push_str(value);
    } else {
        out.push_str("<![CDATA[");
        out.push_str(&value.replace("]]>", "]]]]><![CDATA[>"));
        out.push_str("]]>");
    }
    out.push_str("</");
    out.push_str(key);
    out.push('>');
}

pub(super) fn is_xml_name(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Where the parser is in the document.
pub(super) enum Place {
    BeforeRoot,
    InRoot,
    InField { name: String, value: String },
    AfterRoot,
}

/// Reads a flat `<xml><field>value</field>…</xml>` document: CDATA and plain text both accepted, a leading BOM
/// tolerated. Refuses DOCTYPE and entities other than the five predefined ones and character references (XXE),
/// nested elements, repeated fields and any root other than `<xml>`. Values are kept as sent (not trimmed).
pub fn from_xml(text: &str) -> Result<Params, WireError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(WireError::Empty);
    }
    let mut reader = Reader::from_str(text);
    let mut fields = Params::new();
    let mut place = Place::BeforeRoot;
    loop {
        let event =
            reader.read_event().map_err(|source| WireError::Xml { position: reader.error_position(), source })?;
        match event {
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::DocType(_) => return Err(WireError::DocType),
            Event::Start(start) => {
                let name = start.name().as_ref().to_owned();
                place = match place {
                    Place::BeforeRoot if name == "xml" => Place::InRoot,
                    Place::BeforeRoot => return Err(WireError::Root(name)),
                    Place::InRoot => Place::InField { name, value: String::new() },
                    Place::InField { name: field, .. } => return Err(WireError::Nested { field, child: name }),
                    Place::AfterRoot => return Err(WireError::TrailingContent),
                };
            }
            Event::Empty(empty) => {
                let name = empty.name().as_ref().to_owned();
                place = match place {
                    Place::BeforeRoot if name == "xml" => Place::AfterRoot,
                    Place::BeforeRoot => return Err(WireError::Root(name)),
                    Place::InRoot => {
                        insert_field(&mut fields, name, String::new())?;
                        Place::InRoot
                    }
                    Place::InField { name: field, .. } => return Err(WireError::Nested { field, child: name }),
                    Place::AfterRoot => return Err(WireError::TrailingContent),
                };
            }
            Event::End(_) => {
                place = match place {
                    Place::InField { name, value } => {
                        insert_field(&mut fields, name, value)?;
                        Place::InRoot
                    }
                    Place::InRoot => Place::AfterRoot,
                    // quick-xml reports unmatched end tags itself; anything else is content out of place.
                    Place::BeforeRoot | Place::AfterRoot => return Err(WireError::TrailingContent),
                };
            }
            Event::Text(t) => match &mut place {
                Place::InField { value, .. } => value.push_str(&t.xml10_content()),
                _ if t.trim().is_empty() => {}
                Place::AfterRoot => return Err(WireError::TrailingContent),
                _ => return Err(WireError::StrayText(t.trim().to_owned())),
            },
            Event::CData(c) => match &mut place {
                Place::InField { value, .. } => value.push_str(&c.xml10_content()),
                Place::AfterRoot => return Err(WireError::TrailingContent),
                _ => return Err(WireError::StrayText(c.into_inner().into_owned())),
            },
            Event::GeneralRef(r) => {
                let resolved = if r.is_char_ref() {
                    r.resolve_char_ref().ok().flatten().map(String::from)
                } else {
                    quick_xml::escape::resolve_xml_entity(&r).map(String::from)
                };
                let Some(resolved) = resolved else {
                    return Err(WireError::Entity(r.into_inner().into_owned()));
                };
                match &mut place {
                    Place::InField { value, .. } => value.push_str(&resolved),
                    Place::AfterRoot => return Err(WireError::TrailingContent),
                    _ => return Err(WireError::StrayText(resolved)),
                }
            }
            Event::Eof => break,
        }
    }
    match place {
        Place::AfterRoot => Ok(fields),
        Place::BeforeRoot => Err(WireError::Empty),
        Place::InRoot | Place::InField { .. } => Err(WireError::Truncated),
    }
}

pub(super) fn insert_field(fields: &mut Params, name: String, value: String) -> Result<(), WireError> {
    if fields.contains_key(&name) {
        return Err(WireError::DuplicateField(name));
    }
    fields.insert(name, value);
    Ok(())
}
