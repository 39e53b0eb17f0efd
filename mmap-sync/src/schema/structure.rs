//! The structural schema of a channel, owned: the type tree of its value with every named type
//! defined once, and the archive encoding the value was written with. The writer stores it in
//! the channel's state file; a reader compares it with its own type's, and a program without the
//! type (the `mmap-sync dump` command, the Python package, [`dynamic`](crate::dynamic)) reads the
//! value through it.

use std::collections::HashMap;

use super::shape::{ArchivedLayout, Float, Int, StaticBody, StaticDefinition, StaticShape, Style};

/// How rkyv encoded the archive: what a decoder must know besides the types. A decoder refuses
/// an encoding it does not know.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Encoding {
    /// rkyv's major version as `major * 1000 + minor` for 0.x releases (`8` for 0.8), whose
    /// archived layouts the value has.
    pub rkyv: u32,
    /// Multi-byte numbers are big-endian (rkyv's `big_endian` feature); little-endian otherwise.
    pub big_endian: bool,
    /// Bits of relative pointers and archived `usize`/`isize` (16, 32 or 64; rkyv's
    /// `pointer_width_*` features, 32 by default).
    pub pointer_width: u8,
    /// Multi-byte numbers have alignment 1 (rkyv's `unaligned` feature); their size otherwise.
    pub unaligned: bool,
}

impl Encoding {
    /// rkyv 0.8.
    pub const RKYV_0_8: u32 = 8;

    /// The encoding of the rkyv this crate is built with.
    pub const fn current() -> Encoding {
        use rkyv::primitive::{ArchivedU32, ArchivedUsize};
        let one = ArchivedU32::from_native(1);
        // SAFETY: an archived `u32` is four bytes of plain data, in rkyv's byte order.
        let bytes: [u8; 4] = unsafe { std::mem::transmute::<ArchivedU32, [u8; 4]>(one) };
        Encoding {
            rkyv: Self::RKYV_0_8,
            big_endian: bytes[3] == 1,
            pointer_width: (size_of::<ArchivedUsize>() * 8) as u8,
            unaligned: align_of::<ArchivedU32>() == 1,
        }
    }

    /// A fingerprint of this encoding, folded into every type's fingerprint: a reader built
    /// with another encoding refuses the channel.
    pub const fn fingerprint(&self) -> u64 {
        use crate::fingerprint::fold_fingerprint as fold;
        let fp = fold(0x656e_636f_6469_6e67, self.rkyv as u64);
        let fp = fold(fp, self.big_endian as u64);
        let fp = fold(fp, self.pointer_width as u64);
        fold(fp, self.unaligned as u64)
    }

    /// The encoding this crate's decoders read: rkyv 0.8's default (little-endian, 32-bit
    /// pointers, aligned).
    pub const fn standard() -> Encoding {
        Encoding { rkyv: Self::RKYV_0_8, big_endian: false, pointer_width: 32, unaligned: false }
    }
}

impl std::fmt::Display for Encoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "rkyv 0.{}, {}-endian, {}-bit pointers, {}",
            self.rkyv,
            if self.big_endian { "big" } else { "little" },
            self.pointer_width,
            if self.unaligned { "unaligned" } else { "aligned" }
        )
    }
}

/// The archived shape of a type, owned. Named structs and enums are indexes into
/// [`Structure::types`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Shape {
    /// `()`.
    Unit,
    /// `bool`.
    Bool,
    /// `char`.
    Char,
    /// An integer.
    Int(Int),
    /// A float.
    Float(Float),
    /// `String`.
    String,
    /// `Box<str>`.
    BoxStr,
    /// `Vec<T>`.
    Vec(Box<Shape>),
    /// `Box<[T]>`.
    BoxSlice(Box<Shape>),
    /// `Box<T>`.
    Box(Box<Shape>),
    /// `Option<T>`.
    Option(Box<Shape>),
    /// `[T; N]`.
    Array(Box<Shape>, u64),
    /// A tuple of one or more elements.
    Tuple(Vec<Shape>),
    /// `HashMap<K, V>`.
    HashMap(Box<Shape>, Box<Shape>),
    /// `HashSet<T>`.
    HashSet(Box<Shape>),
    /// `BTreeMap<K, V>`.
    BTreeMap(Box<Shape>, Box<Shape>),
    /// `BTreeSet<T>`.
    BTreeSet(Box<Shape>),
    /// The struct or enum `types[i]`.
    Named(usize),
    /// A type without a description: its name as written and archived layout.
    Opaque {
        /// The type as written in the definition that holds it.
        name: String,
        /// Its archived layout.
        layout: ArchivedLayout,
    },
}

/// A struct or enum of a [`Structure`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Definition {
    /// The type's name, without its module path.
    pub name: String,
    /// Size and alignment of the archived type.
    pub layout: ArchivedLayout,
    /// Its fields or variants.
    pub body: Body,
}

/// What a [`Definition`] is made of.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Body {
    /// A struct.
    Struct(Fields),
    /// An enum's variants, in declaration order.
    Enum(Vec<Variant>),
}

