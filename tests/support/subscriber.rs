//! A webhook subscriber on 127.0.0.1 for the outbox worker to deliver to: records every request
//! (its `webhook-id`, headers and body, and how it was answered), and can be down (the port bound
//! but not listening, so connections are refused), slow, or answer 500 until told otherwise.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use tokio::net::TcpSocket;

/// How the subscriber answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// 204 at once.
    Ok,
    /// 500 at once.
    ServerError,
    /// 204 after this long (a sender with a shorter timeout gives up first).
    Slow(Duration),
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Call {
    pub webhook_id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
    /// How the subscriber was set to answer when the request arrived.
    pub behaviour: Behaviour,
}

struct Inner {
    behaviour: Behaviour,
    calls: Vec<Call>,
}

#[derive(Clone)]
pub struct Subscriber {
    /// e.g. `http://127.0.0.1:40123/hook`
    pub url: String,
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    closed: Arc<Mutex<Option<TcpSocket>>>,
    _stop: Arc<tokio::sync::oneshot::Sender<()>>,
    stop_rx: Arc<Mutex<Option<tokio::sync::oneshot::Receiver<()>>>>,
}

impl Subscriber {
    /// A subscriber that is up and answers as `behaviour` says.
    pub async fn start(behaviour: Behaviour) -> Subscriber {
        let s = Subscriber::down().await;
        s.set(behaviour);
        s.open();
        s
    }

    /// A subscriber that is down: its port is taken but refuses connections until [`open`].
    ///
    /// [`open`]: Subscriber::open
    pub async fn down() -> Subscriber {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = socket.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        Subscriber {
            url: format!("http://{addr}/hook"),
            addr,
            inner: Arc::new(Mutex::new(Inner { behaviour: Behaviour::Ok, calls: Vec::new() })),
            closed: Arc::new(Mutex::new(Some(socket))),
            _stop: Arc::new(tx),
            stop_rx: Arc::new(Mutex::new(Some(rx))),
        }
    }

    /// Starts accepting connections (a subscriber that was down comes back).
    pub fn open(&self) {
        let socket = self.closed.lock().unwrap().take().expect("the subscriber is opened once");
        let listener = socket.listen(1024).unwrap();
        let stop = self.stop_rx.lock().unwrap().take().unwrap();
        let app = Router::new().route("/hook", post(receive)).with_state(self.inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stop.await;
                })
                .await;
        });
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Changes how later requests are answered.
    pub fn set(&self, behaviour: Behaviour) {
        self.inner.lock().unwrap().behaviour = behaviour;
    }

    pub fn calls(&self) -> Vec<Call> {
        self.inner.lock().unwrap().calls.clone()
    }

    /// How many requests each `webhook-id` got, and how many of them were answered 2xx.
    pub fn per_id(&self) -> BTreeMap<String, (usize, usize)> {
        let mut out: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for c in self.calls() {
            let e = out.entry(c.webhook_id.clone()).or_default();
            e.0 += 1;
            if c.behaviour == Behaviour::Ok {
                e.1 += 1;
            }
        }
        out
    }
}

async fn receive(State(inner): State<Arc<Mutex<Inner>>>, headers: HeaderMap, body: String) -> StatusCode {
    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let behaviour = {
        let mut i = inner.lock().unwrap();
        let behaviour = i.behaviour;
        i.calls.push(Call {
            webhook_id: h("webhook-id"),
            timestamp: h("webhook-timestamp"),
            signature: h("webhook-signature"),
            body,
            behaviour,
        });
        behaviour
    };
    match behaviour {
        Behaviour::Ok => StatusCode::NO_CONTENT,
        Behaviour::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        Behaviour::Slow(d) => {
            tokio::time::sleep(d).await;
            StatusCode::NO_CONTENT
        }
    }
}
