//! The layer and its builder.

use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use steadfast_determinism::{DetRng, Seed, TestContext};
use tower_layer::Layer;

use crate::decide::Shared;
use crate::error::{Error, ErrorKind};
use crate::fault::Fault;
use crate::journal::Journal;
use crate::mode::Wrap;
use crate::service::FaultService;

/// The label of the [`DetRng`] stream the share of faulty requests is drawn from.
pub const RNG_STREAM: &str = "steadfast-tower";

/// A tower [`Layer`] that injects faults into the service it wraps.
///
/// Built with [`FaultLayer::builder`] it is enabled: each request may switch a fault on with
/// the [`FAULT_HEADER`](crate::FAULT_HEADER) header or the
/// [`FAULT_QUERY`](crate::FAULT_QUERY) query parameter, and a
/// [`share`](FaultLayerBuilder::share) of requests drawn from the seed get a fault without
/// asking. [`FaultLayer::disabled`] (or `.enabled(false)`) is a no-op: it reads no header,
/// draws nothing and hands the service's own future back, so the layer can stay in the
/// production stack behind a flag.
///
/// `M` is the [`BodyMode`](crate::mode::BodyMode): which body type the responses carry. The
/// default, [`Wrap`], works for every tower HTTP service; in an axum `Router` use
/// [`for_axum`](FaultLayer::for_axum) (the `axum` feature), whose responses keep axum's own
/// `Body` so axum does not box them again.
#[derive(Debug, Clone)]
pub struct FaultLayer<M = Wrap> {
    shared: Option<Arc<Shared>>,
    // `fn() -> M`: the mode is a type-level choice, and the layer is Send and Sync whatever it is.
    mode: PhantomData<fn() -> M>,
}

impl FaultLayer {
    /// A builder for an enabled layer.
    pub fn builder() -> FaultLayerBuilder {
        FaultLayerBuilder {
            enabled: true,
            share: None,
            seed: None,
        }
    }

    /// A layer that does nothing.
    pub fn disabled() -> Self {
        Self {
            shared: None,
            mode: PhantomData,
        }
    }

    /// The same layer (it shares the journal and the seeded draws with `self` and its clones),
    /// answering with `axum::body::Body`: the service's `Body` is handed back as it came, and
    /// the layer's own answers are `Body`s too. Use it with axum's `Router::layer` and
    /// `Router::route_layer`, which box any other response body into a new `Body` on every
    /// response, enabled or not.
    ///
    /// ```
    /// use axum::{Router, routing::get};
    /// use steadfast_tower::FaultLayer;
    ///
    /// let faults = FaultLayer::builder().build()?;
    /// let app: Router = Router::new()
    ///     .route("/orders", get(|| async { "orders" }))
    ///     .layer(faults.clone().for_axum());
    /// assert!(faults.journal().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "axum")]
    #[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
    pub fn for_axum(self) -> FaultLayer<crate::mode::Axum> {
        FaultLayer {
            shared: self.shared,
            mode: PhantomData,
        }
    }
}

impl<M> FaultLayer<M> {
    /// True unless the layer is a no-op.
    pub fn is_enabled(&self) -> bool {
        self.shared.is_some()
    }

    /// The faults injected so far by every service this layer made; empty when disabled.
    pub fn journal(&self) -> Journal {
        self.shared
            .as_ref()
            .map(|shared| shared.journal.clone())
            .unwrap_or_default()
    }
}

/// Builds a [`FaultLayer`]; see [`FaultLayer::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct FaultLayerBuilder {
    enabled: bool,
    share: Option<(f64, Fault)>,
    seed: Option<Seed>,
}

impl FaultLayerBuilder {
    /// Whether the layer does anything (default `true`). Wire it to a flag to keep one service
    /// stack for tests and production: `.enabled(cfg!(debug_assertions))`, or a setting of
    /// your own.
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// Injects `fault` into a `share` (0 to 1) of the requests that ask for none. Each request
    /// draws one number from the seed's [`RNG_STREAM`] stream, in the order requests reach the
    /// layer, also those that ask for a fault, so the same seed and the same request order
    /// pick the same requests.
    pub fn share(mut self, share: f64, fault: Fault) -> Self {
        self.share = Some((share, fault));
        self
    }

    /// The seed of the share draws (default: the seed of the test current when
    /// [`build`](Self::build) runs, else the run seed from `STEADFAST_SEED`, else 0).
    pub fn seed(mut self, seed: Seed) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The layer.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidShare`] for a share that is not a number from 0 to 1;
    /// [`ErrorKind::InvalidEnv`] when the seed comes from a malformed `STEADFAST_SEED`.
    pub fn build(self) -> Result<FaultLayer, Error> {
        if !self.enabled {
            return Ok(FaultLayer::disabled());
        }
        if let Some((share, _)) = self.share
            && !(0.0..=1.0).contains(&share)
        {
            return Err(Error::new(
                ErrorKind::InvalidShare,
                &share.to_string(),
                "a number from 0 to 1",
            ));
        }
        let share = self.share;
        let seed = match self.seed {
            Some(seed) => seed,
            None => match TestContext::try_current() {
                Some(ctx) => ctx.seed(),
                None => Seed::run_seed().map_err(|err| {
                    Error::invalid_env(
                        "STEADFAST_SEED",
                        err.input().unwrap_or(""),
                        "a decimal u64 or 0x followed by up to 16 hex digits",
                    )
                })?,
            },
        };
        Ok(FaultLayer {
            shared: Some(Arc::new(Shared {
                share,
                rng: Mutex::new(DetRng::from_seed(seed).fork(RNG_STREAM)),
                journal: Journal::default(),
            })),
            mode: PhantomData,
        })
    }
}

impl<S, M> Layer<S> for FaultLayer<M> {
    type Service = FaultService<S, M>;

    fn layer(&self, inner: S) -> FaultService<S, M> {
        FaultService::new(inner, self.shared.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_outside_zero_to_one_is_refused() {
        let err = FaultLayer::builder()
            .seed(Seed::new(1))
            .share(1.5, Fault::fail())
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidShare);
        assert_eq!(
            err.to_string(),
            "invalid share of requests 1.5: expected a number from 0 to 1"
        );
    }
}
