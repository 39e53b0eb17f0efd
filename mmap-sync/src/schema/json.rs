//! A description as one line of JSON, in a shape that stays stable across releases.

use std::fmt::Write as _;

use super::{Nested, OwnedDescription, OwnedField, OwnedShape, is_escaped};

impl OwnedDescription {
    /// The description as one line of JSON, in a shape that stays stable across releases
    /// (new keys may be added):
    ///
    /// ```text
    /// description: {"name": str, "kind": "struct", "size": n, "align": n, "fields": [field]}
    ///            | {"name": str, "kind": "enum", "size": n, "align": n, "variants": [variant]}
    /// variant:     {"name": str, "discriminant": n, "fields": [field]}
    /// field:       {"name": str, "type": str, "offset": n | null, "size": n, "align": n,
    ///               "nested": [description | {"name": str, "kind": "recursive" | "too_deep"}]}
    /// ```
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        json_description(self, &mut out);
        out
    }
}

fn json_description(description: &OwnedDescription, out: &mut String) {
    out.push_str("{\"name\":");
    json_str(&description.name, out);
    let _ = write!(
        out,
        ",\"kind\":\"{}\",\"size\":{},\"align\":{}",
        description.shape.kind(),
        description.layout.size,
        description.layout.align
    );
    match &description.shape {
        OwnedShape::Struct(fields) => {
            out.push_str(",\"fields\":");
            json_fields(fields, out);
        }
        OwnedShape::Enum(variants) => {
            out.push_str(",\"variants\":[");
            for (i, variant) in variants.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"name\":");
                json_str(&variant.name, out);
                let _ = write!(out, ",\"discriminant\":{},\"fields\":", variant.discriminant);
                json_fields(&variant.fields, out);
                out.push('}');
            }
            out.push(']');
        }
    }
    out.push('}');
}

fn json_fields(fields: &[OwnedField], out: &mut String) {
    out.push('[');
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"name\":");
        json_str(&field.name, out);
        out.push_str(",\"type\":");
        json_str(&field.ty, out);
        match field.offset {
            Some(offset) => {
                let _ = write!(out, ",\"offset\":{offset}");
            }
            None => out.push_str(",\"offset\":null"),
        }
        let _ = write!(
            out,
            ",\"size\":{},\"align\":{},\"nested\":[",
            field.layout.size, field.layout.align
        );
        for (j, nested) in field.nested.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            match nested {
                Nested::Described(description) => json_description(description, out),
                Nested::Recursive { name } | Nested::TooDeep { name } => {
                    out.push_str("{\"name\":");
                    json_str(name, out);
                    let kind = if matches!(nested, Nested::Recursive { .. }) {
                        "recursive"
                    } else {
                        "too_deep"
                    };
                    let _ = write!(out, ",\"kind\":\"{kind}\"}}");
                }
            }
        }
        out.push_str("]}");
    }
    out.push(']');
}

/// `text` as a JSON string: quotes, backslashes and what [`is_escaped`] names (control
/// characters, bidirectional formatting characters) escaped, everything else (valid UTF-8
/// already) as is.
fn json_str(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_escaped(c) => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::fixtures::*;

    #[test]
    fn json_escapes_quotes_backslashes_and_control_characters() {
        let mut out = String::new();
        json_str("a\"b\\c\nd\re\tf\u{1}g\u{1f}h\u{7f}i\u{9b}j\u{202e}é", &mut out);
        assert_eq!(out, r#""a\"b\\c\nd\re\tf\u0001g\u001fh\u007fi\u009bj\u202eé""#);
    }

    #[test]
    fn json_has_the_documented_shape() {
        assert_eq!(
            hello_world().to_json(),
            "{\"name\":\"HelloWorld\",\"kind\":\"struct\",\"size\":12,\"align\":4,\"fields\":[\
             {\"name\":\"version\",\"type\":\"u32\",\"offset\":0,\"size\":4,\"align\":4,\"nested\":[]},\
             {\"name\":\"messages\",\"type\":\"Vec<String>\",\"offset\":4,\"size\":8,\"align\":8,\"nested\":[]}]}"
        );
        let json = everything().to_json();
        assert!(json.contains("{\"name\":\"Tree\",\"kind\":\"recursive\"}"), "{json}");
        assert!(json.contains("{\"name\":\"Deep\",\"kind\":\"too_deep\"}"), "{json}");
        assert!(json.contains("\"offset\":null"), "{json}");
        assert!(
            json.contains(
                "\"variants\":[{\"name\":\"RoundRobin\",\"discriminant\":0,\"fields\":[]}"
            ),
            "{json}"
        );
    }
}