impl Body {
    /// `"struct"` or `"enum"`.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Body::Struct(_) => "struct",
            Body::Enum(_) => "enum",
        }
    }
}

/// The fields of a struct or variant.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Fields {
    /// How they are named.
    pub style: Style,
    /// In declaration order.
    pub list: Vec<Field>,
}

/// One field.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Field {
    /// Its name (`"0"`, `"1"`, .. for unnamed fields).
    pub name: String,
    /// Offset from the start of the archived struct or enum.
    pub offset: u64,
    /// Size and alignment of the archived field, as the compiler laid it out.
    pub layout: ArchivedLayout,
    /// Its archived shape.
    pub shape: Shape,
}

/// One variant of an enum.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Variant {
    /// Its name.
    pub name: String,
    /// Its tag byte, the first byte of the archived enum.
    pub tag: u8,
    /// Its fields, offsets from the start of the archived enum.
    pub fields: Fields,
}

/// The structural schema of a channel: the encoding, the root's shape, and every named type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Structure {
    /// How the value was archived.
    pub encoding: Encoding,
    /// The root value's shape (a [`Shape::Named`] for a derived channel type).
    pub root: Shape,
    /// The named types the tree refers to, each once; recursive types refer to themselves.
    pub types: Vec<Definition>,
}

impl Structure {
    /// The structure of a type's static shape, with the current [`Encoding`]. Every definition
    /// met is recorded once (by its name, layout and fields), so a recursive type ends.
    pub fn of(shape: &StaticShape) -> Structure {
        let mut builder = Builder { types: Vec::new(), index: HashMap::new() };
        let root = builder.shape(shape);
        Structure { encoding: Encoding::current(), root, types: builder.types }
    }

    /// The definition a [`Shape::Named`] refers to, if the index is in range.
    pub fn definition(&self, index: usize) -> Option<&Definition> {
        self.types.get(index)
    }

    /// The name of the root type (its definition's, or the shape written out).
    pub fn root_name(&self) -> String {
        self.render(&self.root)
    }

    /// A shape written as Rust: `Vec<Route>`, `HashMap<String, u32>`, `[u8; 16]`.
    pub fn render(&self, shape: &Shape) -> String {
        let mut out = String::new();
        self.write_shape(shape, &mut out);
        out
    }

    fn write_shape(&self, shape: &Shape, out: &mut String) {
        let one = |name: &str, inner: &Shape, out: &mut String| {
            out.push_str(name);
            out.push('<');
            self.write_shape(inner, out);
            out.push('>');
        };
        let two = |name: &str, a: &Shape, b: &Shape, out: &mut String| {
            out.push_str(name);
            out.push('<');
            self.write_shape(a, out);
            out.push_str(", ");
            self.write_shape(b, out);
            out.push('>');
        };
        match shape {
            Shape::Unit => out.push_str("()"),
            Shape::Bool => out.push_str("bool"),
            Shape::Char => out.push_str("char"),
            Shape::Int(int) => out.push_str(int.name()),
            Shape::Float(float) => out.push_str(float.name()),
            Shape::String => out.push_str("String"),
            Shape::BoxStr => out.push_str("Box<str>"),
            Shape::Vec(inner) => one("Vec", inner, out),
            Shape::BoxSlice(inner) => {
                out.push_str("Box<[");
                self.write_shape(inner, out);
                out.push_str("]>");
            }
            Shape::Box(inner) => one("Box", inner, out),
            Shape::Option(inner) => one("Option", inner, out),
            Shape::Array(inner, len) => {
                out.push('[');
                self.write_shape(inner, out);
                out.push_str(&format!("; {len}]"));
            }
            Shape::Tuple(elements) => {
                out.push('(');
                for (i, element) in elements.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.write_shape(element, out);
                }
                if elements.len() == 1 {
                    out.push(',');
                }
                out.push(')');
            }
            Shape::HashMap(k, v) => two("HashMap", k, v, out),
            Shape::HashSet(inner) => one("HashSet", inner, out),
            Shape::BTreeMap(k, v) => two("BTreeMap", k, v, out),
            Shape::BTreeSet(inner) => one("BTreeSet", inner, out),
            Shape::Named(index) => match self.types.get(*index) {
                Some(definition) => out.push_str(&definition.name),
                None => out.push_str(&format!("<type {index}?>")),
            },
            Shape::Opaque { name, .. } => out.push_str(name),
        }
    }
}

/// Turns a static shape into owned shapes, recording each definition once.
struct Builder {
    types: Vec<Definition>,
    /// Definitions by identity (see [`identity`]).
    index: HashMap<Identity, usize>,
}

/// What tells two static definitions apart without following their named fields (which may
/// lead back to them): name, layout, and each field's name, offset and shallow shape.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Identity(String);

