//! A TCP proxy in front of a real broker that injects connection faults on command: close every
//! connection, let the next request of an API reach the broker and then cut the connection
//! before its response comes back (the client cannot know whether the request took effect), or
//! hold the answers on a connection for a while after such a request (an answer later than the
//! client's request timeout).
//!
//! The broker must advertise the proxy's address, so that every connection a client opens after
//! bootstrap goes through it: [`LocalBroker::behind_proxy`] sets that up.
//!
//! [`LocalBroker::behind_proxy`]: crate::LocalBroker::behind_proxy

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[derive(Debug)]
struct Control {
    /// Bumped to close every open connection.
    generation: watch::Sender<u64>,
    /// API key whose next requests are cut after reaching the broker (-1: none).
    cut_api: AtomicI32,
    /// How many more such requests to cut.
    cut_left: AtomicUsize,
    /// Requests cut so far.
    cut_done: AtomicU64,
    /// API key whose next requests get their answers held back (-1: none).
    delay_api: AtomicI32,
    /// How many more such requests to delay.
    delay_left: AtomicUsize,
    /// How long, in milliseconds.
    delay_ms: AtomicU64,
    /// Requests delayed so far.
    delay_done: AtomicU64,
    /// Connections accepted so far.
    accepted: AtomicU64,
    /// The largest request frame seen, in bytes.
    largest_request: AtomicUsize,
}

/// A running fault proxy on a thread and runtime of its own; stops on drop.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    control: Arc<Control>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl FaultProxy {
    /// A proxy on 127.0.0.1:`port` (0: a free port) forwarding to `upstream`.
    pub fn start(port: u16, upstream: SocketAddr) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .thread_name("kwire-fault-proxy")
            .build()?;
        let std_listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let control = Arc::new(Control {
            generation: watch::channel(0).0,
            cut_api: AtomicI32::new(-1),
            cut_left: AtomicUsize::new(0),
            cut_done: AtomicU64::new(0),
            delay_api: AtomicI32::new(-1),
            delay_left: AtomicUsize::new(0),
            delay_ms: AtomicU64::new(0),
            delay_done: AtomicU64::new(0),
            accepted: AtomicU64::new(0),
            largest_request: AtomicUsize::new(0),
        });
        let c = Arc::clone(&control);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let accept = async move {
            let Ok(listener) = TcpListener::from_std(std_listener) else {
                return;
            };
            while let Ok((client, _)) = listener.accept().await {
                c.accepted.fetch_add(1, Ordering::SeqCst);
                let c = Arc::clone(&c);
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(upstream).await {
                        let _ = client.set_nodelay(true);
                        let _ = server.set_nodelay(true);
                        pump(client, server, c).await;
                    }
                });
            }
        };
        let thread = std::thread::Builder::new()
            .name("kwire-fault-proxy".into())
            .spawn(move || {
                runtime.block_on(async move {
                    tokio::select! {
                        _ = accept => {}
                        _ = stop_rx => {}
                    }
                });
                runtime.shutdown_background();
            })?;
        Ok(Self {
            addr,
            control,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// The proxy's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes every open connection now.
    pub fn drop_connections(&self) {
        self.control.generation.send_modify(|g| *g += 1);
    }

    /// The next `count` requests of `api_key` reach the broker, then their connection is cut
    /// before the response arrives.
    pub fn cut_after_request(&self, api_key: i16, count: usize) {
        self.control.cut_left.store(count, Ordering::SeqCst);
        self.control.cut_api.store(i32::from(api_key), Ordering::SeqCst);
    }

    /// How many requests were cut so far.
    pub fn cuts(&self) -> u64 {
        self.control.cut_done.load(Ordering::SeqCst)
    }

    /// The next `count` requests of `api_key` reach the broker, then everything the broker sends
    /// on their connection is held back for `delay` (their own answers included).
    pub fn delay_after_request(&self, api_key: i16, count: usize, delay: std::time::Duration) {
        self.control.delay_ms.store(
            u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            Ordering::SeqCst,
        );
        self.control.delay_left.store(count, Ordering::SeqCst);
        self.control.delay_api.store(i32::from(api_key), Ordering::SeqCst);
    }

    /// How many requests had their answers delayed so far.
    pub fn delays(&self) -> u64 {
        self.control.delay_done.load(Ordering::SeqCst)
    }

    /// The largest request frame that went through, in bytes.
    pub fn largest_request(&self) -> usize {
        self.control.largest_request.load(Ordering::SeqCst)
    }

    /// How many connections were accepted so far.
    pub fn connections(&self) -> u64 {
        self.control.accepted.load(Ordering::SeqCst)
    }
}

/// Forwards both ways frame by frame from client to broker (to see each request's API key) and
/// raw from broker to client, until either side closes, a cut happens, or all connections are
/// dropped.
async fn pump(mut client: TcpStream, server: TcpStream, c: Arc<Control>) {
    let mut generation = c.generation.subscribe();
    let (mut cr, mut cw) = client.split();
    let (mut sr, mut sw) = {
        let (r, w) = server.into_split();
        (r, w)
    };
    let (cut_tx, mut cut_rx) = watch::channel(false);
    let (hold_tx, hold_rx) = watch::channel(None::<tokio::time::Instant>);
    let upstream = async {
        loop {
            let mut len = [0u8; 4];
            if cr.read_exact(&mut len).await.is_err() {
                return;
            }
            let size = i32::from_be_bytes(len).max(0) as usize;
            let mut frame = vec![0u8; size.min(64 << 20)];
            if cr.read_exact(&mut frame).await.is_err() {
                return;
            }
            let api = frame
                .get(..2)
                .map_or(-1, |k| i32::from(i16::from_be_bytes([k[0], k[1]])));
            // The hold starts before the request goes on, so its answer cannot slip through.
            if api == c.delay_api.load(Ordering::SeqCst)
                && c.delay_left
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
            {
                c.delay_done.fetch_add(1, Ordering::SeqCst);
                let until = tokio::time::Instant::now()
                    + std::time::Duration::from_millis(c.delay_ms.load(Ordering::SeqCst));
                let _ = hold_tx.send(Some(until));
            }
            if sw.write_all(&len).await.is_err() || sw.write_all(&frame).await.is_err() {
                return;
            }
            if api == c.cut_api.load(Ordering::SeqCst)
                && c.cut_left
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
            {
                c.cut_done.fetch_add(1, Ordering::SeqCst);
                let _ = cut_tx.send(true);
                return;
            }
        }
    };
    let downstream = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            tokio::select! {
                n = sr.read(&mut buf) => match n {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        let hold = *hold_rx.borrow();
                        if let Some(until) = hold {
                            tokio::select! {
                                () = tokio::time::sleep_until(until) => {}
                                _ = cut_rx.changed() => return,
                            }
                        }
                        if *cut_rx.borrow() || cw.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                },
                _ = cut_rx.changed() => return,
            }
        }
    };
    tokio::select! {
        _ = upstream => {}
        _ = downstream => {}
        _ = generation.changed() => {}
    }
}
