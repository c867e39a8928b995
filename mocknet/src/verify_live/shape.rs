//! Comparing the shape of two JSON documents: fields missing or added, types changed, each
//! with its JSON pointer; values only at the pointers asked for.

use serde_json::Value;

use super::report::DriftKind;

/// One difference between the recorded and the live document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ShapeDrift {
    pub(crate) kind: DriftKind,
    pub(crate) pointer: String,
    pub(crate) recorded: String,
    pub(crate) live: String,
}

/// What to leave out and what to compare by value, as JSON pointers.
pub(crate) struct Rules<'a> {
    pub(crate) ignore: &'a [String],
    pub(crate) compare: &'a [String],
}

impl Rules<'_> {
    fn ignored(&self, pointer: &str) -> bool {
        self.ignore.iter().any(|ignored| {
            pointer == ignored
                || pointer
                    .strip_prefix(ignored.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
                || ignored.is_empty()
        })
    }
}

/// The drifts from `recorded` to `live`, in document order (recorded fields first, then the
/// added ones, each sorted by key).
pub(crate) fn diff(recorded: &Value, live: &Value, rules: &Rules<'_>) -> Vec<ShapeDrift> {
    let mut out = Vec::new();
    walk(recorded, live, String::new(), rules, &mut out);
    out
}

fn walk(
    recorded: &Value,
    live: &Value,
    pointer: String,
    rules: &Rules<'_>,
    out: &mut Vec<ShapeDrift>,
) {
    if rules.ignored(&pointer) {
        return;
    }
    let drift = |kind, recorded: String, live: String| ShapeDrift {
        kind,
        pointer: pointer.clone(),
        recorded,
        live,
    };
    if type_name(recorded) != type_name(live) {
        out.push(drift(
            DriftKind::TypeChanged,
            type_name(recorded).into(),
            type_name(live).into(),
        ));
        return;
    }
    if rules.compare.contains(&pointer) && recorded != live {
        out.push(drift(
            DriftKind::ValueChanged,
            recorded.to_string(),
            live.to_string(),
        ));
        return;
    }
    match (recorded, live) {
        (Value::Object(was), Value::Object(now)) => {
            for (key, value) in was {
                let child = format!("{pointer}/{}", escape(key));
                match now.get(key) {
                    Some(live_value) => walk(value, live_value, child, rules, out),
                    None if !rules.ignored(&child) => out.push(ShapeDrift {
                        kind: DriftKind::FieldMissing,
                        pointer: child,
                        recorded: type_name(value).into(),
                        live: String::new(),
                    }),
                    None => {}
                }
            }
            for (key, value) in now {
                let child = format!("{pointer}/{}", escape(key));
                if !was.contains_key(key) && !rules.ignored(&child) {
                    out.push(ShapeDrift {
                        kind: DriftKind::FieldAdded,
                        pointer: child,
                        recorded: String::new(),
                        live: type_name(value).into(),
                    });
                }
            }
        }
        // Items are compared where both have one: a list's length is a value, not a shape.
        (Value::Array(was), Value::Array(now)) => {
            for (index, (was, now)) in was.iter().zip(now).enumerate() {
                walk(was, now, format!("{pointer}/{index}"), rules, out);
            }
        }
        _ => {}
    }
}

/// RFC 6901 escaping of one reference token.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pointers(
        recorded: Value,
        live: Value,
        ignore: &[&str],
        compare: &[&str],
    ) -> Vec<(DriftKind, String)> {
        let ignore: Vec<String> = ignore.iter().map(|p| p.to_string()).collect();
        let compare: Vec<String> = compare.iter().map(|p| p.to_string()).collect();
        let rules = Rules {
            ignore: &ignore,
            compare: &compare,
        };
        diff(&recorded, &live, &rules)
            .into_iter()
            .map(|drift| (drift.kind, drift.pointer))
            .collect()
    }

    #[test]
    fn renamed_and_retyped_fields_are_reported_with_their_pointers() {
        let drifts = pointers(
            json!({"id": 1, "name": "ann", "tags": [{"a/b": 1}]}),
            json!({"id": "1", "full_name": "ann", "tags": [{"a/b": true}]}),
            &[],
            &[],
        );

        assert_eq!(
            drifts,
            [
                (DriftKind::TypeChanged, "/id".to_string()),
                (DriftKind::FieldMissing, "/name".to_string()),
                (DriftKind::TypeChanged, "/tags/0/a~1b".to_string()),
                (DriftKind::FieldAdded, "/full_name".to_string()),
            ]
        );
    }

    #[test]
    fn values_differ_only_where_asked_and_ignored_pointers_are_skipped() {
        let recorded = json!({"id": 1, "meta": {"at": 5}, "n": 2});
        let live = json!({"id": 2, "meta": {"at": "x"}, "n": 3});

        assert_eq!(
            pointers(recorded.clone(), live.clone(), &["/meta"], &["/id"]),
            [(DriftKind::ValueChanged, "/id".to_string())]
        );
        assert_eq!(pointers(recorded, live, &["/meta/at"], &[]), []);
    }
}
