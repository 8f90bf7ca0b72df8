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
            Route::Udp(s) => udp_send_to(s, data, to).is_ok(),
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

/// Sends one datagram now, or fails when the socket's send buffer is full.
///
/// tokio's `try_send_to` answers WouldBlock without trying until its reactor has seen the
/// socket's first writable event (and again after any WouldBlock, until the next one). The
/// worker can create a socket and send on it in one go, before its reactor turns (a plain
/// transport connected, consumed and fed by a direct producer: the C face's direct test under
/// valgrind lost that first packet every time), so then the non-blocking `sendto` is tried
/// directly: a full buffer still fails with WouldBlock, as before.
pub(crate) fn udp_send_to(socket: &UdpSocket, data: &[u8], to: SocketAddr) -> std::io::Result<usize> {
    match socket.try_send_to(data, to) {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => socket2::SockRef::from(socket).send_to(data, &to.into()),
        other => other,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A datagram sent on a socket the reactor has not polled yet still leaves (tokio's own
    /// `try_send_to` answers WouldBlock there without trying).
    #[test]
    fn udp_send_to_a_fresh_socket_sends_at_once() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap();
        rt.block_on(async {
            let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            rx.set_read_timeout(Some(std::time::Duration::from_secs(2))).unwrap();
            let std_tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            std_tx.set_nonblocking(true).unwrap();
            let tx = UdpSocket::from_std(std_tx).unwrap();
            // No await between registering the socket and sending: the reactor has not run.
            assert_eq!(udp_send_to(&tx, b"first", rx.local_addr().unwrap()).unwrap(), 5);
            let mut buf = [0u8; 16];
            let (n, from) = rx.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"first");
            assert_eq!(from, tx.local_addr().unwrap());
        });
    }
}
