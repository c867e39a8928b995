//! A suite with a stable, a pass-on-retry and an always-failing test, and two modules that
//! each have a test named `stable`.

#[cfg(test)]
mod checkout {
    #[test]
    fn stable() {
        assert_eq!(1 + 1, 2);
    }

    /// Fails while the marker file named by `FLAKY_MARKER` does not exist and creates it:
    /// the first attempt (or run) fails, the next passes.
    #[test]
    fn passes_on_retry() {
        let marker = std::env::var_os("FLAKY_MARKER").expect("FLAKY_MARKER is set");
        let first = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(marker)
            .is_ok();
        assert!(!first, "first attempt fails");
    }

    #[test]
    fn always_fails() {
        panic!("this test always fails");
    }
}

#[cfg(test)]
mod billing {
    #[test]
    fn stable() {
        assert_eq!(2 * 2, 4);
    }
}
