//! "Did you mean" suggestions for misspelt attribute keys and size units.

/// The candidate closest to `word`, if one is close enough that suggesting it is more likely
/// to help than to confuse: a small edit distance, the same word in another case, or one of a
/// few synonyms people reach for.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: &[&'a str],
    synonyms: &[(&str, &'a str)],
) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase().replace('-', "_");
    if let Some(&(_, target)) = synonyms.iter().find(|(alias, _)| *alias == lower) {
        return Some(target);
    }
    candidates
        .iter()
        .map(|candidate| (edit_distance(&lower, &candidate.to_ascii_lowercase()), *candidate))
        .filter(|&(distance, candidate)| distance <= max_distance(candidate))
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, candidate)| candidate)
}

/// Typos allowed before a word stops looking like `candidate`: one per three letters, at
/// least one.
fn max_distance(candidate: &str) -> usize {
    (candidate.len() / 3).max(1)
}

/// Levenshtein distance with adjacent transpositions counted as one edit (`cpoies` is one
/// typo away from `copies`, not two).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows[i][j] = distance between a[..i] and b[..j]
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best =
                (rows[i - 1][j] + 1).min(rows[i][j - 1] + 1).min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: &[&str] =
        &["path", "copies", "readers", "max_size", "env", "schema_version", "crate"];

    #[test]
    fn suggests_keys_one_typo_away() {
        assert_eq!(closest("copys", KEYS, &[]), Some("copies"));
        assert_eq!(closest("cpoies", KEYS, &[]), Some("copies"));
        assert_eq!(closest("reader", KEYS, &[]), Some("readers"));
        assert_eq!(closest("max-size", KEYS, &[]), Some("max_size"));
        assert_eq!(closest("Path", KEYS, &[]), Some("path"));
    }

    #[test]
    fn suggests_synonyms() {
        assert_eq!(
            closest("version", KEYS, &[("version", "schema_version")]),
            Some("schema_version")
        );
    }

    #[test]
    fn does_not_suggest_unrelated_words() {
        assert_eq!(closest("colour", KEYS, &[]), None);
        assert_eq!(closest("x", KEYS, &[]), None);
    }

    #[test]
    fn transposition_is_one_edit() {
        assert_eq!(edit_distance("ab", "ba"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
