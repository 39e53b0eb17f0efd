//! Iterators over a value's parts: [`Elements`], [`Entries`], [`Fields`]. None allocates; the
//! first two stop with a [`Limit`](super::DynErrorKind::Limit) error after
//! [`work_budget`](super::work_budget) items.

use std::fmt;

use crate::schema::{Field, Shape};

use super::archive::DynArchive;
use super::btree::{Tree, TreeIter};
use super::error::DynError;
use super::hash::{Table, TableIter};
use super::layout::ReprC;
use super::value::{Run, Value};
use super::work_budget;

/// Items left before an iterator over an archive of `len` bytes stops.
#[derive(Clone, Copy, Debug)]
struct Budget {
    left: u64,
    len: usize,
}

impl Budget {
    fn of(archive: DynArchive<'_>) -> Budget {
        let len = archive.bytes().len();
        Budget { left: work_budget(len), len }
    }

    fn spend(&mut self) -> Result<(), DynError> {
        if self.left == 0 {
            return Err(DynError::limit(format!(
                "more than {} items, the most an iteration over a {}-byte archive yields",
                work_budget(self.len),
                self.len
            )));
        }
        self.left -= 1;
        Ok(())
    }
}

/// The elements of a list, tuple or set: [`Value::elements`].
#[derive(Clone)]
pub struct Elements<'a> {
    inner: ElementsInner<'a>,
    budget: Budget,
}

// A B-tree iterator carries its stack of nodes instead of allocating one.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
enum ElementsInner<'a> {
    Run {
        archive: DynArchive<'a>,
        run: Run<'a>,
        next: usize,
    },
    Tuple {
        archive: DynArchive<'a>,
        elements: &'a [Shape],
        position: usize,
        next: usize,
        layout: ReprC,
    },
    Table(TableIter<'a>),
    Tree(TreeIter<'a>),
    Done,
}

impl<'a> Elements<'a> {
    pub(super) fn run(archive: DynArchive<'a>, run: Run<'a>) -> Elements<'a> {
        Elements {
            inner: ElementsInner::Run { archive, run, next: 0 },
            budget: Budget::of(archive),
        }
    }

    pub(super) fn tuple(
        archive: DynArchive<'a>,
        elements: &'a [Shape],
        position: usize,
    ) -> Elements<'a> {
        Elements {
            inner: ElementsInner::Tuple {
                archive,
                elements,
                position,
                next: 0,
                layout: ReprC::new(),
            },
            budget: Budget::of(archive),
        }
    }

    pub(super) fn table(table: Table<'a>) -> Elements<'a> {
        let budget = Budget::of(table.archive());
        Elements { inner: ElementsInner::Table(table.iter()), budget }
    }

    pub(super) fn tree(tree: Tree<'a>) -> Elements<'a> {
        let budget = Budget::of(tree.archive());
        Elements { inner: ElementsInner::Tree(tree.iter()), budget }
    }

    fn element(&mut self) -> Option<Result<Value<'a>, DynError>> {
        match &mut self.inner {
            ElementsInner::Run { archive, run, next } => {
                let index = *next;
                (index < run.len).then(|| {
                    *next += 1;
                    Ok(Value::new(*archive, run.element, run.start + index * run.stride))
                })
            }
            ElementsInner::Tuple { archive, elements, position, next, layout } => {
                let element = elements.get(*next)?;
                *next += 1;
                Some(archive.layout(element).and_then(|l| {
                    let offset = layout
                        .place(l)
                        .ok_or_else(|| DynError::structure("", "a tuple too large"))?;
                    Ok(Value::new(*archive, element, *position + offset as usize))
                }))
            }
            ElementsInner::Table(iter) => iter.next().map(|item| item.map(|(k, _)| k)),
            ElementsInner::Tree(iter) => iter.next().map(|item| item.map(|(k, _)| k)),
            ElementsInner::Done => None,
        }
    }
}

impl<'a> Iterator for Elements<'a> {
    type Item = Result<Value<'a>, DynError>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = self.element()?;
        let item = self.budget.spend().and(item);
        if item.is_err() {
            self.inner = ElementsInner::Done;
        }
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.inner {
            ElementsInner::Run { run, next, .. } => {
                let left = run.len - next;
                (0, Some(left))
            }
            ElementsInner::Tuple { elements, next, .. } => (0, Some(elements.len() - next)),
            ElementsInner::Done => (0, Some(0)),
            _ => (0, None),
        }
    }
}

impl fmt::Debug for Elements<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Elements")
    }
}

/// The entries of a map, `(key, value)`: [`Value::entries`].
#[derive(Clone)]
pub struct Entries<'a> {
    inner: EntriesInner<'a>,
    budget: Budget,
}

#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
enum EntriesInner<'a> {
    Table(TableIter<'a>),
    Tree(TreeIter<'a>),
    Done,
}

impl<'a> Entries<'a> {
    pub(super) fn table(table: Table<'a>) -> Entries<'a> {
        let budget = Budget::of(table.archive());
        Entries { inner: EntriesInner::Table(table.iter()), budget }
    }

    pub(super) fn tree(tree: Tree<'a>) -> Entries<'a> {
        let budget = Budget::of(tree.archive());
        Entries { inner: EntriesInner::Tree(tree.iter()), budget }
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<(Value<'a>, Value<'a>), DynError>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = match &mut self.inner {
            EntriesInner::Table(iter) => iter.next()?,
            EntriesInner::Tree(iter) => iter.next()?,
            EntriesInner::Done => return None,
        };
        // A map's entries always have a value; a set's are read through `Elements`.
        let item = self.budget.spend().and(item).map(|(k, v)| (k, v.unwrap_or(k)));
        if item.is_err() {
            self.inner = EntriesInner::Done;
        }
        Some(item)
    }
}

impl fmt::Debug for Entries<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Entries")
    }
}

/// The fields of a struct or enum variant, `(name, value)`: [`Value::fields`].
#[derive(Clone)]
pub struct Fields<'a> {
    archive: DynArchive<'a>,
    position: usize,
    list: std::slice::Iter<'a, Field>,
}

impl<'a> Fields<'a> {
    pub(super) fn new(archive: DynArchive<'a>, position: usize, list: &'a [Field]) -> Fields<'a> {
        Fields { archive, position, list: list.iter() }
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = (&'a str, Value<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let field = self.list.next()?;
        // Inside the value: the structure check put every field inside its type.
        let value = Value::new(self.archive, &field.shape, self.position + field.offset as usize);
        Some((field.name.as_str(), value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.list.size_hint()
    }
}

impl ExactSizeIterator for Fields<'_> {}

impl fmt::Debug for Fields<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Fields")
    }
}
