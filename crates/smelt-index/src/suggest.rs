//! How close a known plugin name is to one the user typed, for "did you mean …" suggestions.

/// A score for `candidate` as a correction of `wanted` (already lowercase), lower is closer;
/// `None` when it is not worth suggesting. Close means a few edits away (a third of the length,
/// at least two) or containing / contained in the typed name (`github` → `tap-github`).
pub(crate) fn closeness(wanted: &str, candidate: &str) -> Option<usize> {
    let candidate = candidate.to_ascii_lowercase();
    let distance = edit_distance(wanted, &candidate);
    let threshold = (wanted.chars().count() / 3).max(2);
    let substring =
        wanted.len() >= 3 && (candidate.contains(wanted) || wanted.contains(candidate.as_str()));
    (distance <= threshold || substring).then_some(distance)
}

/// Levenshtein distance (insertions, deletions, substitutions), over characters.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_each_kind_of_edit() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("tap-csv", "tap-csv"), 0);
        assert_eq!(edit_distance("tap-csb", "tap-csv"), 1);
        assert_eq!(edit_distance("tap-cv", "tap-csv"), 1);
        assert_eq!(edit_distance("tap-csvv", "tap-csv"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn typos_and_fragments_are_close_strangers_are_not() {
        assert_eq!(closeness("tap-githb", "tap-github"), Some(1));
        assert_eq!(closeness("github", "tap-github"), Some(4));
        assert_eq!(closeness("tap-salesforce", "tap-github"), None);
        assert_eq!(closeness("ab", "tap-github"), None);
    }
}
