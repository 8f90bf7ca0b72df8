//! Socket plumbing shared by WebRTC transports and WebRtcServers: where a remote address is
//! reached (a UDP socket or a TCP connection), and ICE-TCP's RFC 4571 framing.

use std::net::SocketAddr;
use std::rc::Rc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;

use super::Protocol;

/// How to reach one remote address: the local UDP socket its packets came in on, or its TCP
/// connection. Cheap to clone; held per remote in a transport's route table.
#[derive(Clone)]
pub(crate) enum Route {
    Udp(Rc<UdpSocket>),
    Tcp(Rc<TcpConn>),
}

/// The sending half of an ICE-TCP connection: frames queue to a writer task.
pub(crate) struct TcpConn {
    /// Connection number within its listener (for logs).
    #[allow(dead_code)]
    pub(crate) id: u64,
    pub(crate) local: SocketAddr,
    tx: mpsc::UnboundedSender<Vec<u8>>,
}

impl Route {
    /// Sends one datagram (a framed message on TCP); false when it could not be queued.
    pub(crate) fn send(&self, to: SocketAddr, data: &[u8]) -> bool {
        match self {
            Route::Udp(s) => s.try_send_to(data, to).is_ok(),
            Route::Tcp(c) => {
                if data.len() > u16::MAX as usize {
                    return false;
                }
                let mut f = Vec::with_capacity(data.len() + 2);
                f.extend_from_slice(&(data.len() as u16).to_be_bytes());
                f.extend_from_slice(data);
                c.tx.send(f).is_ok()
            }
        }
    }

    pub(crate) fn protocol(&self) -> Protocol {
        match self {
            Route::Udp(_) => Protocol::Udp,
            Route::Tcp(_) => Protocol::Tcp,
        }
    }

    pub(crate) fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            Route::Udp(s) => s.local_addr().ok(),
            Route::Tcp(c) => Some(c.local),
        }
    }
}

/// Largest RFC 4571 frame we accept (a media packet never comes close).
const MAX_FRAME: usize = 65535;

/// Splits an accepted ICE-TCP stream into a writer task and a frame reader. `on_frame` gets each
/// framed datagram; `on_close` runs once when the connection ends.
pub(crate) fn serve_tcp(
    stream: TcpStream,
    id: u64,
    mut on_frame: impl FnMut(&Rc<TcpConn>, SocketAddr, &[u8]) + 'static,
    on_close: impl FnOnce(&Rc<TcpConn>, SocketAddr) + 'static,
) -> Option<tokio::task::JoinHandle<()>> {
    let remote = stream.peer_addr().ok()?;
    let local = stream.local_addr().ok()?;
    let _ = stream.set_nodelay(true);
    let (mut rd, mut wr) = stream.into_split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let conn = Rc::new(TcpConn { id, local, tx });
    tokio::task::spawn_local(async move {
        while let Some(f) = rx.recv().await {
            if wr.write_all(&f).await.is_err() {
                break;
            }
        }
    });
    Some(tokio::task::spawn_local(async move {
        let mut len = [0u8; 2];
        let mut buf = vec![0u8; MAX_FRAME];
        loop {
            if rd.read_exact(&mut len).await.is_err() {
                break;
            }
            let n = u16::from_be_bytes(len) as usize;
            if rd.read_exact(&mut buf[..n]).await.is_err() {
                break;
            }
            on_frame(&conn, remote, &buf[..n]);
        }
        on_close(&conn, remote);
    }))
}
