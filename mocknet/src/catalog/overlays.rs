//! The built-in overlays: `degraded-network`, `offline` and `slow`.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::fault::{Effect, Fault};
use crate::scenario::Overlay;

pub(super) fn builtin_overlays() -> BTreeMap<String, Overlay> {
    let always = |effect| Fault {
        probability: 1.0,
        effect,
    };
    // The degraded network's tail is 15x its median. OK because 0 < 80 ms <= 1200 ms.
    let degraded_jitter = Effect::lognormal(Duration::from_millis(80), Duration::from_millis(1200))
        .expect("valid quantiles");
    let overlays = [
        (
            "degraded-network",
            vec![
                always(degraded_jitter),
                Fault {
                    probability: 0.1,
                    effect: Effect::Status {
                        status: 503,
                        retry_after: Some(1),
                    },
                },
                Fault {
                    probability: 0.05,
                    effect: Effect::Reset,
                },
            ],
        ),
        ("offline", vec![always(Effect::Reset)]),
        (
            "slow",
            vec![always(Effect::Bandwidth {
                bytes_per_second: 16 * 1024,
            })],
        ),
    ];
    overlays
        .into_iter()
        .map(|(name, faults)| {
            let name = name.to_string();
            (name.clone(), Overlay { name, faults })
        })
        .collect()
}
