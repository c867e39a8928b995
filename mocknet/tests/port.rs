//! A wiremock test suite, and the same suite ported to mocknet by changing its imports only:
//! one macro holds the test bodies, expanded once under wiremock's imports and once under
//! mocknet's.

/// Fetches `url`, retrying once after a 503 (honouring `Retry-After` in seconds).
async fn fetch_with_retry(url: &str) -> String {
    let client = reqwest::Client::new();
    let mut response = client.get(url).send().await.expect("answered");
    if response.status() == 503 {
        let wait: u64 = response
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok()?.parse().ok())
            .unwrap_or(1);
        tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
        response = client.get(url).send().await.expect("answered");
    }
    response.text().await.expect("body")
}

macro_rules! quote_suite {
    () => {
        use wiremock::matchers::{header, method, path};

        use super::fetch_with_retry;

        #[tokio::test]
        async fn a_503_is_retried_once_then_the_quote_is_read() {
            let server = MockServer::start().await;
            Mock::given(method("GET"))
                .and(path("/quote"))
                .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "0"))
                .up_to_n_times(1)
                .expect(1)
                .named("first attempt fails")
                .mount(&server)
                .await;
            Mock::given(method("GET"))
                .and(path("/quote"))
                .respond_with(
                    ResponseTemplate::new(200).set_body_json(serde_json::json!({"eur": 1.08})),
                )
                .expect(1)
                .named("quote")
                .mount(&server)
                .await;

            let quote = fetch_with_retry(&format!("{}/quote", server.uri())).await;

            assert_eq!(quote, r#"{"eur":1.08}"#);
            let received = server.received_requests().await.expect("recorded");
            assert_eq!(received.len(), 2);
            assert_eq!(received[1].url.path(), "/quote");
            server.verify().await;
        }

        #[tokio::test]
        async fn a_scoped_mock_answers_only_while_its_guard_lives() {
            let server = MockServer::start().await;
            let url = format!("{}/health", server.uri());
            {
                let guard = Mock::given(path("/health"))
                    .and(header("x-probe", "1"))
                    .respond_with(ResponseTemplate::new(204))
                    .expect(1)
                    .mount_as_scoped(&server)
                    .await;
                let status = reqwest::Client::new()
                    .get(&url)
                    .header("x-probe", "1")
                    .send()
                    .await
                    .expect("answered")
                    .status();
                assert_eq!(status, 204);
                assert_eq!(guard.received_requests().await.len(), 1);
            }

            let after = reqwest::get(&url).await.expect("answered").status();

            assert_eq!(after, 404);
        }

        #[tokio::test]
        #[should_panic(expected = "quote")]
        async fn an_unmet_expectation_fails_the_test_when_the_server_drops() {
            let server = MockServer::start().await;
            Mock::given(path("/quote"))
                .respond_with(ResponseTemplate::new(200))
                .expect(1)
                .named("quote")
                .mount(&server)
                .await;
        }
    };
}

mod with_wiremock {
    use wiremock::{Mock, MockServer, ResponseTemplate};

    quote_suite!();
}

mod with_mocknet {
    use steadfast_mocknet::{Mock, MockNet as MockServer};
    use wiremock::ResponseTemplate;

    quote_suite!();
}
