//! A node: the user's server, run as a task the network owns on a listener the network keeps,
//! so a restart serves the same address.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

type Program = Arc<dyn Fn(TcpListener) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Wraps the user's `async fn(listener)` so it can be called again on restart.
pub(crate) fn program<F, Fut>(serve: F) -> Program
where
    F: Fn(TcpListener) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
{
    Arc::new(move |listener| {
        let running = serve(listener);
        Box::pin(async move {
            running.await;
        })
    })
}

pub(crate) struct Node {
    pub(crate) name: String,
    /// Bound once; every run gets a duplicate of it, so the address outlives crashes.
    listener: std::net::TcpListener,
    pub(crate) addr: SocketAddr,
    run: Mutex<Run>,
}

#[derive(Default)]
struct Run {
    program: Option<Program>,
    task: Option<JoinHandle<()>>,
    crashed: bool,
}

/// What a node was doing, for errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NodeStatus {
    NeverRun,
    Running,
    Crashed,
}

impl Node {
    pub(crate) fn bind(name: String) -> std::io::Result<Node> {
        // Non-blocking: O_NONBLOCK belongs to the open file, so every duplicate shares it, as
        // tokio needs.
        let listener = crate::listener::bind_std(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))?;
        let addr = listener.local_addr()?;
        Ok(Node {
            name,
            listener,
            addr,
            run: Mutex::new(Run::default()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Run> {
        self.run.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn status(&self) -> NodeStatus {
        let run = self.lock();
        match (&run.task, run.crashed) {
            (_, true) => NodeStatus::Crashed,
            (Some(_), false) => NodeStatus::Running,
            (None, false) => NodeStatus::NeverRun,
        }
    }

    pub(crate) fn is_crashed(&self) -> bool {
        self.lock().crashed
    }

    /// Runs `program` on a duplicate of the listener (the first run, or a restart with
    /// `program` `None`).
    pub(crate) fn start(&self, program: Option<Program>) -> std::io::Result<()> {
        let mut run = self.lock();
        if let Some(program) = program {
            run.program = Some(program);
        }
        let Some(program) = run.program.clone() else {
            return Ok(());
        };
        let listener = TcpListener::from_std(self.listener.try_clone()?)?;
        run.task = Some(tokio::spawn(program(listener)));
        run.crashed = false;
        Ok(())
    }

    /// Aborts the node's task; its listener duplicate goes with it.
    pub(crate) fn crash(&self) {
        let mut run = self.lock();
        if let Some(task) = run.task.take() {
            task.abort();
        }
        run.crashed = true;
    }

    pub(crate) fn stop(&self) {
        if let Some(task) = self.lock().task.take() {
            task.abort();
        }
    }
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node")
            .field("name", &self.name)
            .field("addr", &self.addr)
            .field("status", &self.status())
            .finish()
    }
}
