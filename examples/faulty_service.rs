//! A small axum service with the steadfast fault layer switched on, for trying fault modes by
//! hand:
//!
//! ```text
//! cargo run --example faulty_service -- --port 8080
//! curl -i http://127.0.0.1:8080/orders/acme
//! curl -i -H 'x-steadfast-fault: delay:500' http://127.0.0.1:8080/orders/acme
//! curl -i 'http://127.0.0.1:8080/orders/acme?steadfast_fault=fail'
//! curl -i 'http://127.0.0.1:8080/orders/acme?steadfast_fault=abort'
//! curl -i -H 'x-steadfast-fault: explode' http://127.0.0.1:8080/health   # 400, names the faults
//! ```
//!
//! Prints `listening on http://127.0.0.1:PORT` as its first line (`--port 0` picks a free
//! port), then one line per injected fault. The handlers' metrics go through the `metrics`
//! facade; the end-to-end suite asserts them on a test's runtime.

#[path = "faulty_service/app.rs"]
mod app;

use std::process::ExitCode;

use steadfast::tower::FaultLayer;

fn exit_with(message: &str) -> ExitCode {
    eprintln!("faulty_service: {message}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut port: u16 = 8080;
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--port", Some(p)) => match p.parse() {
                Ok(p) => port = p,
                Err(_) => {
                    return exit_with(&format!(
                        "--port expects a number from 0 to 65535, got {p:?}"
                    ));
                }
            },
            _ => return exit_with("usage: faulty_service [--port PORT]"),
        }
    }
    let faults = match FaultLayer::builder().build() {
        Ok(faults) => faults,
        Err(err) => return exit_with(&err.to_string()),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => return exit_with(&format!("cannot start tokio: {err}")),
    };
    let served = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        println!("listening on http://{}", listener.local_addr()?);
        let journal = faults.journal();
        tokio::spawn(async move {
            // Report each injected fault once, as it happens.
            let mut reported = 0;
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                for entry in journal.entries().iter().skip(reported) {
                    println!(
                        "injected {} into {} {} ({:?})",
                        entry.fault, entry.method, entry.path, entry.trigger
                    );
                    reported += 1;
                }
            }
        });
        axum::serve(listener, app::app(faults)).await
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => exit_with(&format!("cannot serve on 127.0.0.1:{port}: {err}")),
    }
}
