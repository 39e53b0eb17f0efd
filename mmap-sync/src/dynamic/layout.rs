//! rkyv 0.8's archived layouts (little-endian, 32-bit relative pointers, aligned), computed
//! from a [`Shape`], and the check that a [`Structure`] agrees with them: every field's recorded
//! layout is what its shape archives to, and lies inside its type, so that no description can
//! make the decoder read past a value.
//!
//! The layouts, as rkyv 0.8.18 defines them (each verified against `size_of`/`align_of` of the
//! archived types and against real archives in the tests):
//!
//! * `()` 0 bytes; `bool`, `u8`, `i8` 1; `u16`/`i16` 2; `u32`/`i32`/`f32`/`char` and
//!   `usize`/`isize` (archived as 32 bits) 4; `u64`/`i64`/`f64` 8; `u128`/`i128` 16, each
//!   aligned to its size.
//! * `String` (`ArchivedString`): 8 bytes, alignment 4, inline up to 8 bytes or a length with
//!   flag bits and a relative pointer.
//! * `Vec<T>`, `Box<[T]>`, `Box<str>`: a relative pointer (`i32`) and a length (`u32`).
//! * `Box<T>`: a relative pointer.
//! * `Option<T>`: `repr(u8)` tag, then `T` at its alignment.
//! * `[T; N]`: `N` elements; tuples: `repr(C)` structs.
//! * `HashMap`/`HashSet` (`ArchivedHashTable`): relative pointer to the control bytes, length,
//!   capacity (12 bytes); entries `repr(C) { key, value }` stored before the control bytes.
//! * `BTreeMap`/`BTreeSet`: relative pointer to the root node and a length (8 bytes); nodes of
//!   five entries, see [`NodeLayout`].

use crate::schema::{
    ArchivedLayout, Body, Definition, Encoding, Fields, Float, Int, Shape, Structure, Style,
};

use super::error::DynError;

/// How deep a shape may nest (not counting named types, which stop the recursion). Deeper
/// descriptions are refused; the stored form allows 32 levels
/// ([`MAX_SHAPE_DEPTH`](crate::schema::MAX_SHAPE_DEPTH)).
pub(super) const MAX_SHAPE_NESTING: usize = 64;

/// The largest archived size accepted for one type (1 TiB): keeps every product of a size and a
/// 32-bit count inside `u64`.
const MAX_SIZE: u64 = 1 << 40;

/// Entries per B-tree node of rkyv's `ArchivedBTreeMap` (its default `E`, the one std's
/// `BTreeMap` and `BTreeSet` archive with).
pub(super) const BTREE_ENTRIES: u64 = 5;

/// The tag byte of a B-tree node that holds only entries.
pub(super) const NODE_LEAF: u8 = 0;
/// The tag byte of a B-tree node with children.
pub(super) const NODE_INNER: u8 = 1;

const fn layout(size: u64, align: u64) -> ArchivedLayout {
    ArchivedLayout { size, align }
}

/// The archived layout of an integer.
pub(super) const fn int_layout(int: Int) -> ArchivedLayout {
    match int {
        Int::U8 | Int::I8 => layout(1, 1),
        Int::U16 | Int::I16 => layout(2, 2),
        Int::U32 | Int::I32 | Int::Usize | Int::Isize => layout(4, 4),
        Int::U64 | Int::I64 => layout(8, 8),
        Int::U128 | Int::I128 => layout(16, 16),
    }
}

/// `value` rounded up to `align`, or `None` on overflow or an alignment that is not a power of
/// two (a named type's recorded layout is checked after the shapes that use it).
pub(super) fn align_up(value: u64, align: u64) -> Option<u64> {
    if !align.is_power_of_two() {
        return None;
    }
    value.checked_add(align - 1).map(|v| v & !(align - 1))
}

