//! The built-in overlays: `degraded-network`, `offline` and `slow`.

use std::collections::BTreeMap;

use crate::fault::{Effect, Fault};
use crate::scenario::Overlay;

pub(super) fn builtin_overlays() -> BTreeMap<String, Overlay> {
    let always = |effect| Fault {
        probability: 1.0,
        effect,
    };
    // log(1200/80) / z_0.99: the degraded network's tail is 15x its median.
    let degraded_jitter = Effect::LogNormalJitter {
        mu: 80f64.ln(),
        sigma: (1200f64 / 80.0).ln() / 2.326_347_874_040_840_8,
    };
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
