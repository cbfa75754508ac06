//! The HTTP/1 server, built from actix-web's parts so that a request with
//! `Expect: 100-continue` meets every check of the app before the client
//! is told to send its body.
//!
//! actix-http answers `Expect: 100-continue` by calling an *expect
//! service* and, once it returns the request, writing `100 Continue` and
//! only then calling the app. actix-web's `HttpServer` always uses the
//! default expect service, which returns at once: the client was invited
//! to send an upload (up to the body limit) that a 413, a 401 or a 403
//! would refuse unread. [`serve`] builds the same server by hand
//! (`actix_server` and `actix_http::HttpService`, with the settings
//! `HttpServer` gives) with [`WaitForBody`] as the expect service.
//!
//! [`WaitForBody`] does not repeat any rule: it runs the app itself on the
//! request, with the body wrapped so that it notices the first time the
//! app asks for it. If the app answers before that (a declared size over
//! the limit, a form from another site, an admin call without the token,
//! a rate limit, an unknown route: every check that needs only the head,
//! present and future), that answer goes out as the final response and
//! `100 Continue` is never sent. If the app asks for the body, the expect
//! service hands the request, still in progress, on to [`Resume`] (the
//! main service), actix-http writes `100 Continue`, and the app carries on
//! where it stopped, now receiving the body.

use std::cell::Cell;
use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_http::body::{BoxBody, MessageBody};
use actix_http::error::PayloadError;
use actix_http::{HttpMessage, HttpService, KeepAlive, Payload, Protocol, Request, Response};
use actix_server::Server;
use actix_service::{
    fn_service, map_config, IntoServiceFactory, Service, ServiceFactory, ServiceFactoryExt,
};
use actix_web::dev::{AppConfig, ServiceResponse};
use actix_web::rt::net::TcpStream;
use actix_web::web::Bytes;
use futures_util::future::Either;
use futures_util::Stream;

use super::head_errors::ErrorBodies;

/// `HttpServer`'s defaults, which the server had before it was built by
/// hand: how long a client has to send a request head, and to close its
/// side once the answer is sent (actix-http's own default is no wait).
pub(crate) const CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const CLIENT_DISCONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// What `confcal serve` sets on the server beyond the app.
pub struct ServerOptions {
    /// Worker threads; `None` is one per core.
    pub workers: Option<usize>,
    /// Seconds requests in flight get once a stop begins.
    pub shutdown_timeout_secs: u64,
    /// Stop gracefully when this completes (instead of on the OS signals).
    pub shutdown: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    /// How long a response waits for a client that stopped reading (see
    /// [`super::stream::on_connect`]).
    pub send_timeout: Duration,
}

/// Serves the app that `factory` makes (one per worker, as with
/// `HttpServer::new`) on `listener`: the workers start at once, and the
/// returned [`Server`] completes once the server has stopped.
///
/// Each worker makes the app twice: one instance answers requests without
/// `Expect`, the other runs those with it until they want their body. Both
/// share what the factory gives them (`web::Data` is an `Arc`).
pub fn serve<F, I, S, B>(
    listener: TcpListener,
    options: ServerOptions,
    factory: F,
) -> io::Result<Server>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<
            Request,
            Config = AppConfig,
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
            InitError = (),
        > + 'static,
    S::Service: 'static,
    <S::Service as Service<Request>>::Future: 'static,
    B: MessageBody + 'static,
{
    let addr = listener.local_addr()?;
    let mut builder = Server::build().shutdown_timeout(options.shutdown_timeout_secs);
    if let Some(n) = options.workers {
        builder = builder.workers(n);
    }
    if let Some(signal) = options.shutdown {
        builder = builder.shutdown_signal(signal);
    }
    // Lets each connection close once idle when a stop begins, instead of
    // holding the stop until its keep-alive runs out. `HttpServer` passes
    // it the same way; actix-http hides the builder method from its docs.
    let stopping = builder.graceful_shutdown_signal();
    let send_timeout = options.send_timeout;
    builder
        .listen(format!("confcal-{addr}"), listener, move || {
            let stopping = stopping.clone();
            let app = || map_config(factory().into_factory(), move |()| app_config(addr));
            let http = HttpService::build()
                .on_connect_ext(move |io: &ErrorBodies, _| {
                    super::stream::on_connect(io.get_ref(), send_timeout)
                })
                .graceful_shutdown_signal(move || {
                    let stopping = stopping.clone();
                    async move { stopping.notified().await }
                })
                .keep_alive(KeepAlive::default())
                .client_request_timeout(CLIENT_REQUEST_TIMEOUT)
                .client_disconnect_timeout(CLIENT_DISCONNECT_TIMEOUT)
                .local_addr(addr)
                .expect(WaitForBody(app()))
                .finish(Resume(app()));
            // What `HttpService::tcp` does, with the connection wrapped so
            // that actix-http's own error heads get JSON bodies.
            fn_service(|io: TcpStream| async move {
                let peer = io.peer_addr().ok();
                Ok((ErrorBodies::new(io), Protocol::Http1, peer))
            })
            .and_then(http)
        })
        .map(|b| b.run())
}

