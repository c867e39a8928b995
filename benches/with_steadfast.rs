//! How criterion benchmarks use steadfast; nothing here needs a test context.
//!
//! * `seeded_inputs`: inputs drawn from a `DetRng`, so every run (and every machine) measures the
//!   same data; `STEADFAST_SEED` picks another data set.
//! * `payments_client`: the payments client (a charge and its refund) against a mocknet backend. `happy-path` on real time
//!   is a stable local backend; `charge-failure` on a paused runtime measures the client's own
//!   cost of retries and backoff (1 s of `Retry-After` per charge) without waiting for them.
//!
//! Run: `cargo bench --bench with_steadfast`.

#[path = "../examples/payments/client.rs"]
mod client;

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use steadfast::determinism::{DetRng, Seed};
use steadfast::mocknet::{Catalog, MockNet};

use client::PaymentsClient;

const CATALOG: &str = include_str!("../examples/payments/catalog.json");

/// The bench's seed: `STEADFAST_SEED` derived by the bench name, as tests derive theirs.
fn seed(name: &str) -> Seed {
    Seed::run_seed()
        .expect("STEADFAST_SEED, when set, is a seed")
        .derive(name)
}

/// Order amounts in cents, reproducible from the seed.
fn orders(rng: &mut DetRng, count: usize) -> Vec<u64> {
    (0..count).map(|_| rng.in_range(100..100_000)).collect()
}

fn seeded_inputs(c: &mut Criterion) {
    let mut rng = DetRng::from_seed(seed("bench::seeded_inputs"));
    let amounts = orders(&mut rng, 10_000);
    let mut group = c.benchmark_group("seeded_inputs");
    group.throughput(Throughput::Elements(amounts.len() as u64));
    group.bench_function("sort 10k order amounts", |b| {
        b.iter_batched(
            || amounts.clone(),
            |mut amounts| {
                amounts.sort_unstable();
                black_box(amounts)
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

fn payments_client(c: &mut Criterion) {
    let catalog = Catalog::from_json("examples/payments/catalog.json", CATALOG).expect("catalog");
    let mut group = c.benchmark_group("payments_client");

    let real_time = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let happy = catalog.scenario("happy-path").expect("scenario");
    let bench_seed = seed("bench::payments_client");
    let (net, mut client) = real_time.block_on(async {
        let net = MockNet::builder()
            .scenario(happy)
            .seed(bench_seed)
            .start()
            .await
            .expect("mocknet starts");
        let mut ids = DetRng::from_seed(bench_seed).fork("client-ids");
        let client = PaymentsClient::new(net.uri(), move || ids.next_u64()).expect("client");
        (net, client)
    });
    group.bench_function("checkout on happy-path (real time, loopback)", |b| {
        b.iter(|| {
            real_time.block_on(async {
                let charge = client.charge(1_000).await.expect("charged");
                black_box(client.refund(&charge).await).expect("refunded")
            })
        });
    });
    drop(net);

    let paused = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime");
    let failing = catalog.scenario("charge-failure").expect("scenario");
    group.bench_function("declined charge after a 503 (virtual time)", |b| {
        b.iter(|| {
            paused.block_on(async {
                // A fresh server per iteration: the scenario's sequence starts at the 503.
                let net = MockNet::builder()
                    .scenario(failing.clone())
                    .seed(bench_seed)
                    .start()
                    .await
                    .expect("mocknet starts");
                let mut ids = DetRng::from_seed(bench_seed).fork("client-ids");
                let mut client =
                    PaymentsClient::new(net.uri(), move || ids.next_u64()).expect("client");
                black_box(client.charge(1_000).await).expect_err("declined")
            })
        });
    });
    group.finish();
}

criterion_group!(benches, seeded_inputs, payments_client);
criterion_main!(benches);
