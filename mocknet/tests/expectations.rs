//! Expectations: checked by `verify`, by dropping the server and by dropping a scoped guard,
//! with the mock's name, range, count, closest requests and seed in the message.

use std::panic::{AssertUnwindSafe, catch_unwind};

use steadfast_determinism::Seed;
use steadfast_mocknet::matchers::{method, path};
use steadfast_mocknet::{ErrorKind, Mock, MockNet, ResponseTemplate};

use crate::support::client;

/// Runs `body` on a paused current-thread runtime, as `#[deterministic_test]` would.
fn paused<F: Future>(body: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime")
        .block_on(body)
}

/// The panic message of `f`, which must panic.
fn panic_message(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("should panic");
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => payload
            .downcast::<&str>()
            .map(|message| message.to_string())
            .unwrap_or_default(),
    }
}

async fn charge_mock(net: &MockNet) {
    Mock::given(method("POST"))
        .and(path("/v1/charges"))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .named("charge")
        .mount(net)
        .await;
}

#[test]
fn too_few_requests_fail_on_drop_with_the_closest_requests_and_the_seed() {
    let message = paused(async {
        let net = MockNet::builder().seed(7).start().await.expect("starts");
        charge_mock(&net).await;
        let client = client();
        client
            .post(format!("{}/v1/charge", net.uri()))
            .send()
            .await
            .expect("answered");
        client
            .get(format!("{}/health", net.uri()))
            .send()
            .await
            .expect("answered");

        let err = net.check_expectations().expect_err("too few");
        assert_eq!(
            (err.kind(), err.route()),
            (ErrorKind::Expectation, Some("charge"))
        );
        assert_eq!(err.seed(), Some(Seed::new(7)));
        panic_message(move || drop(net))
    });

    assert_eq!(
        message,
        "steadfast: mock `charge` of scenario `mocks` matched 0 requests, expected exactly 1 \
         (seed 0x0000000000000007)\n\
         requests that came closest (1 more needed):\n  \
         #0 POST /v1/charge at 0ns -> (unmatched) 404\n    \
         charge: 1 of 2 matchers hold; wants path /v1/charges\n  \
         #1 GET /health at 0ns -> (unmatched) 404\n    \
         charge: 0 of 2 matchers hold; wants method POST, path /v1/charges\n\
         reproduce: the faults follow MockNetBuilder::seed(0x0000000000000007), the same on \
         every run\n\
         journal:\n  \
         #0 POST /v1/charge at 0ns -> (unmatched) 404\n  \
         #1 GET /health at 0ns -> (unmatched) 404"
    );
}

#[test]
fn too_many_requests_fail_verify_with_the_requests_it_matched() {
    let message = paused(async {
        let net = MockNet::builder().seed(7).start().await.expect("starts");
        charge_mock(&net).await;
        for _ in 0..2 {
            client()
                .post(format!("{}/v1/charges", net.uri()))
                .send()
                .await
                .expect("answered");
        }

        let message = panic_message(|| poll_once(net.verify()));
        // Dropping the server reports the same failure.
        let on_drop = panic_message(move || drop(net));
        assert_eq!(on_drop, message);
        message
    });

    assert_eq!(
        message,
        "steadfast: mock `charge` of scenario `mocks` matched 2 requests, expected exactly 1 \
         (seed 0x0000000000000007)\n\
         requests it matched:\n  \
         #0 POST /v1/charges at 0ns -> charge 201\n  \
         #1 POST /v1/charges at 0ns -> charge 201\n\
         reproduce: the faults follow MockNetBuilder::seed(0x0000000000000007), the same on \
         every run\n\
         journal:\n  \
         #0 POST /v1/charges at 0ns -> charge 201\n  \
         #1 POST /v1/charges at 0ns -> charge 201"
    );
}

/// Polls a future that never waits, as `verify` never does.
fn poll_once<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("verify waited"),
    }
}

#[test]
fn a_scoped_mock_is_verified_and_unmounted_when_its_guard_drops() {
    paused(async {
        let net = MockNet::builder().seed(7).start().await.expect("starts");
        let guard = Mock::given(path("/ping"))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .named("ping")
            .mount_as_scoped(&net)
            .await;
        let url = format!("{}/ping", net.uri());
        let first = client().get(&url).send().await.expect("answered").status();
        assert_eq!(guard.received_requests().await.len(), 1);

        drop(guard);
        let second = client().get(&url).send().await.expect("answered").status();

        assert_eq!((first.as_u16(), second.as_u16()), (204, 404));
        net.check_expectations().expect("the scoped mock is gone");
    });
}

#[test]
fn a_failing_scoped_mock_panics_on_drop_but_not_while_panicking() {
    let message = paused(async {
        let net = MockNet::builder().seed(7).start().await.expect("starts");
        let guard = Mock::given(path("/ping"))
            .respond_with(ResponseTemplate::new(204))
            .expect(1..)
            .named("ping")
            .mount_as_scoped(&net)
            .await;
        let message = panic_message(move || drop(guard));
        // Dropping a failing server during another panic only reports the first one.
        let second = panic_message(move || {
            let _net = net;
            panic!("the test's own failure");
        });
        assert_eq!(second, "the test's own failure");
        message
    });

    assert!(
        message.starts_with(
            "steadfast: mock `ping` of scenario `mocks` matched 0 requests, expected at least 1 \
             (seed 0x0000000000000007)\nrequests that came closest (1 more needed): (no other \
             requests arrived)\nreproduce: "
        ),
        "{message}"
    );
}
