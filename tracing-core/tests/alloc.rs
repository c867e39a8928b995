//! Counts heap allocations on the hot path with a counting global allocator:
//! traceparent parse and format, and extract + inject, must not allocate.
//!
//! This is its own test binary because the global allocator applies to the
//! whole binary.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};

use steadfast_tracing_core::ids::{IdGenerator, SplitMix64};
use steadfast_tracing_core::{Extractor, Injector, TraceParent, extract, inject};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    // Const-initialised and without a destructor, so reading it never allocates.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counter only observes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        }
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        }
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `f` on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.load(Ordering::SeqCst) - before
}

/// A header map with fixed storage, like a server's preallocated buffers.
struct FixedHeaders {
    names: [&'static str; 4],
    values: [[u8; 64]; 4],
    lens: [usize; 4],
    count: usize,
}

impl Injector for FixedHeaders {
    fn set(&mut self, name: &str, value: &str) {
        let name = if name == "traceparent" {
            "traceparent"
        } else {
            "tracestate"
        };
        let i = self.count;
        self.names[i] = name;
        self.values[i][..value.len()].copy_from_slice(value.as_bytes());
        self.lens[i] = value.len();
        self.count += 1;
    }
}

impl Extractor for FixedHeaders {
    fn for_each(&self, name: &str, f: &mut dyn FnMut(&str)) {
        for i in 0..self.count {
            if self.names[i].eq_ignore_ascii_case(name) {
                f(std::str::from_utf8(&self.values[i][..self.lens[i]]).unwrap());
            }
        }
    }
}

struct StackString {
    buf: [u8; 64],
    len: usize,
}

impl std::fmt::Write for StackString {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.buf[self.len..self.len + s.len()].copy_from_slice(s.as_bytes());
        self.len += s.len();
        Ok(())
    }
}

#[test]
fn hot_path_does_not_allocate() {
    let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let incoming = [
        ("TraceParent", header),
        ("content-type", "application/json"),
    ];
    let mut ids = IdGenerator::new(SplitMix64::new(1));
    let tp: TraceParent = header.parse().unwrap();
    let mut out = StackString {
        buf: [0; 64],
        len: 0,
    };
    let mut outgoing = FixedHeaders {
        names: [""; 4],
        values: [[0; 64]; 4],
        lens: [0; 4],
        count: 0,
    };

    assert_eq!(
        allocations(|| drop(std::hint::black_box(header).parse::<TraceParent>())),
        0,
        "parse"
    );
    assert_eq!(allocations(|| write!(out, "{tp}").unwrap()), 0, "format");
    assert_eq!(&out.buf[..out.len], header.as_bytes());
    assert_eq!(
        allocations(|| drop(std::hint::black_box("ff-bad").parse::<TraceParent>())),
        0,
        "rejecting"
    );
    let n = allocations(|| {
        let parent = extract(&incoming[..]).unwrap();
        let call = parent.child(&mut ids);
        inject(&call, &mut outgoing);
    });
    assert_eq!(n, 0, "extract + inject");
    assert_eq!(
        outgoing.count, 1,
        "no tracestate header for an empty trace state"
    );
    let back = extract(&outgoing).unwrap();
    assert_eq!(back.trace_id(), tp.trace_id());

    // With a short tracestate: its canonical text is kept inline, so the
    // extract, the child's clone and the inject allocate nothing.
    let with_state = [
        ("traceparent", header),
        ("tracestate", "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"),
    ];
    let mut outgoing = FixedHeaders {
        names: [""; 4],
        values: [[0; 64]; 4],
        lens: [0; 4],
        count: 0,
    };
    let n = allocations(|| {
        let parent = extract(&with_state[..]).unwrap();
        let call = parent.child(&mut ids);
        inject(&call, &mut outgoing);
    });
    assert_eq!(n, 0, "extract + inject with a short tracestate");
    assert_eq!(outgoing.count, 2);
    assert_eq!(
        &outgoing.values[1][..outgoing.lens[1]],
        with_state[1].1.as_bytes()
    );

    // Spaces and a duplicate key send it through the builder, which works
    // on the stack: still nothing for a short result.
    let with_duplicate = [
        ("traceparent", header),
        ("tracestate", "congo=t61rcWkgMzE , rojo=1,congo=x"),
    ];
    let mut parent = None;
    let n = allocations(|| parent = extract(&with_duplicate[..]));
    assert_eq!(n, 0, "extract with a duplicate key and spaces");
    assert_eq!(
        parent.unwrap().trace_state().as_str(),
        "congo=t61rcWkgMzE,rojo=1"
    );

    // A longer one is built on the stack and then shared: one allocation,
    // and cloning it for the child allocates nothing.
    let long = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7,vendorname1=opaquevalue1,x=y";
    let with_long_state = [("traceparent", header), ("tracestate", long)];
    let mut parent = None;
    let n = allocations(|| parent = extract(&with_long_state[..]));
    assert_eq!(n, 1, "extract with a long tracestate: its shared text only");
    let parent = parent.unwrap();
    assert_eq!(parent.trace_state().as_str(), long);
    assert_eq!(
        allocations(|| drop(std::hint::black_box(parent.child(&mut ids)))),
        0,
        "child of a context with a long tracestate"
    );

    // Re-injecting into the same header map updates its strings in place.
    let mut map = std::collections::HashMap::new();
    inject(&parent.child(&mut ids), &mut map);
    let n = allocations(|| inject(&parent.child(&mut ids), &mut map));
    assert_eq!(n, 0, "inject into a HashMap that already holds the headers");
    assert_eq!(map.len(), 2);
    assert_eq!(map["tracestate"], long);

    // The counter itself works: a Vec allocates.
    assert_eq!(allocations(|| drop(std::hint::black_box(vec![1u8; 8]))), 1);
}
