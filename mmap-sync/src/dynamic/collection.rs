//! What a [`Value`] holds more than one of: the elements of a list, tuple or set, the entries of
//! a map (looked up by key in rkyv's hash table or B-tree), the fields of a struct or variant,
//! and how many there are. These methods of `Value` and `EnumValue` live here, above the hash
//! table, the B-tree and the iterators, which are themselves built of values.

use crate::schema::Shape;

use super::btree::Tree;
use super::error::DynError;
use super::hash::Table;
use super::iter::{Elements, Entries, Fields};
use super::key::Key;
use super::value::{EnumValue, Value};

impl<'a> Value<'a> {
    /// The value of `key` in a map (`HashMap`, `BTreeMap`), or the element equal to `key` in a
    /// set; `Ok(None)` when there is none. A `HashMap` is probed as rkyv does (the key hashed
    /// with rkyv's hasher, its swiss table probed), a `BTreeMap` descended: no scan.
    pub fn get<'k>(&self, key: impl Into<Key<'k>>) -> Result<Option<Value<'a>>, DynError> {
        let key = key.into();
        let value = self.navigable()?;
        let found = match value.shape {
            Shape::HashMap(k, v) => Table::open(value, k, Some(v))?.get(key),
            Shape::HashSet(k) => Table::open(value, k, None)?.get(key),
            Shape::BTreeMap(k, v) => Tree::open(value, k, Some(v))?.get(key),
            Shape::BTreeSet(k) => Tree::open(value, k, None)?.get(key),
            _ => return Err(value.wrong_kind("is not a map or set")),
        };
        let found = found.map_err(|e| e.under_key(&key.segment()))?;
        Ok(found.map(|(k, v)| v.unwrap_or(k)))
    }

    /// Whether a map has the key, or a set the element.
    pub fn contains<'k>(&self, key: impl Into<Key<'k>>) -> Result<bool, DynError> {
        Ok(self.get(key)?.is_some())
    }

    /// How many elements a list, tuple, map or set has, how many bytes a string, how many
    /// fields a struct (or the current variant of an enum).
    pub fn len(&self) -> Result<usize, DynError> {
        let value = self.resolved()?;
        match value.shape {
            Shape::Vec(_) | Shape::BoxSlice(_) | Shape::Array(..) => Ok(value.run()?.len),
            Shape::Tuple(elements) => Ok(elements.len()),
            Shape::String | Shape::BoxStr => Ok(value.str_bytes()?.len()),
            Shape::HashMap(k, v) => Ok(Table::open(value, k, Some(v))?.len()),
            Shape::HashSet(k) => Ok(Table::open(value, k, None)?.len()),
            Shape::BTreeMap(k, v) => Ok(Tree::open(value, k, Some(v))?.len()),
            Shape::BTreeSet(k) => Ok(Tree::open(value, k, None)?.len()),
            Shape::Named(index) => Ok(value.fields_of(value.definition(*index)?)?.1.list.len()),
            _ => Err(value.wrong_kind("has no length")),
        }
    }

    /// Whether [`len`](Self::len) is 0.
    pub fn is_empty(&self) -> Result<bool, DynError> {
        Ok(self.len()? == 0)
    }

    /// The elements of a list, tuple or set, in order (a `HashSet`'s in its storage order).
    ///
    /// Like every iterator of this module, it stops with a [`Limit`](super::DynErrorKind::Limit)
    /// error after [`work_budget`](super::work_budget) steps, so that no archive can make a
    /// loop over it last longer than its size warrants.
    pub fn elements(&self) -> Result<Elements<'a>, DynError> {
        let value = self.resolved()?;
        match value.shape {
            Shape::Vec(_) | Shape::BoxSlice(_) | Shape::Array(..) => {
                Ok(Elements::run(value.archive, value.run()?))
            }
            Shape::Tuple(elements) => Ok(Elements::tuple(value.archive, elements, value.position)),
            Shape::HashSet(k) => Ok(Elements::table(Table::open(value, k, None)?)),
            Shape::BTreeSet(k) => Ok(Elements::tree(Tree::open(value, k, None)?)),
            _ => Err(value.wrong_kind("has no elements")),
        }
    }

    /// The entries of a map, `(key, value)`, in order (a `HashMap`'s in its storage order).
    pub fn entries(&self) -> Result<Entries<'a>, DynError> {
        let value = self.resolved()?;
        match value.shape {
            Shape::HashMap(k, v) => Ok(Entries::table(Table::open(value, k, Some(v))?)),
            Shape::BTreeMap(k, v) => Ok(Entries::tree(Tree::open(value, k, Some(v))?)),
            _ => Err(value.wrong_kind("is not a map")),
        }
    }

    /// The fields of a struct, or of the current variant of an enum, `(name, value)` in
    /// declaration order.
    pub fn fields(&self) -> Result<Fields<'a>, DynError> {
        let value = self.resolved()?;
        match value.shape {
            Shape::Named(index) => {
                let (_, fields) = value.fields_of(value.definition(*index)?)?;
                Ok(Fields::new(value.archive, value.position, &fields.list))
            }
            _ => Err(value.wrong_kind("has no fields")),
        }
    }
}

impl<'a> EnumValue<'a> {
    /// The variant's fields, `(name, value)` in declaration order.
    pub fn fields(&self) -> Fields<'a> {
        let value = self.value();
        Fields::new(value.archive, value.position, self.field_list())
    }
}