/// A `repr(C)` struct laid out field by field, without allocating: [`place`](Self::place)
/// each field in order, then [`finish`](Self::finish).
#[derive(Clone, Copy, Debug)]
pub(super) struct ReprC {
    end: u64,
    align: u64,
}

impl ReprC {
    pub(super) fn new() -> ReprC {
        ReprC { end: 0, align: 1 }
    }

    /// Places the next field: its offset, or `None` on overflow.
    pub(super) fn place(&mut self, field: ArchivedLayout) -> Option<u64> {
        let offset = align_up(self.end, field.align)?;
        self.end = offset.checked_add(field.size)?;
        self.align = self.align.max(field.align);
        Some(offset)
    }

    /// The struct's layout: its end rounded up to its alignment.
    pub(super) fn finish(self) -> Option<ArchivedLayout> {
        Some(layout(align_up(self.end, self.align)?, self.align))
    }
}

/// The layout of `Option<T>` from `T`'s: the tag byte, `T` at its alignment.
fn option_layout(inner: ArchivedLayout) -> Option<ArchivedLayout> {
    let align = inner.align;
    let end = align_up(1, align)?.checked_add(inner.size)?;
    Some(layout(align_up(end, align)?, align))
}

/// Offset of `T` inside an archived `Option<T>`.
pub(super) fn option_offset(inner: ArchivedLayout) -> u64 {
    inner.align
}

/// A hash table's or B-tree's entry, `repr(C) { key, value }`: its layout and the value's offset.
pub(super) fn entry_layout(
    key: ArchivedLayout,
    value: ArchivedLayout,
) -> Option<(ArchivedLayout, u64)> {
    let mut entry = ReprC::new();
    entry.place(key)?;
    let value_offset = entry.place(value)?;
    Some((entry.finish()?, value_offset))
}

/// The layout of rkyv 0.8's B-tree nodes for given key and value layouts:
///
/// ```text
/// Node      repr(C) { kind: u8 (0 leaf, 1 inner), keys: [K; 5], values: [V; 5] }
/// LeafNode  repr(C) { node: Node, len: u32 }
/// InnerNode repr(C) { node: Node, lesser_nodes: [RelPtr; 5], greater_node: RelPtr }
/// ```
///
/// An inner node always holds five entries; a relative pointer of offset 1 means "no child".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct NodeLayout {
    /// Offset of `keys[0]`.
    pub keys: u64,
    /// Offset of `values[0]`.
    pub values: u64,
    /// Size of one key and one value (the arrays' strides).
    pub key_size: u64,
    pub value_size: u64,
    /// `Node`'s layout (what rkyv checks before reading the kind byte).
    pub node: ArchivedLayout,
    /// `LeafNode`'s layout and the offset of its `len`.
    pub leaf: ArchivedLayout,
    pub leaf_len: u64,
    /// `InnerNode`'s layout and the offset of `lesser_nodes[0]` (`greater_node` follows them).
    pub inner: ArchivedLayout,
    pub inner_children: u64,
}

pub(super) fn node_layout(key: ArchivedLayout, value: ArchivedLayout) -> Option<NodeLayout> {
    let e = BTREE_ENTRIES;
    let keys = layout(key.size.checked_mul(e)?, key.align);
    let values = layout(value.size.checked_mul(e)?, value.align);
    let mut node = ReprC::new();
    node.place(layout(1, 1))?;
    let keys = node.place(keys)?;
    let values = node.place(values)?;
    let node = node.finish()?;
    let mut leaf = ReprC::new();
    leaf.place(node)?;
    let leaf_len = leaf.place(layout(4, 4))?;
    let mut inner = ReprC::new();
    inner.place(node)?;
    let inner_children = inner.place(layout(4 * (e + 1), 4))?;
    Some(NodeLayout {
        keys,
        values,
        key_size: key.size,
        value_size: value.size,
        node,
        leaf: leaf.finish()?,
        leaf_len,
        inner: inner.finish()?,
        inner_children,
    })
}

