//! Trace trees inside failure messages: steadfast-tracing-core's trace assertions panic with
//! every recorded trace drawn as
//!
//! ```text
//! trace 4bf92f3577b34da6a3ce929d0e0e4736 (2 spans)
//! └── GET /orders [server] 00f067aa0ba902b7
//!     └── charge [client] 0000000000000002
//! ```
//!
//! which the report shows as a nested list instead of as text.

/// One span line of a drawn tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SpanLine {
    /// 0 for a root.
    pub depth: usize,
    /// The rest of the line: `name [kind] span-id`, and what the drawing adds.
    pub text: String,
}

/// One drawn trace: its header line and its spans, depth first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TraceTree {
    pub header: String,
    pub spans: Vec<SpanLine>,
}

/// Splits `message` into its text without the drawn trees, and the trees.
pub(crate) fn split_trees(message: &str) -> (String, Vec<TraceTree>) {
    let mut text = String::new();
    let mut trees: Vec<TraceTree> = Vec::new();
    let mut lines = message.lines().peekable();
    while let Some(line) = lines.next() {
        if !is_header(line) {
            text.push_str(line);
            text.push('\n');
            continue;
        }
        let mut tree = TraceTree {
            header: line.trim().to_owned(),
            spans: Vec::new(),
        };
        while let Some(span) = lines.peek().and_then(|next| span_line(next)) {
            tree.spans.push(span);
            lines.next();
        }
        trees.push(tree);
    }
    let kept = text.trim_end().len();
    text.truncate(kept);
    (text, trees)
}

/// `trace <32 hex digits> (N spans)`.
fn is_header(line: &str) -> bool {
    let Some(rest) = line.trim().strip_prefix("trace ") else {
        return false;
    };
    let (id, count) = rest.split_at_checked(32).unwrap_or(("", ""));
    id.bytes().all(|b| b.is_ascii_hexdigit())
        && !id.is_empty()
        && count.starts_with(" (")
        && count.ends_with(" spans)")
}

/// `│   ` or four spaces per level above, then `├── ` or `└── `, then the span.
fn span_line(line: &str) -> Option<SpanLine> {
    let mut rest = line;
    let mut depth = 0;
    loop {
        if let Some(span) = rest
            .strip_prefix("├── ")
            .or_else(|| rest.strip_prefix("└── "))
        {
            return Some(SpanLine {
                depth,
                text: span.to_owned(),
            });
        }
        rest = rest
            .strip_prefix("│   ")
            .or_else(|| rest.strip_prefix("    "))?;
        depth += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drawn_forest_becomes_depths_and_the_text_around_it_stays() {
        let message = "steadfast: expected one trace id (found 2)\nrecorded spans:\n\
             trace 00000000000000000000000000000001 (3 spans)\n\
             └── GET / [server] 0000000000000001\n    \
                 ├── db [client] 0000000000000002\n    \
                 │   └── row [internal] 0000000000000004\n    \
                 └── cache [client] 0000000000000003\n\
             trace 00000000000000000000000000000002 (1 spans)\n\
             └── stray [internal] 0000000000000009 (missing parent 0000000000000008)\n\
             at src/lib.rs:3";
        let (text, trees) = split_trees(message);
        assert_eq!(
            text,
            "steadfast: expected one trace id (found 2)\nrecorded spans:\nat src/lib.rs:3"
        );
        assert_eq!(trees.len(), 2);
        let depths: Vec<usize> = trees[0].spans.iter().map(|span| span.depth).collect();
        assert_eq!(depths, [0, 1, 2, 1]);
        assert_eq!(trees[0].spans[2].text, "row [internal] 0000000000000004");
        assert_eq!(
            trees[1].header,
            "trace 00000000000000000000000000000002 (1 spans)"
        );
    }

    #[test]
    fn a_message_without_trees_is_left_alone() {
        let (text, trees) = split_trees("trace of nothing\n└── not after a header");
        assert_eq!(text, "trace of nothing\n└── not after a header");
        assert!(trees.is_empty());
    }
}