fn identity(definition: &StaticDefinition) -> Identity {
    let mut key =
        format!("{}/{}/{}", definition.name, definition.layout.size, definition.layout.align);
    let field = |key: &mut String, field: &super::shape::StaticField| {
        key.push_str(&format!(
            "|{}@{}/{}/{}:{}",
            field.name,
            field.offset,
            field.layout.size,
            field.layout.align,
            shallow(&field.shape)
        ));
    };
    match definition.body {
        StaticBody::Struct(style, fields) => {
            key.push_str(&format!("struct {style:?}"));
            fields.iter().for_each(|f| field(&mut key, f));
        }
        StaticBody::Enum(variants) => {
            for variant in variants {
                key.push_str(&format!("#{}={}{:?}", variant.name, variant.tag, variant.style));
                variant.fields.iter().for_each(|f| field(&mut key, f));
            }
        }
    }
    Identity(key)
}

/// A shape written without following named types (they are named, with their layout).
fn shallow(shape: &StaticShape) -> String {
    match shape {
        StaticShape::Vec(s) => format!("Vec<{}>", shallow(s)),
        StaticShape::BoxSlice(s) => format!("Box<[{}]>", shallow(s)),
        StaticShape::Box(s) => format!("Box<{}>", shallow(s)),
        StaticShape::Option(s) => format!("Option<{}>", shallow(s)),
        StaticShape::Array(s, n) => format!("[{}; {n}]", shallow(s)),
        StaticShape::Tuple(list) => {
            format!("({})", list.iter().map(shallow).collect::<Vec<_>>().join(", "))
        }
        StaticShape::HashMap(k, v) => format!("HashMap<{}, {}>", shallow(k), shallow(v)),
        StaticShape::HashSet(s) => format!("HashSet<{}>", shallow(s)),
        StaticShape::BTreeMap(k, v) => format!("BTreeMap<{}, {}>", shallow(k), shallow(v)),
        StaticShape::BTreeSet(s) => format!("BTreeSet<{}>", shallow(s)),
        StaticShape::Named(d) => format!("{}/{}/{}", d.name, d.layout.size, d.layout.align),
        StaticShape::Deferred(text, layout, _) => {
            format!("{text}/{}/{}", layout.size, layout.align)
        }
        StaticShape::Opaque(text, layout) => {
            format!("opaque {text}/{}/{}", layout.size, layout.align)
        }
        other => format!("{other:?}"),
    }
}

impl Builder {
    fn shape(&mut self, shape: &StaticShape) -> Shape {
        let boxed = |b: &mut Builder, s: &StaticShape| Box::new(b.shape(s));
        match shape {
            StaticShape::Unit => Shape::Unit,
            StaticShape::Bool => Shape::Bool,
            StaticShape::Char => Shape::Char,
            StaticShape::Int(int) => Shape::Int(*int),
            StaticShape::Float(float) => Shape::Float(*float),
            StaticShape::String => Shape::String,
            StaticShape::BoxStr => Shape::BoxStr,
            StaticShape::Vec(s) => Shape::Vec(boxed(self, s)),
            StaticShape::BoxSlice(s) => Shape::BoxSlice(boxed(self, s)),
            StaticShape::Box(s) => Shape::Box(boxed(self, s)),
            StaticShape::Option(s) => Shape::Option(boxed(self, s)),
            StaticShape::Array(s, n) => Shape::Array(boxed(self, s), *n),
            StaticShape::Tuple(list) => Shape::Tuple(list.iter().map(|s| self.shape(s)).collect()),
            StaticShape::HashMap(k, v) => Shape::HashMap(boxed(self, k), boxed(self, v)),
            StaticShape::HashSet(s) => Shape::HashSet(boxed(self, s)),
            StaticShape::BTreeMap(k, v) => Shape::BTreeMap(boxed(self, k), boxed(self, v)),
            StaticShape::BTreeSet(s) => Shape::BTreeSet(boxed(self, s)),
            StaticShape::Named(definition) => Shape::Named(self.definition(definition)),
            StaticShape::Deferred(_, _, shape) => self.shape(&shape()),
            StaticShape::Opaque(name, layout) => {
                Shape::Opaque { name: (*name).to_owned(), layout: *layout }
            }
        }
    }

    fn definition(&mut self, definition: &StaticDefinition) -> usize {
        let id = identity(definition);
        if let Some(&index) = self.index.get(&id) {
            return index;
        }
        // Reserve the index first: a field may lead back here.
        let index = self.types.len();
        self.index.insert(id, index);
        self.types.push(Definition {
            name: definition.name.to_owned(),
            layout: definition.layout,
            body: Body::Struct(Fields { style: Style::Unit, list: Vec::new() }),
        });
        let fields = |b: &mut Builder, style: Style, list: &[super::shape::StaticField]| Fields {
            style,
            list: list
                .iter()
                .map(|f| Field {
                    name: f.name.to_owned(),
                    offset: f.offset,
                    layout: f.layout,
                    shape: b.shape(&f.shape),
                })
                .collect(),
        };
        let body = match definition.body {
            StaticBody::Struct(style, list) => Body::Struct(fields(self, style, list)),
            StaticBody::Enum(variants) => Body::Enum(
                variants
                    .iter()
                    .map(|v| Variant {
                        name: v.name.to_owned(),
                        tag: v.tag,
                        fields: fields(self, v.style, v.fields),
                    })
                    .collect(),
            ),
        };
        self.types[index].body = body;
        index
    }
}
