//! A structure as one line of JSON, in a shape that stays stable across releases, written by the
//! workspace's one JSON writer ([`crate::json`]).

use super::shape::Style;
use super::structure::{Body, Fields, Shape, Structure};
use crate::json::Json;

impl Structure {
    /// The structure as one line of JSON, in a shape that stays stable across releases (new
    /// keys may be added):
    ///
    /// ```text
    /// structure:  {"encoding": {"rkyv": "0.8", "endian": "little" | "big",
    ///                           "pointer_width": n, "aligned": bool},
    ///              "root": shape, "types": [type]}
    /// type:       {"name": str, "kind": "struct", "size": n, "align": n, "style": style,
    ///              "fields": [field]}
    ///           | {"name": str, "kind": "enum", "size": n, "align": n, "variants": [variant]}
    /// variant:    {"name": str, "tag": n, "style": style, "fields": [field]}
    /// field:      {"name": str, "offset": n, "size": n, "align": n, "type": str, "shape": shape}
    /// style:      "named" | "unnamed" | "unit"
    /// shape:      {"kind": "unit" | "bool" | "char" | "string" | "box_str"}
    ///           | {"kind": "int", "type": "u8" .. "i128" | "usize" | "isize"}
    ///           | {"kind": "float", "type": "f32" | "f64"}
    ///           | {"kind": "vec" | "box_slice" | "box" | "option" | "hash_set" | "btree_set",
    ///              "of": shape}
    ///           | {"kind": "array", "len": n, "of": shape}
    ///           | {"kind": "tuple", "of": [shape]}
    ///           | {"kind": "hash_map" | "btree_map", "key": shape, "value": shape}
    ///           | {"kind": "named", "type": n, "name": str}   (an index into "types")
    ///           | {"kind": "opaque", "name": str, "size": n, "align": n}
    /// ```
    pub fn to_json(&self) -> String {
        Json::from(self).to_string()
    }
}

/// The structure as a JSON value, in the shape [`Structure::to_json`] documents, to place inside
/// a larger JSON document (the `mmap-sync` command's `inspect --json`).
impl From<&Structure> for Json {
    fn from(structure: &Structure) -> Json {
        let e = structure.encoding;
        let encoding = Json::Obj(vec![
            ("rkyv", format!("0.{}", e.rkyv).into()),
            ("endian", if e.big_endian { "big" } else { "little" }.into()),
            ("pointer_width", u64::from(e.pointer_width).into()),
            ("aligned", (!e.unaligned).into()),
        ]);
        let types = structure
            .types
            .iter()
            .map(|definition| {
                let mut object = vec![
                    ("name", Json::from(definition.name.as_str())),
                    ("kind", definition.body.kind().into()),
                    ("size", definition.layout.size.into()),
                    ("align", definition.layout.align.into()),
                ];
                match &definition.body {
                    Body::Struct(fields) => {
                        object.push(("style", style(fields.style)));
                        object.push(("fields", fields_json(structure, fields)));
                    }
                    Body::Enum(variants) => object.push((
                        "variants",
                        Json::Arr(
                            variants
                                .iter()
                                .map(|variant| {
                                    Json::Obj(vec![
                                        ("name", variant.name.as_str().into()),
                                        ("tag", u64::from(variant.tag).into()),
                                        ("style", style(variant.fields.style)),
                                        ("fields", fields_json(structure, &variant.fields)),
                                    ])
                                })
                                .collect(),
                        ),
                    )),
                }
                Json::Obj(object)
            })
            .collect();
        Json::Obj(vec![
            ("encoding", encoding),
            ("root", shape_json(structure, &structure.root)),
            ("types", Json::Arr(types)),
        ])
    }
}

fn style(style: Style) -> Json {
    match style {
        Style::Named => "named",
        Style::Unnamed => "unnamed",
        Style::Unit => "unit",
    }
    .into()
}

fn fields_json(structure: &Structure, fields: &Fields) -> Json {
    Json::Arr(
        fields
            .list
            .iter()
            .map(|field| {
                Json::Obj(vec![
                    ("name", field.name.as_str().into()),
                    ("offset", field.offset.into()),
                    ("size", field.layout.size.into()),
                    ("align", field.layout.align.into()),
                    ("type", structure.render(&field.shape).into()),
                    ("shape", shape_json(structure, &field.shape)),
                ])
            })
            .collect(),
    )
}

fn shape_json(structure: &Structure, shape: &Shape) -> Json {
    let kind = |kind: &'static str| ("kind", Json::from(kind));
    let of = |inner: &Shape| ("of", shape_json(structure, inner));
    Json::Obj(match shape {
        Shape::Unit => vec![kind("unit")],
        Shape::Bool => vec![kind("bool")],
        Shape::Char => vec![kind("char")],
        Shape::String => vec![kind("string")],
        Shape::BoxStr => vec![kind("box_str")],
        Shape::Int(int) => vec![kind("int"), ("type", int.name().into())],
        Shape::Float(float) => {
            vec![kind("float"), ("type", float.name().into())]
        }
        Shape::Vec(s) => vec![kind("vec"), of(s)],
        Shape::BoxSlice(s) => vec![kind("box_slice"), of(s)],
        Shape::Box(s) => vec![kind("box"), of(s)],
        Shape::Option(s) => vec![kind("option"), of(s)],
        Shape::HashSet(s) => vec![kind("hash_set"), of(s)],
        Shape::BTreeSet(s) => vec![kind("btree_set"), of(s)],
        Shape::Array(s, len) => vec![kind("array"), ("len", (*len).into()), of(s)],
        Shape::Tuple(list) => vec![
            kind("tuple"),
            ("of", Json::Arr(list.iter().map(|s| shape_json(structure, s)).collect())),
        ],
        Shape::HashMap(k, v) | Shape::BTreeMap(k, v) => vec![
            kind(if matches!(shape, Shape::HashMap(..)) { "hash_map" } else { "btree_map" }),
            ("key", shape_json(structure, k)),
            ("value", shape_json(structure, v)),
        ],
        Shape::Named(index) => {
            vec![kind("named"), ("type", (*index).into()), ("name", structure.render(shape).into())]
        }
        Shape::Opaque { name, layout } => vec![
            kind("opaque"),
            ("name", name.as_str().into()),
            ("size", layout.size.into()),
            ("align", layout.align.into()),
        ],
    })
}

#[cfg(test)]
mod tests {
    use crate::schema::fixtures::status;
    use crate::schema::structure::Shape;

    #[test]
    fn the_json_shape_is_stable() {
        insta::assert_snapshot!(
            status(Shape::Vec(Box::new(Shape::Int(crate::schema::Int::U8)))).to_json()
        );
    }
}
