//! The names closest to a mistyped one, by edit distance.

/// How many names an error suggests.
const SUGGESTIONS: usize = 3;

/// The Levenshtein distance between `a` and `b`: the fewest single-character
/// insertions, deletions and substitutions that turn one into the other.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    // One row of the dynamic-programming table at a time.
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

/// Up to three of `candidates` nearest to `name`, nearest first (ties in
/// name order), each once.
pub(crate) fn closest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Vec<&'a str> {
    let mut ranked: Vec<(usize, &str)> = candidates
        .into_iter()
        .map(|candidate| (distance(name, candidate), candidate))
        .collect();
    ranked.sort_unstable();
    ranked.dedup();
    ranked
        .into_iter()
        .take(SUGGESTIONS)
        .map(|(_, candidate)| candidate)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_insertions_deletions_and_substitutions() {
        assert_eq!(distance("", ""), 0);
        assert_eq!(distance("home", "home"), 0);
        assert_eq!(distance("hom", "home"), 1);
        assert_eq!(distance("home", "hmoe"), 2);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("pages/hôme", "pages/home"), 1);
    }

    #[test]
    fn closest_ranks_by_distance_then_name_and_keeps_three() {
        let names = ["settings", "pages/home", "home", "homes", "login", "home"];
        assert_eq!(closest("hom", names), ["home", "homes", "login"]);
        assert_eq!(closest("x", ["b", "a"]), ["a", "b"]);
        assert!(closest("x", []).is_empty());
    }
}
