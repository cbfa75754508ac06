//! Sending large bodies to clients that may stop reading them.
//!
//! A client that sends a request and never reads the answer must not pin
//! more than one copy of the body, nor pin it for ever:
//!
//! - [`slice_large`] (middleware, just outside Compress): a body that is
//!   still one `Bytes` on its way out is sent as [`Sliced`] pieces of that
//!   same `Bytes`. actix's HTTP/1 writer copies each piece it is given into
//!   the connection's write buffer; given the whole body, a client that stops
//!   reading kept a second copy of all of it there (a 5 MB page, or a cached
//!   feed that every other client shares). Sliced, a stalled connection holds
//!   at most its write buffer's 32 KiB plus one [`SLICE`] besides the body,
//!   and a cached feed's body stays the one the cache holds.
//! - [`on_connect`]: every connection gets the send timeout
//!   (`--send-timeout-ms`) as its TCP user timeout, so a connection whose
//!   client has taken nothing for that long (its window stays shut, or
//!   nothing is acknowledged) is aborted by the kernel; actix then sees the
//!   error on its next write and drops the connection, and with it the
//!   response and every buffer. actix-web has no write timeout of its own
//!   (its client request, disconnect and keep-alive timeouts do not run
//!   while a response is being written), and once the socket is full it
//!   stops polling the body, so a watchdog on the body could free it but
//!   not end the connection; the kernel's timer covers the whole response
//!   (head, body, the last bytes in the write buffer) with one system call
//!   per connection and no task.
//! - [`SendBudget`] (`--unsent-mb`): the send timeout frees a stalled
//!   connection's body only once it passes, and until then every client may
//!   hold a body made for it alone (every page differs, by its CSRF token):
//!   300 stalled clients on a 5 MB page held 1.7 GB. The bytes of such
//!   bodies still unsent are counted, and a large one that would take the
//!   count past the budget is dropped and answered 503 with `Retry-After`
//!   instead. Bodies the feed cache shares are not counted (the cache's own
//!   limit counts them once), nor small ones (a 503 would save nothing).
//!   One client may hold a quarter of the budget at most, so that one
//!   address's stalled connections do not keep every other client out.
//! - `trim`: once large bodies have been freed, the memory is given back to
//!   the system (glibc keeps it otherwise, see [`Sliced`]'s `Drop`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::{Error, ResponseError};

use super::ratelimit::{client_ip, client_of};
use super::{AppState, HttpError};

/// Pieces a large body is sent in, and the size from which a body is
/// sliced: a stalled connection holds at most the write buffer (32 KiB)
/// plus one piece, whatever the body's size.
pub const SLICE: usize = 64 * 1024;

/// What a client refused for the budget is told to wait: about the time a
/// slow client needs to take a large body, well under the send timeout.
const RETRY_AFTER_SECS: u64 = 2;

/// Bytes of bodies made for one client and not yet sent, against a limit
/// (see the module docs). One per server, shared by its workers.
#[derive(Debug)]
pub struct SendBudget {
    limit: usize,
    held: AtomicUsize,
    refused: AtomicU64,
    /// Requests being answered that may make a large body: a page or a JSON
    /// listing holds its rows and its rendering until it is made, before
    /// the budget can count it. A flood of 80 page requests once held 600
    /// MB of rows loaded at once, waiting for a worker to render them.
    making: Arc<tokio::sync::Semaphore>,
    /// Who holds what, and the last refusal; every change to `held` is
    /// made under it, so a check and its take are one step.
    ledger: Mutex<Ledger>,
}

#[derive(Debug, Default)]
struct Ledger {
    /// Bytes held by each client (an IPv4 address, an IPv6 /64: see
    /// [`client_of`]).
    per_client: HashMap<IpAddr, usize>,
    /// The size of the last body refused, and when: while another such
    /// body would not fit either, requests that make bodies are refused
    /// before they are made (see [`SendBudget::refuse_early`]).
    last_refused: Option<(Instant, usize)>,
}

/// The part of the budget one client may hold: one address's stalled
/// connections cannot keep every other client's large pages out.
const CLIENT_SHARE: usize = 4;