/// The archived layout of `shape` when it takes no work: every shape but `Option`, arrays and
/// tuples (which are computed from their elements) and opaque shapes. For a structure
/// [`check_structure`] accepted, whose named types' recorded layouts are sound; `None` for a
/// named type out of range.
#[inline]
pub(super) fn direct_layout(types: &[Definition], shape: &Shape) -> Option<ArchivedLayout> {
    match shape {
        Shape::Named(index) => Some(types.get(*index)?.layout),
        _ => fixed_layout(shape),
    }
}

/// The archived layout of a leaf or pointer shape, the same whatever it holds; `None` for
/// `Option`, arrays, tuples, named types and opaque shapes.
#[inline]
fn fixed_layout(shape: &Shape) -> Option<ArchivedLayout> {
    Some(match shape {
        Shape::Unit => layout(0, 1),
        Shape::Bool => layout(1, 1),
        Shape::Char => layout(4, 4),
        Shape::Int(int) => int_layout(*int),
        Shape::Float(Float::F32) => layout(4, 4),
        Shape::Float(Float::F64) => layout(8, 8),
        Shape::String | Shape::BoxStr | Shape::Vec(_) | Shape::BoxSlice(_) => layout(8, 4),
        Shape::Box(_) => layout(4, 4),
        Shape::HashMap(..) | Shape::HashSet(_) => layout(12, 4),
        Shape::BTreeMap(..) | Shape::BTreeSet(_) => layout(8, 4),
        Shape::Option(_)
        | Shape::Array(..)
        | Shape::Tuple(_)
        | Shape::Named(_)
        | Shape::Opaque { .. } => return None,
    })
}

/// The archived layout of `shape` in a structure [`check_structure`] accepted, computed
/// without allocating: what [`layout_of`] gives when it succeeds, `None` where it would fail
/// (which [`layout_of`] then says in words).
pub(super) fn quick_layout(
    types: &[Definition],
    shape: &Shape,
    depth: usize,
) -> Option<ArchivedLayout> {
    if let Some(found) = direct_layout(types, shape) {
        return Some(found);
    }
    if depth > MAX_SHAPE_NESTING {
        return None;
    }
    let found = match shape {
        Shape::Option(inner) => option_layout(quick_layout(types, inner, depth + 1)?)?,
        Shape::Array(inner, count) => {
            let element = quick_layout(types, inner, depth + 1)?;
            layout(element.size.checked_mul(*count)?, element.align)
        }
        Shape::Tuple(elements) => {
            let mut tuple = ReprC::new();
            for element in elements {
                tuple.place(quick_layout(types, element, depth + 1)?)?;
            }
            tuple.finish()?
        }
        Shape::Opaque { layout, .. } => *layout,
        _ => return None,
    };
    (found.size <= MAX_SIZE).then_some(found)
}

/// The archived layout of `shape`, for a shape [`check_shape`] accepted. Named types give
/// their recorded layout.
pub(super) fn layout_of(types: &[Definition], shape: &Shape) -> Result<ArchivedLayout, String> {
    layout_at(types, shape, 0)
}

fn layout_at(types: &[Definition], shape: &Shape, depth: usize) -> Result<ArchivedLayout, String> {
    if depth > MAX_SHAPE_NESTING {
        return Err(format!("a shape nested more than {MAX_SHAPE_NESTING} levels"));
    }
    let too_large = || format!("a shape larger than {MAX_SIZE} bytes");
    let found = match shape {
        Shape::Option(inner) => {
            option_layout(layout_at(types, inner, depth + 1)?).ok_or_else(too_large)?
        }
        Shape::Array(inner, count) => {
            let element = layout_at(types, inner, depth + 1)?;
            layout(element.size.checked_mul(*count).ok_or_else(too_large)?, element.align)
        }
        Shape::Tuple(elements) => {
            let mut tuple = ReprC::new();
            for element in elements {
                tuple.place(layout_at(types, element, depth + 1)?).ok_or_else(too_large)?;
            }
            tuple.finish().ok_or_else(too_large)?
        }
        Shape::Named(index) => match types.get(*index) {
            Some(definition) => {
                check_layout(definition.layout).map_err(|m| format!("{}: {m}", definition.name))?;
                definition.layout
            }
            None => return Err(format!("refers to type {index} of {}", types.len())),
        },
        Shape::Opaque { layout, .. } => *layout,
        // Not reached: every other shape has a fixed layout.
        _ => fixed_layout(shape).ok_or("a shape without a layout")?,
    };
    if found.size > MAX_SIZE {
        return Err(too_large());
    }
    Ok(found)
}

