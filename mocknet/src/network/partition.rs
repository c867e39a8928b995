//! Partitions: which links of a network a cut takes down, both ways or one way.

use crate::link::PartitionMode;

/// Two groups of nodes that cannot reach each other, both ways or one way.
///
/// A symmetric partition cuts every link between the groups; a one-way partition only the
/// links the first group dials the second by, so the second group still reaches the first.
/// By default open connections [stall](PartitionMode::Stall).
///
/// # Example
///
/// ```
/// use steadfast_mocknet::link::PartitionMode;
/// use steadfast_mocknet::network::Partition;
///
/// let split = Partition::symmetric(["leader"], ["follower-1", "follower-2"]);
/// assert_eq!(split.to_string(), "leader | follower-1, follower-2");
/// let deaf = Partition::one_way(["leader"], ["follower-1"]).mode(PartitionMode::Reset);
/// assert_eq!(deaf.to_string(), "leader -> follower-1 (one way, existing connections are reset)");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a partition does nothing until given to Network::partition"]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    pub(crate) a: Vec<String>,
    pub(crate) b: Vec<String>,
    pub(crate) one_way: bool,
    pub(crate) mode: PartitionMode,
}

impl Partition {
    /// Nodes of `a` and nodes of `b` cannot reach each other, either way.
    pub fn symmetric<A, B>(a: A, b: B) -> Self
    where
        A: IntoIterator<Item: Into<String>>,
        B: IntoIterator<Item: Into<String>>,
    {
        Self {
            a: a.into_iter().map(Into::into).collect(),
            b: b.into_iter().map(Into::into).collect(),
            one_way: false,
            mode: PartitionMode::Stall,
        }
    }

    /// Nodes of `from` cannot reach nodes of `to`; `to` still reaches `from`.
    pub fn one_way<A, B>(from: A, to: B) -> Self
    where
        A: IntoIterator<Item: Into<String>>,
        B: IntoIterator<Item: Into<String>>,
    {
        Self {
            one_way: true,
            ..Self::symmetric(from, to)
        }
    }

    /// What happens to open connections (and new ones while the partition lasts).
    pub fn mode(mut self, mode: PartitionMode) -> Self {
        self.mode = mode;
        self
    }

    /// Every ordered pair `(from, to)` whose link the partition cuts.
    pub(crate) fn pairs(&self) -> Vec<(&str, &str)> {
        let mut pairs = Vec::new();
        for a in &self.a {
            for b in &self.b {
                pairs.push((a.as_str(), b.as_str()));
                if !self.one_way {
                    pairs.push((b.as_str(), a.as_str()));
                }
            }
        }
        pairs
    }

    /// The first node named twice (in one group or in both), if any.
    pub(crate) fn named_twice(&self) -> Option<&str> {
        let all: Vec<&String> = self.a.iter().chain(&self.b).collect();
        all.iter()
            .enumerate()
            .find(|(index, name)| all[..*index].contains(name))
            .map(|(_, name)| name.as_str())
    }
}

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let arrow = if self.one_way { "->" } else { "|" };
        write!(f, "{} {arrow} {}", self.a.join(", "), self.b.join(", "))?;
        match (self.one_way, self.mode) {
            (false, PartitionMode::Stall) => Ok(()),
            (one_way, mode) => {
                let way = if one_way { "one way, " } else { "" };
                write!(
                    f,
                    " ({way}existing connections {})",
                    crate::link::mode_words(mode)
                )
            }
        }
    }
}