impl SendBudget {
    /// `limit` bytes held; `makers` requests making their bodies at once.
    pub fn new(limit: usize, makers: usize) -> Arc<SendBudget> {
        Arc::new(SendBudget {
            limit,
            making: Arc::new(tokio::sync::Semaphore::new(makers.max(1))),
            held: AtomicUsize::new(0),
            refused: AtomicU64::new(0),
            ledger: Mutex::new(Ledger::default()),
        })
    }

    /// Bytes held now.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// What one client may hold: a [`CLIENT_SHARE`]th of the limit.
    pub fn client_limit(&self) -> usize {
        (self.limit / CLIENT_SHARE).max(1)
    }

    /// Responses refused for the budget since start.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts `n` bytes as held by `client` if that stays within the limit
    /// and within the client's share (checked and taken at once, so
    /// concurrent workers cannot both pass on the same room).
    fn try_take(&self, n: usize, client: Option<IpAddr>) -> bool {
        let mut l = self.ledger();
        let held = self.held();
        let mine = client.map_or(0, |c| l.per_client.get(&c).copied().unwrap_or(0));
        let fits = held.saturating_add(n) <= self.limit
            && (client.is_none() || mine.saturating_add(n) <= self.client_limit());
        if fits {
            self.held.store(held + n, Ordering::Release);
            if let Some(c) = client {
                *l.per_client.entry(c).or_default() += n;
            }
        } else {
            self.refused.fetch_add(1, Ordering::Relaxed);
            l.last_refused = Some((Instant::now(), n));
        }
        fits
    }