/// Offset of element `index` of a tuple.
pub(super) fn tuple_offset(
    types: &[Definition],
    elements: &[Shape],
    index: usize,
) -> Result<u64, String> {
    let mut tuple = ReprC::new();
    let mut offset = 0;
    for element in elements.iter().take(index + 1) {
        offset = tuple.place(layout_of(types, element)?).ok_or("a tuple too large")?;
    }
    Ok(offset)
}

/// Refuses a layout no compiler makes: an alignment that is not a power of two up to 64 KiB,
/// a size that is not a multiple of it or is larger than 1 TiB.
fn check_layout(found: ArchivedLayout) -> Result<(), String> {
    found.check()?;
    if found.size > MAX_SIZE {
        return Err(format!("size {} is larger than {MAX_SIZE} bytes", found.size));
    }
    Ok(())
}

/// Checks `shape` and every shape inside it: named types in range, opaque layouts sound, sizes
/// that fit, entries and B-tree nodes that can be laid out, nesting bounded. Gives the shape's
/// layout ([`layout_of`]'s).
pub(super) fn check_shape(
    types: &[Definition],
    shape: &Shape,
    depth: usize,
) -> Result<ArchivedLayout, String> {
    if depth > MAX_SHAPE_NESTING {
        return Err(format!("a shape nested more than {MAX_SHAPE_NESTING} levels"));
    }
    let inner = |s: &Shape| check_shape(types, s, depth + 1);
    let unit = layout(0, 1);
    // A collection's key and value layouts, for its entries or nodes.
    let mut entries = None;
    match shape {
        Shape::Vec(s)
        | Shape::BoxSlice(s)
        | Shape::Box(s)
        | Shape::Option(s)
        | Shape::Array(s, _) => {
            inner(s)?;
        }
        Shape::Tuple(list) => {
            if list.is_empty() {
                return Err("a tuple of no elements (`()` is the unit shape)".to_owned());
            }
            for element in list {
                inner(element)?;
            }
        }
        Shape::HashSet(k) | Shape::BTreeSet(k) => entries = Some((inner(k)?, unit)),
        Shape::HashMap(k, v) | Shape::BTreeMap(k, v) => {
            let key = inner(k)?;
            entries = Some((key, inner(v)?));
        }
        Shape::Opaque { layout, .. } => check_layout(*layout)?,
        _ => {}
    }
    let own = layout_at(types, shape, depth)?;
    let too_large = || "a collection whose entries are too large".to_owned();
    if let Some((key, value)) = entries {
        match shape {
            Shape::HashMap(..) | Shape::HashSet(_) => {
                entry_layout(key, value).ok_or_else(too_large)?;
            }
            _ => {
                node_layout(key, value).ok_or_else(too_large)?;
            }
        }
    }
    check_layout(own)?;
    Ok(own)
}

