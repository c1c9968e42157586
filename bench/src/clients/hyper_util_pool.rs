//! hyper-util's pooled legacy client (`hyper_util::client::legacy::Client`
//! over its `HttpConnector`), with as many connections as dugong's pooled
//! row: [`CONNECTIONS`] loops, each sending one `GET` after another and
//! reading each body whole (`collect`), joined in one task on the bench's
//! current-thread runtime. hyper's HTTP/1 connections do not pipeline, so
//! the pool keeps one connection per loop.

use std::cell::RefCell;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;

use super::{expect_ok, Ctx, PATH};
use crate::window::{Measurement, Window};
use crate::BoxError;

/// Concurrent requests, and so connections.
pub(super) const CONNECTIONS: usize = 4;

/// How long the connection tasks may take to end after the client is
/// dropped.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// The pooled client.
type Pool = Client<HttpConnector, Empty<Bytes>>;

/// [`CONNECTIONS`] loops over one pooled client.
pub(super) fn pooled(ctx: &Ctx<'_>) -> Result<Measurement, BoxError> {
    ctx.rt.block_on(async {
        let tasks = Tasks::default();
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client: Pool = Client::builder(tasks.clone())
            .pool_max_idle_per_host(CONNECTIONS)
            .build(connector);
        let uri: http::Uri = format!("http://{}{PATH}", ctx.authority()).parse()?;
        let window = RefCell::new(ctx.window());
        let loops = (0..CONNECTIONS).map(|_| one_after_another(&client, &uri, &window));
        let results = futures_util::future::join_all(loops).await;
        // Its connections close once the client and its spawned tasks are
        // gone; wait for that, so the server sends their records.
        drop(client);
        tasks.ended(CLOSE_WAIT).await?;
        results.into_iter().collect::<Result<(), _>>()?;
        window.into_inner().finish()
    })
}

/// One `GET` after another until the window closes.
async fn one_after_another(
    client: &Pool,
    uri: &http::Uri,
    window: &RefCell<Window>,
) -> Result<(), BoxError> {
    loop {
        let request = http::Request::get(uri.clone()).body(Empty::new())?;
        let response = client.request(request).await?;
        expect_ok(response.status().as_u16())?;
        let body = response.into_body().collect().await?.to_bytes();
        if !window.borrow_mut().record(body.len() as u64) {
            return Ok(());
        }
    }
}

/// hyper-util's executor: `tokio::spawn`, as its `TokioExecutor` does,
/// counting the tasks still running (the connections among them).
#[derive(Debug, Clone, Default)]
struct Tasks {
    /// Spawned and not yet ended.
    live: Arc<AtomicUsize>,
}

impl Tasks {
    /// Waits until every spawned task has ended, at most `limit`.
    async fn ended(&self, limit: Duration) -> Result<(), BoxError> {
        let deadline = Instant::now() + limit;
        while self.live.load(Ordering::SeqCst) > 0 {
            if Instant::now() >= deadline {
                return Err("hyper-util's connection tasks did not end".into());
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Ok(())
    }
}

impl<F> hyper::rt::Executor<F> for Tasks
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        let live = Live::new(&self.live);
        tokio::spawn(async move {
            let _live = live;
            future.await
        });
    }
}

/// Counts one task as live until dropped (when it ends or is cancelled).
#[derive(Debug)]
struct Live(Arc<AtomicUsize>);

impl Live {
    /// Counts one more.
    fn new(live: &Arc<AtomicUsize>) -> Live {
        live.fetch_add(1, Ordering::SeqCst);
        Live(Arc::clone(live))
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