    /// Whether a request of `client`'s should be refused before its body
    /// is made: the bodies held (the client's own, or everyone's) leave no
    /// room for one as large as the last refused within
    /// [`RETRY_AFTER_SECS`]. Making a 10 MB page only to drop it would
    /// spend a worker's time for nothing, for every client of a flood.
    fn refuse_early(&self, client: Option<IpAddr>) -> bool {
        let held = self.held();
        if held == 0 {
            return false;
        }
        let l = self.ledger();
        let mine = client.map_or(0, |c| l.per_client.get(&c).copied().unwrap_or(0));
        let refuse = l.last_refused.is_some_and(|(at, size)| {
            at.elapsed() < Duration::from_secs(RETRY_AFTER_SECS)
                && (held + size > self.limit || (mine > 0 && mine + size > self.client_limit()))
        });
        drop(l);
        if refuse {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
        refuse
    }

    /// Counts `n` bytes as held by `client` whatever the limit: a piece of
    /// a body already on its way (see [`Resliced`]).
    fn take(&self, n: usize, client: Option<IpAddr>) {
        let mut l = self.ledger();
        self.held.fetch_add(n, Ordering::AcqRel);
        if let Some(c) = client {
            *l.per_client.entry(c).or_default() += n;
        }
    }

    fn give_back(&self, n: usize, client: Option<IpAddr>) {
        if n == 0 {
            return;
        }
        let mut l = self.ledger();
        self.held.fetch_sub(n, Ordering::AcqRel);
        if let Some(c) = client {
            if let Some(mine) = l.per_client.get_mut(&c) {
                *mine = mine.saturating_sub(n);
                if *mine == 0 {
                    l.per_client.remove(&c);
                }
            }
        }
    }

    /// Whether the bodies held have used the budget up: a response whose
    /// size is not known before it is sent (a compressed one) is refused
    /// then.
    fn spent(&self) -> bool {
        if self.held() >= self.limit {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        false
    }
}

/// Bytes of a body counted in a [`SendBudget`] for a client, given back
/// once.
struct Charge {
    budget: Arc<SendBudget>,
    bytes: usize,
    client: Option<IpAddr>,
}

impl Charge {
    fn release(&mut self) {
        self.budget
            .give_back(std::mem::take(&mut self.bytes), self.client);
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.release();
    }
}

/// Middleware, just outside Compress: a response body that is one `Bytes`
/// of more than [`SLICE`] bytes is sent as [`Sliced`] pieces of it, and a
/// streamed one (compressed) in pieces of at most [`SLICE`]
/// ([`Resliced`]); bodies made for this client alone are counted in the
/// [`SendBudget`], and refused past it (see the module docs).
///
/// Outside Compress, because only there is it known whether the body goes
/// out as it is: Compress hands a body it will not encode through whole
/// (`try_into_bytes` still gives the `Bytes`), and one it encodes is
/// already a stream (and is freed as soon as it is compressed, the
/// compressed copy being what waits for the client).
pub async fn slice_large(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    // Health and metrics stay answered whatever the clients hold: they
    // are small, and an operator needs them most then.
    let ops = matches!(req.path(), "/healthz" | "/metrics");
    let budget = req
        .app_data::<web::Data<AppState>>()
        .filter(|_| !ops)
        .map(|state| state.send_budget.clone());
    let Some(budget) = budget else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let client = client_ip(req.request()).map(client_of);
    // Feeds, exports and assets are served from caches whose bodies are
    // shared, and never refused before they are looked up.
    let mut making = None;
    // Only reads make large bodies; a write may wait for its upload, and
    // must not hold a maker's place meanwhile (slow uploads would stop
    // every page).
    let reads = matches!(*req.method(), Method::GET | Method::HEAD);
    if reads && !cached_kind(req.path()) {
        // Never closed: `acquire` cannot fail.
        making = budget.making.clone().acquire_owned().await.ok();
        if budget.refuse_early(client) {
            let (req, _) = req.into_parts();
            return Ok(ServiceResponse::new(req, unsent_full()));
        }
    }
    let res = next.call(req).await?;
    let mut refused = false;
    let res = res.map_body(|_, body| match body.size() {
        BodySize::Sized(n) if n > SLICE as u64 => match body.try_into_bytes() {
            // The cache's (shared): one copy for every client, counted by
            // the cache.
            Ok(bytes) if !bytes.is_unique() => BoxBody::new(Sliced::new(bytes, None)),
            Ok(bytes) => {
                let n = bytes.len();
                if budget.try_take(n, client) {
                    let charge = Charge {
                        budget,
                        bytes: n,
                        client,
                    };
                    BoxBody::new(Sliced::new(bytes, Some(charge)))
                } else {
                    refused = true;
                    BoxBody::new(())
                }
            }
            Err(body) => BoxBody::new(body),
        },
        BodySize::Stream if budget.spent() => {
            refused = true;
            BoxBody::new(())
        }
        // Still in the making (Compress encodes a body on the first poll,
        // holding all of it until then): the permit goes with it.
        BodySize::Stream => BoxBody::new(Resliced::new(body, budget, client).making(making.take())),
        _ => BoxBody::new(body),
    });
    if !refused {
        return Ok(res);
    }
    let (req, _) = res.into_parts();
    Ok(ServiceResponse::new(req, unsent_full()))
}

/// Paths answered from a cache of shared bodies (see [`slice_large`]).
fn cached_kind(path: &str) -> bool {
    path.starts_with("/assets/")
        || [".ics", "/schedule.xml", "/schedule.json"]
            .iter()
            .any(|end| path.ends_with(end))
}

/// The answer when the [`SendBudget`] is used up.
fn unsent_full() -> actix_web::HttpResponse {
    HttpError::Unavailable {
        retry_after: Some(RETRY_AFTER_SECS),
        message: "the server is holding as many unsent responses as it may: retry shortly".into(),
    }
    .error_response()
}

/// A body sent in [`SLICE`]-sized pieces of one `Bytes`: no piece is a
/// copy, and its length is known, so it goes out with `Content-Length`
/// (HTTP/1.0 clients included) exactly as the whole `Bytes` would.
pub struct Sliced {
    rest: Bytes,
    /// The body's length, to count as freed (see [`Sliced::release`]).
    len: usize,
    /// Its place in the [`SendBudget`], if it was made for this client.
    charge: Option<Charge>,
}

impl Sliced {
    fn new(body: Bytes, charge: Option<Charge>) -> Self {
        Sliced {
            len: body.len(),
            rest: body,
            charge,
        }
    }

    /// Counts the body as freed if no one else holds it (a cached feed's
    /// is held by the cache): it dies with its last piece, or with this.
    /// Once only.
    fn release(&mut self) {
        if self.len > 0 && self.rest.is_unique() {
            trim::freed(self.len);
        }
        self.len = 0;
        if let Some(charge) = &mut self.charge {
            charge.release();
        }
    }
}

impl Drop for Sliced {
    /// Cut off with its connection before the end.
    fn drop(&mut self) {
        if !self.rest.is_empty() {
            self.release();
        }
    }
}

impl MessageBody for Sliced {
    type Error = std::convert::Infallible;

    /// What is left to send, as `Bytes` itself answers.
    fn size(&self) -> BodySize {
        BodySize::Sized(self.rest.len() as u64)
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        if self.rest.is_empty() {
            return Poll::Ready(None);
        }
        if self.rest.len() <= SLICE {
            // The last piece: taking it leaves `rest` holding nothing.
            self.release();
            return Poll::Ready(Some(Ok(std::mem::take(&mut self.rest))));
        }
        Poll::Ready(Some(Ok(self.rest.split_to(SLICE))))
    }
}

/// A streamed body (one Compress encodes) passed on in pieces of at most
/// [`SLICE`]: actix copies each piece it is given into the connection's
/// write buffer, and the encoder hands over a large body's compressed
/// output in one piece. The rest of such a piece waits here, counted in
/// the [`SendBudget`] until it is sent.
pub struct Resliced<B> {
    inner: Pin<Box<B>>,
    rest: Bytes,
    budget: Arc<SendBudget>,
    client: Option<IpAddr>,
    charge: Option<Charge>,
    /// The place among the [`SendBudget`]'s makers, held until the first
    /// piece is out (see [`slice_large`]).
    making: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl<B> Resliced<B> {
    fn new(inner: B, budget: Arc<SendBudget>, client: Option<IpAddr>) -> Self {
        Resliced {
            inner: Box::pin(inner),
            rest: Bytes::new(),
            budget,
            client,
            charge: None,
            making: None,
        }
    }

    fn making(mut self, permit: Option<tokio::sync::OwnedSemaphorePermit>) -> Self {
        self.making = permit;
        self
    }
}

impl<B: MessageBody> MessageBody for Resliced<B> {
    type Error = B::Error;

    fn size(&self) -> BodySize {
        self.inner.size()
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = &mut *self;
        if this.rest.is_empty() {
            this.charge = None;
            let next = this.inner.as_mut().poll_next(cx);
            if next.is_ready() {
                this.making = None;
            }
            match next {
                Poll::Ready(Some(Ok(piece))) if piece.len() > SLICE => {
                    if piece.is_unique() {
                        this.budget.take(piece.len(), this.client);
                        this.charge = Some(Charge {
                            budget: this.budget.clone(),
                            bytes: piece.len(),
                            client: this.client,
                        });
                    }
                    this.rest = piece;
                }
                other => return other,
            }
        }
        let n = this.rest.len().min(SLICE);
        let piece = this.rest.split_to(n);
        if this.rest.is_empty() {
            this.charge = None;
        }
        Poll::Ready(Some(Ok(piece)))
    }
}

/// Gives a new connection the send timeout (see the module docs); a
/// system that refuses it is warned about once, and the connection served.
pub fn on_connect(tcp: &actix_web::rt::net::TcpStream, timeout: Duration) {
    if let Err(e) = set_send_timeout(tcp, timeout) {
        warn_once(&e);
    }
}

/// Sets the TCP user timeout: how long sent data may stay unacknowledged,
/// or unsent because the peer's window is shut, before the kernel aborts
/// the connection (tcp(7)). Idle connections are not affected: nothing is
/// waiting to be sent.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn set_send_timeout(tcp: &impl std::os::fd::AsRawFd, timeout: Duration) -> std::io::Result<()> {
    let ms = libc::c_uint::try_from(timeout.as_millis()).unwrap_or(libc::c_uint::MAX);
    // SAFETY: the descriptor belongs to a live socket (borrowed for the
    // call), and the option value is a c_uint of the size passed.
    let rc = unsafe {
        libc::setsockopt(
            tcp.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_USER_TIMEOUT,
            (&ms as *const libc::c_uint).cast(),
            std::mem::size_of::<libc::c_uint>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Other systems have no such option: responses then wait for their
/// clients without limit, as actix-web's own would.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub fn set_send_timeout<T>(_: &T, _: Duration) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "no TCP user timeout on this system",
    ))
}

/// One warning per process: a failure here is the system's, the same for
/// every connection.
fn warn_once(e: &std::io::Error) {
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| {
        tracing::warn!(
            error = %e,
            "cannot set the send timeout: responses wait for clients that stop reading"
        );
    });
}

/// Giving freed memory back to the system. glibc keeps what is freed in
/// its arenas for reuse, and returns it only from the top of each heap: a
/// flood of large responses (each with its rows, its rendering and its
/// body, spread over every thread's arena) left more than a gigabyte
/// resident after the clients were gone. `malloc_trim(0)` returns the free
/// pages of every arena; it runs on a thread of its own (it takes each
/// arena's lock in turn), once `TRIM_AFTER` bytes of large bodies have
/// been freed, after a pause that gathers a burst of them into one call
/// (so at most once per `TRIM_PAUSE`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod trim {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc::{sync_channel, SyncSender};
    use std::sync::OnceLock;
    use std::time::Duration;

