//! The one check of a copy's descriptor before its bytes are trusted: readers and `verify` both
//! call it, so that they refuse the same copies for the same reasons, in the same words.

/// What a reader, and `verify`, require of a copy's descriptor before they trust its bytes: the
/// one descriptor check of the crate, so that both describe a broken channel in the same words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DescriptorCheck {
    /// The fingerprint the channel's copies must carry.
    pub fingerprint: u64,
    /// The channel's `max_size`.
    pub max_size: u64,
    /// The size of the archived root, when the checker knows the type (a reader); 0 otherwise.
    pub root_size: u64,
}

/// Why a copy's descriptor cannot be trusted (see [`DescriptorCheck`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum DescriptorProblem {
    /// The published word names this copy, which holds another generation.
    NotPublished {
        /// The copy.
        copy: usize,
        /// The generation its descriptor holds.
        holds: u64,
        /// The generation published in it.
        published: u64,
    },
    /// The copy carries another fingerprint than the channel's.
    Fingerprint {
        /// The generation in the copy.
        generation: u64,
        /// The fingerprint it carries.
        carries: u64,
        /// The channel's.
        expected: u64,
    },
    /// The value would be longer than the channel allows.
    TooLong {
        /// The descriptor's length.
        length: u64,
        /// The channel's `max_size`.
        max_size: u64,
    },
    /// The value would be shorter than the archived root.
    ShorterThanRoot {
        /// The descriptor's length.
        length: u64,
        /// The root's size.
        root_size: u64,
    },
    /// The data file holds fewer bytes than the descriptor promises.
    Truncated {
        /// The descriptor's length.
        length: u64,
        /// The data file's length.
        file_len: u64,
    },
}

impl std::fmt::Display for DescriptorProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DescriptorProblem::NotPublished { copy, holds, published } => write!(
                f,
                "copy {copy} holds generation {holds}, but generation {published} is published in it"
            ),
            DescriptorProblem::Fingerprint { generation, carries, expected } => write!(
                f,
                "generation {generation} carries fingerprint {carries:#018x}; the channel's is \
                 {expected:#018x}"
            ),
            DescriptorProblem::TooLong { length, max_size } => write!(
                f,
                "the descriptor says {length} bytes, more than the channel's max_size {max_size}"
            ),
            DescriptorProblem::ShorterThanRoot { length, root_size } => write!(
                f,
                "the descriptor says {length} bytes, fewer than the archived root's {root_size}"
            ),
            DescriptorProblem::Truncated { length, file_len } => write!(
                f,
                "the descriptor says {length} bytes but the data file has {file_len}: truncated"
            ),
        }
    }
}

impl DescriptorCheck {
    /// The published copy's descriptor must hold the published generation (or 0: the writer's
    /// transient mark while a pinned copy is considered, see `protocol`).
    pub fn published(
        copy: usize,
        holds: u64,
        published: u64,
    ) -> std::result::Result<(), DescriptorProblem> {
        if holds == published || holds == 0 {
            Ok(())
        } else {
            Err(DescriptorProblem::NotPublished { copy, holds, published })
        }
    }

    /// Checks a descriptor's `generation`, `fingerprint` and `length` (as loaded by the caller)
    /// against the channel. Whether the data file holds the `length` bytes is [`Self::holds`],
    /// asked after this passes (a reader that knows its data file is long enough skips it).
    pub fn check(
        &self,
        generation: u64,
        fingerprint: u64,
        length: u64,
    ) -> std::result::Result<(), DescriptorProblem> {
        if fingerprint != self.fingerprint {
            return Err(DescriptorProblem::Fingerprint {
                generation,
                carries: fingerprint,
                expected: self.fingerprint,
            });
        }
        if length > self.max_size {
            return Err(DescriptorProblem::TooLong { length, max_size: self.max_size });
        }
        if length < self.root_size {
            return Err(DescriptorProblem::ShorterThanRoot { length, root_size: self.root_size });
        }
        Ok(())
    }

    /// The data file, `file_len` bytes long, must hold the descriptor's `length` bytes.
    pub fn holds(length: u64, file_len: u64) -> std::result::Result<(), DescriptorProblem> {
        if file_len < length {
            Err(DescriptorProblem::Truncated { length, file_len })
        } else {
            Ok(())
        }
    }
}