/// Checks a structure against rkyv 0.8's layouts: the encoding is [`Encoding::standard`], every
/// shape is sound ([`check_shape`]), and every field's recorded offset and layout agree with
/// its shape and lie inside its type (enum variant fields after the tag byte). Gives the root's
/// layout.
pub(super) fn check_structure(structure: &Structure) -> Result<ArchivedLayout, DynError> {
    let standard = Encoding::standard();
    if structure.encoding != standard {
        return Err(DynError::structure(
            "",
            format!(
                "the value was archived as {}; this decoder reads {standard} only",
                structure.encoding
            ),
        ));
    }
    let types = &structure.types;
    let root = check_shape(types, &structure.root, 0)
        .map_err(|m| DynError::structure("", format!("the root: {m}")))?;
    for definition in types {
        let name = &definition.name;
        check_layout(definition.layout).map_err(|m| DynError::structure(name, m))?;
        match &definition.body {
            Body::Struct(fields) => check_fields(types, definition, fields, 0, name)?,
            Body::Enum(variants) => {
                if !variants.is_empty() && definition.layout.size == 0 {
                    return Err(DynError::structure(
                        name,
                        "an enum of 0 bytes has no room for its tag",
                    ));
                }
                for (i, variant) in variants.iter().enumerate() {
                    let at = format!("{name}::{}", variant.name);
                    if variants[..i].iter().any(|other| other.tag == variant.tag) {
                        return Err(DynError::structure(
                            &at,
                            format!("tag {} is another variant's too", variant.tag),
                        ));
                    }
                    check_fields(types, definition, &variant.fields, 1, &at)?;
                }
            }
        }
    }
    Ok(root)
}

/// Fields of a struct (`first` 0) or of an enum variant (`first` 1, after the tag).
fn check_fields(
    types: &[Definition],
    definition: &Definition,
    fields: &Fields,
    first: u64,
    at: &str,
) -> Result<(), DynError> {
    if fields.style == Style::Unit && !fields.list.is_empty() {
        return Err(DynError::structure(at, format!("a unit {} with fields", kind_word(first))));
    }
    for field in &fields.list {
        let path = format!("{at}.{}", field.name);
        let refuse = |m: String| DynError::structure(&path, m);
        let archived = check_shape(types, &field.shape, 0).map_err(refuse)?;
        if archived != field.layout {
            return Err(refuse(format!(
                "recorded as {} bytes aligned to {}, but rkyv 0.8 archives it in {} bytes aligned \
                 to {}",
                field.layout.size, field.layout.align, archived.size, archived.align
            )));
        }
        let end = field.offset.checked_add(archived.size);
        if field.offset < first || end.is_none_or(|end| end > definition.layout.size) {
            return Err(refuse(format!(
                "{} bytes at offset {} do not fit {} of {} bytes{}",
                archived.size,
                field.offset,
                definition.name,
                definition.layout.size,
                if first > 0 { " after its tag byte" } else { "" }
            )));
        }
        if !field.offset.is_multiple_of(archived.align) || archived.align > definition.layout.align
        {
            return Err(refuse(format!(
                "offset {} in a type aligned to {} cannot hold a field aligned to {}",
                field.offset, definition.layout.align, archived.align
            )));
        }
    }
    Ok(())
}