    /// Bytes of large bodies freed that make a trim worth its cost: a few
    /// large pages, not every response.
    const TRIM_AFTER: usize = 16 << 20;
    /// The pause before a trim, gathering the frees of a burst into one
    /// call.
    const TRIM_PAUSE: Duration = Duration::from_secs(1);

    static FREED: AtomicUsize = AtomicUsize::new(0);
    static TRIMMER: OnceLock<Option<SyncSender<()>>> = OnceLock::new();

    pub fn freed(bytes: usize) {
        if FREED.fetch_add(bytes, Ordering::Relaxed) + bytes < TRIM_AFTER {
            return;
        }
        let trimmer = TRIMMER.get_or_init(|| {
            let (tx, rx) = sync_channel::<()>(1);
            std::thread::Builder::new()
                .name("confcal-trim".into())
                .spawn(move || {
                    while rx.recv().is_ok() {
                        std::thread::sleep(TRIM_PAUSE);
                        FREED.store(0, Ordering::Relaxed);
                        while rx.try_recv().is_ok() {}
                        let began = std::time::Instant::now();
                        // SAFETY: no arguments but a size; glibc locks
                        // each arena while it trims it.
                        unsafe { libc::malloc_trim(0) };
                        tracing::debug!(
                            ms = began.elapsed().as_secs_f64() * 1e3,
                            "gave freed memory back to the system"
                        );
                    }
                })
                .ok()
                .map(|_| tx)
        });
        if let Some(tx) = trimmer {
            // Full: a trim is already on its way.
            let _ = tx.try_send(());
        }
    }
}

