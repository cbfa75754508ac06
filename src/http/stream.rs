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
//! - `trim`: once large bodies have been freed, the memory is given back to
//!   the system (glibc keeps it otherwise, see [`Sliced`]'s `Drop`).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BodySize, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::Error;

/// Pieces a large body is sent in, and the size from which a body is
/// sliced: a stalled connection holds at most the write buffer (32 KiB)
/// plus one piece, whatever the body's size.
pub const SLICE: usize = 64 * 1024;

/// Middleware, just outside Compress: a response body that is one `Bytes`
/// of more than [`SLICE`] bytes is sent as [`Sliced`] pieces of it.
///
/// Outside Compress, because only there is it known whether the body goes
/// out as it is: Compress hands a body it will not encode through whole
/// (`try_into_bytes` still gives the `Bytes`), and one it encodes is
/// already a stream (and is freed as soon as it is compressed, the
/// compressed copy being what waits for the client).
pub async fn slice_large(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let res = next.call(req).await?;
    Ok(res.map_body(|_, body| match body.size() {
        BodySize::Sized(n) if n > SLICE as u64 => match body.try_into_bytes() {
            Ok(bytes) => EitherBody::right(Sliced::new(bytes)),
            Err(body) => EitherBody::left(body),
        },
        _ => EitherBody::left(body),
    }))
}

/// A body sent in [`SLICE`]-sized pieces of one `Bytes`: no piece is a
/// copy, and its length is known, so it goes out with `Content-Length`
/// (HTTP/1.0 clients included) exactly as the whole `Bytes` would.
pub struct Sliced {
    rest: Bytes,
    /// The body's length, to count as freed (see [`Sliced::release`]).
    len: usize,
}

impl Sliced {
    pub fn new(body: Bytes) -> Self {
        Sliced {
            len: body.len(),
            rest: body,
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
        let mut s = Sliced::new(body.clone());
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
