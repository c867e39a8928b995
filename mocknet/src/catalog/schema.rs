//! The catalog's JSON shape, as serde reads it; [`compile`](super::compile) turns it into
//! scenarios.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCatalog {
    #[serde(default)]
    pub(super) scenarios: BTreeMap<String, RawScenario>,
    #[serde(default)]
    pub(super) overlays: BTreeMap<String, RawOverlay>,
    #[serde(default)]
    pub(super) networks: BTreeMap<String, super::networks::RawNetwork>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScenario {
    #[serde(default, rename = "description")]
    _description: Option<String>,
    pub(super) extends: Option<String>,
    pub(super) initial_state: Option<String>,
    #[serde(default)]
    pub(super) routes: Vec<RawRoute>,
    #[serde(default)]
    pub(super) faults: Vec<RawFault>,
    #[serde(default)]
    pub(super) overlays: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOverlay {
    #[serde(default, rename = "description")]
    _description: Option<String>,
    pub(super) faults: Vec<RawFault>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRoute {
    pub(super) name: String,
    pub(super) method: Option<String>,
    pub(super) path: Option<String>,
    pub(super) path_prefix: Option<String>,
    pub(super) path_regex: Option<String>,
    #[serde(default)]
    pub(super) headers: BTreeMap<String, String>,
    /// Headers that must be present with any value (recorded secrets).
    #[serde(default)]
    pub(super) headers_present: Vec<String>,
    #[serde(default)]
    pub(super) query: BTreeMap<String, String>,
    pub(super) body_json: Option<Value>,
    pub(super) body_partial_json: Option<Value>,
    pub(super) when_state: Option<String>,
    pub(super) set_state: Option<String>,
    pub(super) response: Option<RawResponse>,
    pub(super) responses: Option<Vec<RawResponse>>,
    #[serde(default)]
    pub(super) faults: Vec<RawFault>,
    pub(super) callback: Option<RawCallback>,
    /// Per-call steps: the `n`-th matching request gets step `n`; the last repeats.
    pub(super) sequence: Option<Vec<RawStep>>,
    /// After this many matches the route stops matching.
    pub(super) up_to_n_times: Option<u64>,
    /// Lower is tried first; 5 by default.
    pub(super) priority: Option<u8>,
    /// How many requests the route must match: a count or `{"min": a, "max": b}`.
    pub(super) expect: Option<RawTimes>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStep {
    #[serde(default)]
    pub(super) faults: Vec<RawFault>,
    pub(super) response: Option<RawResponse>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawTimes {
    Exactly(u64),
    Range {
        #[serde(default)]
        min: u64,
        max: Option<u64>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCallback {
    pub(super) method: Option<String>,
    pub(super) url: String,
    #[serde(default)]
    pub(super) headers: BTreeMap<String, String>,
    pub(super) json: Option<Value>,
    pub(super) text: Option<String>,
    #[serde(default)]
    pub(super) delay_ms: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawResponse {
    #[serde(default = "ok")]
    pub(super) status: u16,
    #[serde(default)]
    pub(super) headers: BTreeMap<String, String>,
    pub(super) json: Option<Value>,
    pub(super) text: Option<String>,
    /// The body's bytes in standard base64 (recorded bodies that are not text).
    pub(super) base64: Option<String>,
}

fn ok() -> u16 {
    200
}

fn always() -> f64 {
    1.0
}

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub(super) enum RawFault {
    Latency {
        ms: u64,
        #[serde(default = "always")]
        probability: f64,
    },
    JitterUniform {
        min_ms: u64,
        max_ms: u64,
        #[serde(default = "always")]
        probability: f64,
    },
    JitterLognormal {
        p50_ms: u64,
        p99_ms: u64,
        #[serde(default = "always")]
        probability: f64,
    },
    Status {
        status: u16,
        retry_after_s: Option<u64>,
        #[serde(default = "always")]
        probability: f64,
    },
    Reset {
        #[serde(default = "always")]
        probability: f64,
    },
    Empty {
        #[serde(default = "always")]
        probability: f64,
    },
    Malformed {
        #[serde(default = "always")]
        probability: f64,
    },
    Truncated {
        #[serde(default = "always")]
        probability: f64,
    },
    Dribble {
        chunk_bytes: usize,
        interval_ms: u64,
        #[serde(default = "always")]
        probability: f64,
    },
    Bandwidth {
        bytes_per_second: u64,
        #[serde(default = "always")]
        probability: f64,
    },
    Hang {
        #[serde(default = "always")]
        probability: f64,
    },
    Refused {
        for_ms: u64,
        #[serde(default = "always")]
        probability: f64,
    },
    CloseOnAccept {
        connections: usize,
        #[serde(default = "always")]
        probability: f64,
    },
}

#[cfg(test)]
mod tests {
    use crate::catalog::tests::message;

    #[test]
    fn negative_duration_is_rejected_at_its_path() {
        let text = message(
            r#"{"scenarios": {"s": {"routes": [{"name": "r", "response": {},
                "faults": [{"kind": "latency", "ms": -5}]}]}}}"#,
        );
        assert!(text.contains("scenarios.s.routes[0].faults[0]"), "{text}");
        assert!(text.contains("-5"), "{text}");
    }

    #[test]
    fn unknown_fault_field_is_rejected() {
        let text =
            message(r#"{"scenarios": {"s": {"faults": [{"kind": "reset", "chance": 0.5}]}}}"#);
        assert!(text.contains("chance"), "{text}");
    }
}