/// Other allocators return memory by themselves (or cannot be asked).
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod trim {
    pub fn freed(_: usize) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pieces are the body, in order, none larger than [`SLICE`], and
    /// the size counts down to nothing.
    #[test]
    fn slices_are_the_body_in_order() {
        let body: Bytes = (0..(3 * SLICE + 17)).map(|i| (i % 251) as u8).collect();
        let mut s = Sliced::new(body.clone(), None);
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut out = Vec::new();
        assert_eq!(s.size(), BodySize::Sized(body.len() as u64));
        while let Poll::Ready(Some(Ok(piece))) = Pin::new(&mut s).poll_next(&mut cx) {
            assert!(piece.len() <= SLICE && !piece.is_empty());
            // A view of the body's own memory, not a copy of it.
            let offset = piece.as_ptr() as usize - body.as_ptr() as usize;
            assert_eq!(offset, out.len());
            out.extend_from_slice(&piece);
        }
        assert_eq!(out, body);
        assert_eq!(s.size(), BodySize::Sized(0));
        assert!(matches!(
            Pin::new(&mut s).poll_next(&mut cx),
            Poll::Ready(None)
        ));
    }

    /// Room is checked and taken at once, and given back with the body.
    #[test]
    fn the_budget_counts_private_bodies_until_they_are_gone() {
        let budget = SendBudget::new(3 * SLICE, 1);
        let body = |n: usize| Bytes::from(vec![7u8; n]);
        assert!(budget.try_take(2 * SLICE, None));
        let held = Sliced::new(
            body(2 * SLICE),
            Some(Charge {
                budget: budget.clone(),
                bytes: 2 * SLICE,
                client: None,
            }),
        );
        assert_eq!(budget.held(), 2 * SLICE);
        assert!(!budget.try_take(2 * SLICE, None), "past the limit");
        assert_eq!(budget.refused(), 1);
        // A body as large as the one refused does not fit either: the next
        // request is refused before it is made.
        assert!(budget.refuse_early(None));
        drop(held);
        assert_eq!(budget.held(), 0);
        assert!(!budget.refuse_early(None), "nothing held");
        assert!(budget.try_take(3 * SLICE, None), "the whole limit fits");
    }

    /// One client holds at most its share; another still finds room, and
    /// the first is refused early while the second is not.
    #[test]
    fn one_client_holds_at_most_its_share() {
        let budget = SendBudget::new(40 * SLICE, 1);
        let share = budget.client_limit();
        assert_eq!(share, 10 * SLICE);
        let (a, b): (IpAddr, IpAddr) =
            ("192.0.2.1".parse().unwrap(), "2001:db8::1".parse().unwrap());
        assert!(budget.try_take(6 * SLICE, Some(a)));
        assert!(!budget.try_take(6 * SLICE, Some(a)), "past a's share");
        assert!(
            budget.refuse_early(Some(a)),
            "a is refused before making another"
        );
        assert!(!budget.refuse_early(Some(b)), "b holds nothing");
        assert!(budget.try_take(6 * SLICE, Some(b)), "b has its own share");
        assert_eq!(budget.held(), 12 * SLICE);
        budget.give_back(6 * SLICE, Some(a));
        assert!(
            budget.try_take(10 * SLICE, Some(a)),
            "given back, a's share is whole again"
        );
        assert!(!budget.try_take(1, Some(a)));
        // Not from an address (a test request): only the whole limit counts.
        assert!(budget.try_take(20 * SLICE, None));
        assert_eq!(budget.held(), 36 * SLICE);
    }

    /// A stream's large pieces go on in slices, counted while they wait.
    #[test]
    fn streamed_pieces_are_resliced_and_counted_while_held() {
        let budget = SendBudget::new(1, 1);
        let make = || -> Bytes { (0..(2 * SLICE + 5)).map(|i| (i % 13) as u8).collect() };
        // Made for this body alone (a clone kept here would share it).
        let piece = make();
        let stream = futures_util::stream::iter([
            Ok::<_, std::convert::Infallible>(Bytes::from_static(b"small")),
            Ok(make()),
        ]);
        let mut body = Resliced::new(
            actix_web::body::BodyStream::new(stream),
            budget.clone(),
            None,
        );
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut next = || match Pin::new(&mut body).poll_next(&mut cx) {
            Poll::Ready(Some(Ok(b))) => Some(b),
            Poll::Ready(None) => None,
            other => panic!("{:?}", other.map(|_| ())),
        };
        assert_eq!(next().unwrap(), Bytes::from_static(b"small"));
        assert_eq!(budget.held(), 0, "small pieces are not counted");
        let mut out = Vec::new();
        let first = next().unwrap();
        assert_eq!(first.len(), SLICE);
        assert_eq!(
            budget.held(),
            piece.len(),
            "the rest of the piece is counted"
        );
        out.extend_from_slice(&first);
        while let Some(b) = next() {
            assert!(b.len() <= SLICE);
            out.extend_from_slice(&b);
        }
        assert_eq!(out, piece);
        assert_eq!(budget.held(), 0);
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn the_send_timeout_is_set_on_the_socket() {
        use std::os::fd::AsRawFd;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let conn = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        set_send_timeout(&conn, Duration::from_millis(1_234)).unwrap();
        let mut ms: libc::c_uint = 0;
        let mut len = std::mem::size_of::<libc::c_uint>() as libc::socklen_t;
        // SAFETY: a live socket, and a c_uint-sized buffer of that length.
        let rc = unsafe {
            libc::getsockopt(
                conn.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_USER_TIMEOUT,
                (&mut ms as *mut libc::c_uint).cast(),
                &mut len,
            )
        };
        assert_eq!(rc, 0);
        assert_eq!(ms, 1_234);
    }
}