/// What `HttpServer` gives the app: plain http, the listening address as
/// the fallback host. `AppConfig`'s constructor is not public; this is the
/// one actix-web exports for servers built outside it (its test server).
fn app_config(addr: SocketAddr) -> AppConfig {
    AppConfig::__priv_test_new(false, addr.to_string(), addr)
}

/// An app's answer in progress, carried from the expect service to the
/// main one in a stand-in request's extensions (the only thing actix-http
/// passes between them).
type InFlight<B> = Pin<Box<dyn Future<Output = Result<ServiceResponse<B>, actix_web::Error>>>>;

struct Suspended<B>(InFlight<B>);

/// The expect service: see the module docs.
pub struct WaitForBody<SF>(SF);

impl<SF, B> ServiceFactory<Request> for WaitForBody<SF>
where
    SF: ServiceFactory<
        Request,
        Config = (),
        Response = ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    SF::Service: 'static,
    SF::Future: 'static,
    <SF::Service as Service<Request>>::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = Request;
    type Error = Response<BoxBody>;
    type Config = ();
    type Service = WaitForBodyService<SF::Service>;
    type InitError = SF::InitError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Service, SF::InitError>>>>;

    fn new_service(&self, (): ()) -> Self::Future {
        let app = self.0.new_service(());
        Box::pin(async move { Ok(WaitForBodyService { app: app.await? }) })
    }
}

pub struct WaitForBodyService<S> {
    app: S,
}

impl<S, B> Service<Request> for WaitForBodyService<S>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = Request;
    type Error = Response<BoxBody>;
    type Future = Pending<B>;

    actix_service::forward_ready!(app);

    fn call(&self, mut req: Request) -> Self::Future {
        let wanted = Rc::new(Cell::new(false));
        let body = Watched {
            inner: req.take_payload(),
            wanted: wanted.clone(),
        };
        let (req, _) = req.replace_payload(Payload::Stream {
            payload: Box::pin(body) as actix_http::BoxedPayloadStream,
        });
        Pending {
            app: Some(Box::pin(self.app.call(req))),
            wanted,
        }
    }
}

/// The app's answer to an `Expect` request, up to the moment it asks for
/// the body.
pub struct Pending<B> {
    app: Option<InFlight<B>>,
    wanted: Rc<Cell<bool>>,
}

impl<B: MessageBody + 'static> Future for Pending<B> {
    /// `Ok`: send `100 Continue` and go on; `Err`: the final answer.
    type Output = Result<Request, Response<BoxBody>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let app = self.app.as_mut().expect("polled after it finished");
        match app.as_mut().poll(cx) {
            Poll::Ready(Ok(res)) => Poll::Ready(Err(Response::from(res).map_into_boxed_body())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e.into())),
            // Waiting for the body, which the client sends only once told
            // to: hand the request on (its waker is the body's, so the
            // main service's polls will wake it).
            Poll::Pending if self.wanted.get() => {
                let app = self.app.take().expect("checked above");
                let req = Request::new();
                req.extensions_mut().insert(Suspended(app));
                Poll::Ready(Ok(req))
            }
            // Still on the head (a store lookup, say): wait.
            Poll::Pending => Poll::Pending,
        }
    }
}

/// A request body that records when it is first read.
struct Watched {
    inner: Payload,
    wanted: Rc<Cell<bool>>,
}

impl Stream for Watched {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.wanted.set(true);
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

/// The main service: the app, or the rest of an answer [`WaitForBody`]
/// began.
pub struct Resume<SF>(SF);

impl<SF, B> ServiceFactory<Request> for Resume<SF>
where
    SF: ServiceFactory<
        Request,
        Config = (),
        Response = ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    SF::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Config = ();
    type Service = ResumeService<SF::Service>;
    type InitError = SF::InitError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Service, SF::InitError>>>>;

    fn new_service(&self, (): ()) -> Self::Future {
        let app = self.0.new_service(());
        Box::pin(async move { Ok(ResumeService { app: app.await? }) })
    }
}

pub struct ResumeService<S> {
    app: S,
}

impl<S, B> Service<Request> for ResumeService<S>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = Either<S::Future, InFlight<B>>;

    actix_service::forward_ready!(app);

    fn call(&self, req: Request) -> Self::Future {
        let suspended = req.extensions_mut().remove::<Suspended<B>>();
        match suspended {
            Some(Suspended(app)) => Either::Right(app),
            None => Either::Left(self.app.call(req)),
        }
    }
}
