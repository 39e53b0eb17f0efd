//! Parts of the JSON shapes that more than one command prints: times, and the header's
//! fields that `inspect` and `verify` share.

use mmap_sync::inspect::Header;
use mmap_sync::json::Json;

use crate::text;

/// A unix time in nanoseconds as an RFC 3339 string, or `null` when unknown (0).
pub fn ts(unix_nanos: u64) -> Json {
    Json::opt_str(text::timestamp(unix_nanos))
}

/// The header's fields, in the order both shapes list them.
pub fn header_json(h: &Header) -> Vec<(&'static str, Json)> {
    vec![
        ("format_version", h.format_version.into()),
        ("type_name", h.type_name.clone().into()),
        ("fingerprint", text::hex(h.fingerprint).into()),
        ("fingerprint_source", fingerprint_source(h).into()),
        ("layout_fingerprint", text::hex(h.layout_fingerprint).into()),
        ("copies", h.copies.into()),
        ("reader_slots", h.reader_slots.into()),
        ("max_size", h.max_size.into()),
    ]
}

fn fingerprint_source(header: &Header) -> &'static str {
    if header.derived_fingerprint { "derive" } else { "layout" }
}
