//! mocknet's catalog loader: any text is a catalog or an error, never a panic, and every
//! scenario of a catalog that loads can be built.
#![no_main]

use libfuzzer_sys::fuzz_target;
use steadfast::mocknet::Catalog;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(catalog) = Catalog::from_json("fuzz.json", text) {
        let names: Vec<String> = catalog.scenario_names().map(str::to_string).collect();
        for name in names {
            catalog.scenario(&name).expect("a listed scenario loads");
        }
    }
});
