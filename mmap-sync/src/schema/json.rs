//! A description as one line of JSON, in a shape that stays stable across releases, written
//! by the workspace's one JSON writer ([`crate::json`]).

use super::{Nested, OwnedDescription, OwnedField, OwnedShape};
use crate::json::Json;

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
        Json::from(self).to_string()
    }
}

/// The description as a JSON value, in the shape [`OwnedDescription::to_json`] documents, to
/// place inside a larger JSON document (the `mmap-sync` command's `inspect --json`).
impl From<&OwnedDescription> for Json {
    fn from(description: &OwnedDescription) -> Json {
        let mut object = vec![
            ("name", Json::from(description.name.as_str())),
            ("kind", description.shape.kind().into()),
            ("size", description.layout.size.into()),
            ("align", description.layout.align.into()),
        ];
        match &description.shape {
            OwnedShape::Struct(fields) => object.push(("fields", fields_json(fields))),
            OwnedShape::Enum(variants) => object.push((
                "variants",
                Json::Arr(
                    variants
                        .iter()
                        .map(|variant| {
                            Json::Obj(vec![
                                ("name", variant.name.as_str().into()),
                                ("discriminant", variant.discriminant.into()),
                                ("fields", fields_json(&variant.fields)),
                            ])
                        })
                        .collect(),
                ),
            )),
        }
        Json::Obj(object)
    }
}

fn fields_json(fields: &[OwnedField]) -> Json {
    Json::Arr(
        fields
            .iter()
            .map(|field| {
                Json::Obj(vec![
                    ("name", field.name.as_str().into()),
                    ("type", field.ty.as_str().into()),
                    ("offset", field.offset.map_or(Json::Null, Json::from)),
                    ("size", field.layout.size.into()),
                    ("align", field.layout.align.into()),
                    ("nested", Json::Arr(field.nested.iter().map(nested_json).collect())),
                ])
            })
            .collect(),
    )
}

fn nested_json(nested: &Nested) -> Json {
    match nested {
        Nested::Described(description) => Json::from(description),
        Nested::Recursive { name } => {
            Json::Obj(vec![("name", name.as_str().into()), ("kind", "recursive".into())])
        }
        Nested::TooDeep { name } => {
            Json::Obj(vec![("name", name.as_str().into()), ("kind", "too_deep".into())])
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::schema::fixtures::*;

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