fn kind_word(first: u64) -> &'static str {
    if first == 0 { "struct" } else { "variant" }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

    use rkyv::collections::util::Entry;
    use rkyv::string::ArchivedString;

    use super::*;
    use crate::schema::Describe;

    fn computed<T: Describe>() -> ArchivedLayout {
        let structure = Structure::of(&T::SHAPE);
        let checked = check_shape(&structure.types, &structure.root, 0).unwrap();
        assert_eq!(checked, layout_of(&structure.types, &structure.root).unwrap());
        checked
    }

    macro_rules! same_as_rkyv {
        ($($ty:ty),* $(,)?) => {
            $(assert_eq!(computed::<$ty>(), ArchivedLayout::of::<$ty>(), "{}", stringify!($ty));)*
        };
    }

    #[test]
    fn scalar_layouts_are_rkyvs() {
        same_as_rkyv!(
            (),
            bool,
            char,
            u8,
            u16,
            u32,
            u64,
            u128,
            usize,
            i8,
            i16,
            i32,
            i64,
            i128,
            isize,
            f32,
            f64
        );
    }

    #[test]
    fn container_layouts_are_rkyvs() {
        same_as_rkyv!(
            String,
            Box<str>,
            Vec<u64>,
            Vec<()>,
            Box<[u16]>,
            Box<u128>,
            Box<String>,
            Box<Box<u8>>,
            [u16; 3],
            [u128; 0],
            [(); 5],
            [[u8; 3]; 2],
            HashMap<String, u8>,
            HashMap<u128, ()>,
            HashSet<u64>,
            BTreeMap<u8, String>,
            BTreeSet<u128>,
        );
    }

    #[test]
    fn option_layouts_put_the_value_after_the_tag_at_its_alignment() {
        same_as_rkyv!(
            Option<()>,
            Option<u8>,
            Option<u16>,
            Option<u128>,
            Option<String>,
            Option<Option<u32>>,
            Option<[u64; 3]>,
            Option<(u8, u64)>,
            Option<Box<u8>>,
        );
        assert_eq!(option_offset(int_layout(Int::U8)), 1);
        assert_eq!(option_offset(int_layout(Int::U64)), 8);
        assert_eq!(option_offset(int_layout(Int::U128)), 16);
        assert_eq!(option_offset(layout(0, 1)), 1);
    }

    #[test]
    fn tuple_layouts_are_repr_c() {
        same_as_rkyv!(
            (u8,),
            (u8, u64),
            (u8, u16, u8),
            (u128, u8),
            (u8, (u16, u8), u32),
            ((), u8, ()),
            (bool, char, String)
        );
        let structure = Structure::of(&<(u8, (u16, u8), u32)>::SHAPE);
        let Shape::Tuple(elements) = &structure.root else { panic!("{:?}", structure.root) };
        let offsets: Vec<u64> =
            (0..3).map(|i| tuple_offset(&structure.types, elements, i).unwrap()).collect();
        assert_eq!(offsets, [0, 2, 8]);
    }

    #[test]
    fn hash_table_entries_are_rkyvs_entry() {
        fn entry<K, V>() -> ArchivedLayout {
            ArchivedLayout {
                size: size_of::<Entry<K, V>>() as u64,
                align: align_of::<Entry<K, V>>() as u64,
            }
        }
        let archived = |int| int_layout(int);
        assert_eq!(
            entry_layout(layout(8, 4), archived(Int::U8)).unwrap().0,
            entry::<ArchivedString, u8>()
        );
        assert_eq!(entry_layout(layout(8, 4), archived(Int::U8)).unwrap().1, 8);
        assert_eq!(
            entry_layout(archived(Int::U8), archived(Int::U128)).unwrap(),
            (entry::<u8, rkyv::primitive::ArchivedU128>(), 16)
        );
        assert_eq!(entry_layout(layout(0, 1), layout(0, 1)).unwrap(), (entry::<(), ()>(), 0));
        assert_eq!(
            entry_layout(archived(Int::U128), layout(0, 1)).unwrap(),
            (entry::<rkyv::primitive::ArchivedU128, ()>(), 16)
        );
    }

    /// Every shape of a structure: the root's and its fields' (and variants'), and every
    /// shape inside those.
    fn every_shape(structure: &Structure) -> Vec<&Shape> {
        let mut tops = vec![&structure.root];
        for definition in &structure.types {
            let lists: Vec<&Fields> = match &definition.body {
                Body::Struct(fields) => vec![fields],
                Body::Enum(variants) => variants.iter().map(|v| &v.fields).collect(),
            };
            tops.extend(lists.into_iter().flat_map(|f| &f.list).map(|f| &f.shape));
        }
        let mut all = Vec::new();
        for top in tops {
            all.extend(shapes_in(top));
        }
        all
    }

    fn shapes_in(shape: &Shape) -> Vec<&Shape> {
        let mut inner: Vec<&Shape> = match shape {
            Shape::Vec(s)
            | Shape::BoxSlice(s)
            | Shape::Box(s)
            | Shape::Option(s)
            | Shape::Array(s, _)
            | Shape::HashSet(s)
            | Shape::BTreeSet(s) => shapes_in(s),
            Shape::HashMap(k, v) | Shape::BTreeMap(k, v) => {
                shapes_in(k).into_iter().chain(shapes_in(v)).collect()
            }
            Shape::Tuple(list) => list.iter().flat_map(shapes_in).collect(),
            _ => Vec::new(),
        };
        inner.push(shape);
        inner
    }

    /// The layouts a reader takes without allocating are `layout_of`'s, shape by shape, and
    /// fail where it fails.
    #[test]
    fn quick_and_direct_layouts_are_layout_ofs() {
        type Nested = Option<(u8, Option<[u16; 3]>, (u128, [Option<u8>; 2]))>;
        let structures = [
            Structure::of(&<Vec<Option<(u32, Option<(u16, u8)>, [Option<u8>; 2])>>>::SHAPE),
            Structure::of(&<Nested>::SHAPE),
            Structure::of(&<HashMap<(u8, u64), Option<[(); 4]>>>::SHAPE),
            Structure::of(&<BTreeMap<Option<char>, Box<[(bool, f32); 3]>>>::SHAPE),
            Structure::of(&<[[Option<u64>; 2]; 3]>::SHAPE),
            Structure::of(&<Box<Option<(String, Vec<(u8, u16)>, HashSet<i8>)>>>::SHAPE),
        ];
        let mut seen = 0;
        for structure in &structures {
            check_structure(structure).unwrap();
            for shape in every_shape(structure) {
                let expected = layout_of(&structure.types, shape).ok();
                assert_eq!(quick_layout(&structure.types, shape, 0), expected, "{shape:?}");
                if let Some(direct) = direct_layout(&structure.types, shape) {
                    assert_eq!(Some(direct), expected, "{shape:?}");
                }
                seen += 1;
            }
        }
        assert!(seen > 40, "{seen} shapes");
        // Where `layout_of` refuses, so does the quick path.
        let types = &[];
        let deep = (0..=MAX_SHAPE_NESTING + 1).fold(Shape::Bool, |s, _| Shape::Option(Box::new(s)));
        let huge = Shape::Array(Box::new(Shape::Int(Int::U64)), 1 << 40);
        let missing = Shape::Option(Box::new(Shape::Named(3)));
        for shape in [deep, huge, missing] {
            assert!(layout_of(types, &shape).is_err(), "{shape:?}");
            assert_eq!(quick_layout(types, &shape, 0), None, "{shape:?}");
        }
    }

    #[test]
    fn btree_nodes_hold_five_entries_then_a_length_or_six_children() {
        let nodes = node_layout(int_layout(Int::U32), layout(8, 4)).unwrap();
        assert_eq!((nodes.keys, nodes.values), (4, 24));
        assert_eq!(nodes.node, layout(64, 4));
        assert_eq!((nodes.leaf, nodes.leaf_len), (layout(68, 4), 64));
        assert_eq!((nodes.inner, nodes.inner_children), (layout(88, 4), 64));
        let nodes = node_layout(int_layout(Int::U128), layout(0, 1)).unwrap();
        assert_eq!((nodes.keys, nodes.values, nodes.node), (16, 96, layout(96, 16)));
        assert_eq!((nodes.leaf, nodes.leaf_len), (layout(112, 16), 96));
        assert_eq!((nodes.inner, nodes.inner_children), (layout(128, 16), 96));
        let nodes = node_layout(layout(0, 1), layout(0, 1)).unwrap();
        assert_eq!(
            (nodes.node, nodes.leaf, nodes.inner),
            (layout(1, 1), layout(8, 4), layout(28, 4))
        );
    }
}
