//! The errors actix-http answers by itself, before any code of ours sees a
//! request, given the JSON body every other error has.
//!
//! A request line or header it cannot parse (400), a head over its
//! 128 KiB buffer or with more than 96 fields (431), a first head not
//! received within the client request timeout (408): actix-http's HTTP/1
//! dispatcher writes these itself, as a head with `content-length: 0`, and
//! then closes the connection. It has no hook for them (the app, the
//! middleware and the expect service never run), so [`ErrorBodies`] wraps
//! the connection instead: it recognises such a head where it is written,
//! at the end of what the dispatcher hands the socket, and writes in its
//! place the same status and header fields with a JSON body,
//! `{"error": "...", "field": "..."}`, as [`super::HttpError`] would.
//!
//! What is recognised is narrow on purpose: one of those three statuses,
//! `content-length: 0`, no `content-type`, ending exactly where the bytes
//! handed over end. Every error of ours has a JSON or HTML content type
//! and a body, so no response of the app is ever rewritten; and an error
//! head that follows earlier responses on the same connection (pipelined
//! requests) is found there too, because only the bytes before it are
//! passed through first.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use actix_web::rt::net::TcpStream;
use actix_web::web::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A connection whose framework error heads get JSON bodies (see the
/// module docs).
pub struct ErrorBodies<T = TcpStream> {
    io: T,
    /// The rewritten error, still to be written: the dispatcher was told
    /// its head went out, so this is sent before anything else, and before
    /// a flush or shutdown completes.
    pending: Bytes,
}

impl<T> ErrorBodies<T> {
    pub fn new(io: T) -> Self {
        ErrorBodies {
            io,
            pending: Bytes::new(),
        }
    }

    /// The connection itself (for socket options).
    pub fn get_ref(&self) -> &T {
        &self.io
    }
}

impl<T: AsyncWrite + Unpin> ErrorBodies<T> {
    /// Writes what is pending; ready once nothing is.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.pending.is_empty() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.pending))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            let _ = self.pending.split_to(n);
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ErrorBodies<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ErrorBodies<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.poll_pending(cx))?;
        match find_error_head(buf) {
            None => Pin::new(&mut this.io).poll_write(cx, buf),
            // The responses before it first, so that the head is the start
            // of a later call (a socket taking only part of it must not
            // split it).
            Some((start, _)) if start > 0 => Pin::new(&mut this.io).poll_write(cx, &buf[..start]),
            Some((_, status)) => {
                this.pending = with_json_body(buf, status);
                // Its bytes are taken: the rewrite goes out in their place,
                // now or on the next write, flush or shutdown.
                let _ = this.poll_pending(cx)?;
                Poll::Ready(Ok(buf.len()))
            }
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// The statuses actix-http's dispatcher writes by itself.
const STATUSES: [u16; 3] = [400, 408, 431];

/// Where an error head of actix-http's own begins in `buf`, and its status:
/// the last response head in it, ending exactly at its end (see the module
/// docs).
fn find_error_head(buf: &[u8]) -> Option<(usize, u16)> {
    if !buf.ends_with(b"\r\n\r\n") {
        return None;
    }
    let start = rfind(buf, b"HTTP/1.")?;
    let head = std::str::from_utf8(&buf[start..]).ok()?;
    let mut lines = head[..head.len() - 4].split("\r\n");
    let status_line = lines.next()?;
    let status: u16 = status_line.get(9..12)?.parse().ok()?;
    if status_line.len() < 12 || !STATUSES.contains(&status) {
        return None;
    }
    let mut empty = false;
    for line in lines {
        let (name, value) = line.split_once(':')?;
        match name.to_ascii_lowercase().as_str() {
            "content-length" => empty = value.trim() == "0",
            "content-type" | "transfer-encoding" => return None,
            _ => {}
        }
    }
    empty.then_some((start, status))
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

/// `head` (a whole error head, see [`find_error_head`]) with a JSON body
/// that says what was wrong.
fn with_json_body(head: &[u8], status: u16) -> Bytes {
    let timeout;
    let (field, message) = match status {
        400 => (
            "request",
            "the request could not be read as HTTP/1.1: a malformed request line or header field",
        ),
        431 => (
            "headers",
            "the request head is too large: more than 128 KiB, or more than 96 header fields",
        ),
        _ => {
            timeout = format!(
                "the request head did not arrive in time: send it within {} seconds of connecting",
                super::server::CLIENT_REQUEST_TIMEOUT.as_secs()
            );
            ("request", timeout.as_str())
        }
    };
    let body = serde_json::json!({ "error": message, "field": field }).to_string();
    let head = String::from_utf8_lossy(head);
    let mut out = String::with_capacity(head.len() + body.len() + 64);
    for line in head.trim_end_matches("\r\n").split("\r\n") {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("content-length:") {
            out.push_str(&format!("content-length: {}\r\n", body.len()));
            out.push_str("content-type: application/json\r\n");
        } else {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("\r\n");
    out.push_str(&body);
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BAD: &[u8] = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\
        date: Wed, 02 Dec 2026 06:30:18 GMT\r\n\r\n";

    #[test]
    fn finds_the_framework_heads_alone_or_after_other_responses() {
        assert_eq!(find_error_head(BAD), Some((0, 400)));
        let mut piped = b"HTTP/1.1 200 OK\r\ncontent-length: 15\r\ncontent-type: \
            application/json\r\n\r\n{\"status\":\"ok\"}"
            .to_vec();
        let at = piped.len();
        piped.extend_from_slice(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n",
        );
        assert_eq!(find_error_head(&piped), Some((at, 431)));
        let timeout =
            b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
        assert_eq!(find_error_head(timeout), Some((0, 408)));
    }

    #[test]
    fn leaves_every_response_of_ours_alone() {
        for head in [
            // Ours have a content type and a body.
            &b"HTTP/1.1 400 Bad Request\r\ncontent-length: 40\r\ncontent-type: application/json\r\n\r\n"[..],
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ncontent-type: application/json\r\n\r\n",
            // Other statuses, a head still in the middle, a body after it.
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 304 Not Modified\r\netag: \"x\"\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\n{}",
            b"HTTP/1.1 400 Bad Request\r\ntransfer-encoding: chunked\r\n\r\n",
        ] {
            assert_eq!(find_error_head(head), None, "{}", String::from_utf8_lossy(head));
        }
    }

    #[test]
    fn the_rewrite_keeps_status_and_fields_and_adds_a_json_body() {
        let out = with_json_body(BAD, 400);
        let text = std::str::from_utf8(&out).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        assert!(head.contains("\r\nconnection: close"));
        assert!(head.contains("\r\ndate: Wed, 02 Dec 2026 06:30:18 GMT"));
        assert!(head.contains("\r\ncontent-type: application/json"));
        assert!(head.contains(&format!("\r\ncontent-length: {}", body.len())));
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["field"], "request");
        assert!(json["error"].as_str().unwrap().contains("malformed"));
    }
}
