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
            Route::Tcp(c) => match encode_frame(data) {
                Some(f) => c.tx.send(f).is_ok(),
                None => false,
            },
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

/// Sends one datagram, or fails when the socket's send buffer is full.
///
/// A non-blocking `sendto` on the socket itself, not tokio's `try_send_to`: tokio answers
/// WouldBlock without trying until its reactor has seen the socket's first writable event (and
/// again after any WouldBlock, until the next one) — the worker can create a socket and send on
/// it in one go, before its reactor turns (the C face's direct test under valgrind lost that
/// first packet every time) — and its readiness bookkeeping costs a few percent of the worker's
/// CPU on the fan-out path for nothing: a full buffer fails with WouldBlock either way, and the
/// packet is dropped, as a router drops it.
///
/// Inside [`batch_sends`] the datagram is queued instead (and counts as sent): datagrams queued
/// back to back on one socket — a fan-out through a WebRtcServer's shared socket — leave in one
/// `sendmmsg`.
#[inline]
pub(crate) fn udp_send_to(socket: &Rc<UdpSocket>, data: &[u8], to: SocketAddr) -> std::io::Result<usize> {
    let queued = BATCH.with(|b| {
        let mut b = b.borrow_mut();
        if b.depth == 0 {
            return false;
        }
        b.push(socket, data, to);
        if b.msgs.len() >= MAX_BATCH {
            b.flush();
        }
        true
    });
    if queued {
        return Ok(data.len());
    }
    socket2::SockRef::from(&**socket).send_to(data, &to.into())
}

/// Datagrams queued at most before a flush (bounds how long the first one waits).
const MAX_BATCH: usize = 64;

thread_local! {
    /// The worker thread's send batch (see [`batch_sends`]).
    static BATCH: std::cell::RefCell<SendBatch> = std::cell::RefCell::new(SendBatch::default());
}

/// Datagrams queued during a batch: their bytes back to back in `data`, reused from batch to
/// batch (no allocation per packet once warm).
#[derive(Default)]
struct SendBatch {
    depth: u32,
    data: Vec<u8>,
    /// (socket, destination, offset and length in `data`).
    msgs: Vec<(Rc<UdpSocket>, socket2::SockAddr, usize, usize)>,
}

impl SendBatch {
    fn push(&mut self, socket: &Rc<UdpSocket>, data: &[u8], to: SocketAddr) {
        let start = self.data.len();
        self.data.extend_from_slice(data);
        self.msgs.push((socket.clone(), to.into(), start, data.len()));
    }

    /// Sends everything queued: one `sendmmsg` per run of datagrams on the same socket (a
    /// `sendto` for a run of one). What the kernel refuses (full buffer) is dropped.
    fn flush(&mut self) {
        use std::os::fd::AsRawFd;
        let mut i = 0;
        while i < self.msgs.len() {
            let sock = &self.msgs[i].0;
            let run = self.msgs[i..].iter().take_while(|m| Rc::ptr_eq(&m.0, sock)).count();
            if run == 1 {
                let (s, to, start, len) = &self.msgs[i];
                let _ = socket2::SockRef::from(&**s).send_to(&self.data[*start..start + len], to);
            } else {
                let mut iovs: [libc::iovec; MAX_BATCH] = [libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 0 }; MAX_BATCH];
                // SAFETY: an all-zero mmsghdr is a valid empty header.
                let mut hdrs: [libc::mmsghdr; MAX_BATCH] = unsafe { std::mem::zeroed() };
                for (k, (_, to, start, len)) in self.msgs[i..i + run].iter().enumerate() {
                    iovs[k] = libc::iovec { iov_base: self.data[*start..].as_ptr() as *mut libc::c_void, iov_len: *len };
                    hdrs[k].msg_hdr.msg_name = to.as_ptr() as *mut libc::c_void;
                    hdrs[k].msg_hdr.msg_namelen = to.len();
                }
                for (k, h) in hdrs.iter_mut().enumerate().take(run) {
                    h.msg_hdr.msg_iov = &mut iovs[k];
                    h.msg_hdr.msg_iovlen = 1;
                }
                let fd = sock.as_raw_fd();
                let mut sent = 0;
                while sent < run {
                    // SAFETY: hdrs[sent..run] point at live iovecs, addresses and bytes of this batch.
                    let n = unsafe { libc::sendmmsg(fd, hdrs[sent..].as_mut_ptr(), (run - sent) as u32, libc::MSG_DONTWAIT) };
                    if n <= 0 {
                        break; // full buffer (EAGAIN) or an error: the rest is dropped
                    }
                    sent += n as usize;
                }
            }
            i += run;
        }
        self.msgs.clear();
        self.data.clear();
    }
}

/// While the returned guard lives (on this thread), UDP sends are queued, and flushed when it
/// drops (or when [`MAX_BATCH`] are waiting). The media path holds one around a fan-out, so a
/// WebRtcServer's socket sends the copies of one packet to all its consumers in one syscall.
pub(crate) fn batch_sends() -> SendBatchGuard {
    BATCH.with(|b| b.borrow_mut().depth += 1);
    SendBatchGuard(())
}

/// See [`batch_sends`].
pub(crate) struct SendBatchGuard(());

impl Drop for SendBatchGuard {
    fn drop(&mut self) {
        BATCH.with(|b| {
            let mut b = b.borrow_mut();
            b.depth -= 1;
            if b.depth == 0 {
                b.flush();
            }
        });
    }
}

/// Datagrams read per `recvmmsg`, and per readiness event at most (then other sockets get their
/// turn).
const RECV_BATCH: usize = 16;
const RECV_ROUNDS: usize = 4;
/// Largest datagram read whole: media, RTCP, STUN, DTLS and SCTP datagrams stay below the path
/// MTU; a longer one arrives truncated and is dropped.
const RECV_SLOT: usize = 4096;

/// The worker thread's receive buffers (one set per thread, not per socket: 64 KiB per worker
/// instead of 64 KiB per transport).
struct RecvBufs {
    data: [[u8; RECV_SLOT]; RECV_BATCH],
}

thread_local! {
    static RECV_BUFS: std::cell::Cell<Option<Box<RecvBufs>>> = const { std::cell::Cell::new(None) };
}

/// Reads what is queued on `sock` — `recvmmsg` batches of [`RECV_BATCH`], at most
/// [`RECV_ROUNDS`] of them — and hands each datagram to `f`. WouldBlock (all read) is not an
/// error; tokio's readiness is cleared then, so the next `readable().await` waits.
pub(crate) fn drain_udp(sock: &UdpSocket, mut f: impl FnMut(&[u8], SocketAddr)) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // Taken out of the thread-local while in use: a nested drain (none today) gets its own.
    let mut bufs = RECV_BUFS.with(|b| b.take()).unwrap_or_else(|| Box::new(RecvBufs { data: [[0; RECV_SLOT]; RECV_BATCH] }));
    let fd = sock.as_raw_fd();
    let mut result = Ok(());
    for _ in 0..RECV_ROUNDS {
        // SAFETY: all-zero sockaddr_storage / mmsghdr are valid empty values.
        let mut addrs: [libc::sockaddr_storage; RECV_BATCH] = unsafe { std::mem::zeroed() };
        let mut iovs: [libc::iovec; RECV_BATCH] = [libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 0 }; RECV_BATCH];
        let mut hdrs: [libc::mmsghdr; RECV_BATCH] = unsafe { std::mem::zeroed() };
        for (i, d) in bufs.data.iter_mut().enumerate() {
            iovs[i] = libc::iovec { iov_base: d.as_mut_ptr().cast(), iov_len: RECV_SLOT };
        }
        for (i, h) in hdrs.iter_mut().enumerate() {
            h.msg_hdr.msg_name = (&mut addrs[i] as *mut libc::sockaddr_storage).cast();
            h.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_hdr.msg_iov = &mut iovs[i];
            h.msg_hdr.msg_iovlen = 1;
        }
        let got = sock.try_io(tokio::io::Interest::READABLE, || {
            // SAFETY: every header points at a live iovec / sockaddr_storage of this frame and
            // at a RECV_SLOT-byte buffer of `bufs`.
            let n = unsafe { libc::recvmmsg(fd, hdrs.as_mut_ptr(), RECV_BATCH as libc::c_uint, libc::MSG_DONTWAIT, std::ptr::null_mut()) };
            if n < 0 {
                Err(std::io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        });
        let n = match got {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => {
                result = Err(e);
                break;
            }
        };
        for i in 0..n {
            let h = &hdrs[i];
            if h.msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
                tracing::debug!("dropped a UDP datagram longer than {RECV_SLOT} bytes");
                continue;
            }
            // SAFETY: the kernel wrote a sockaddr of `msg_namelen` bytes into addrs[i].
            let from = unsafe { socket2::SockAddr::new(addrs[i], h.msg_hdr.msg_namelen) }.as_socket();
            if let Some(from) = from {
                f(&bufs.data[i][..(h.msg_len as usize).min(RECV_SLOT)], from);
            }
        }
        if n < RECV_BATCH {
            break;
        }
    }
    RECV_BUFS.with(|b| b.set(Some(bufs)));
    result
}

/// Largest RFC 4571 frame (the 16-bit length field's limit; a media packet never comes close).
const MAX_FRAME: usize = 65535;

/// One datagram as an RFC 4571 frame (2-byte big-endian length, then the datagram); `None` when
/// it is longer than a frame can say.
pub fn encode_frame(data: &[u8]) -> Option<Vec<u8>> {
    let len = u16::try_from(data.len()).ok()?;
    let mut f = Vec::with_capacity(data.len() + 2);
    f.extend_from_slice(&len.to_be_bytes());
    f.extend_from_slice(data);
    Some(f)
}

/// Incremental RFC 4571 decoder: the bytes of a TCP stream in, as they arrive, whole frames out.
///
/// Frames are handed out as soon as they are complete, straight from the pushed bytes when they
/// lie within one push; only the incomplete frame at the end of a push is kept, so the decoder
/// never holds more than `2 + 65535` bytes. A zero-length frame comes out as an empty datagram.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    /// The incomplete frame (length field included), empty between frames.
    pending: Vec<u8>,
}

impl FrameDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next bytes of the stream; `on_frame` gets every frame they complete, in order.
    pub fn push(&mut self, mut data: &[u8], mut on_frame: impl FnMut(&[u8])) {
        // First finish the frame a previous push left incomplete.
        while !self.pending.is_empty() {
            let want = match self.pending[..] {
                [hi, lo, ..] => 2 + usize::from(u16::from_be_bytes([hi, lo])),
                _ => 2,
            };
            if self.pending.len() >= 2 && self.pending.len() == want {
                on_frame(&self.pending[2..]);
                self.pending.clear();
                break;
            }
            if data.is_empty() {
                return;
            }
            let take = (want - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        // Then whole frames straight from `data`; keep what is left of it.
        while let [hi, lo, rest @ ..] = data {
            let n = usize::from(u16::from_be_bytes([*hi, *lo]));
            if rest.len() < n {
                break;
            }
            on_frame(&rest[..n]);
            data = &rest[n..];
        }
        self.pending.extend_from_slice(data);
    }

    /// Bytes held of the incomplete frame (length field included): at most `2 + 65535`.
    pub fn buffered(&self) -> usize {
        self.pending.len()
    }
}

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
        let mut buf = vec![0u8; MAX_FRAME];
        let mut frames = FrameDecoder::new();
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => frames.push(&buf[..n], |frame| on_frame(&conn, remote, frame)),
            }
        }
        on_close(&conn, remote);
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends inside a batch wait for its end, keep their order per destination, and leave
    /// whatever their sockets (a run per socket).
    #[test]
    fn batched_sends_leave_when_the_batch_ends_in_order_one_sendmmsg_per_socket_run() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap();
        rt.block_on(async {
            let rx: Vec<std::net::UdpSocket> = (0..2).map(|_| std::net::UdpSocket::bind("127.0.0.1:0").unwrap()).collect();
            for r in &rx {
                r.set_read_timeout(Some(std::time::Duration::from_millis(200))).unwrap();
            }
            let sock = || {
                let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
                s.set_nonblocking(true).unwrap();
                Rc::new(UdpSocket::from_std(s).unwrap())
            };
            let (shared, other) = (sock(), sock());
            let to = |i: usize| rx[i].local_addr().unwrap();
            let mut buf = [0u8; 2000];
            {
                let _outer = batch_sends();
                {
                    let _inner = batch_sends(); // nested: only the outermost guard flushes
                    for k in 0..3u8 {
                        udp_send_to(&shared, &[k; 1200], to(0)).unwrap();
                        udp_send_to(&shared, &[10 + k; 100], to(1)).unwrap();
                    }
                }
                udp_send_to(&other, b"other", to(1)).unwrap();
                rx[0].set_nonblocking(true).unwrap();
                assert!(rx[0].recv_from(&mut buf).is_err(), "nothing leaves before the batch ends");
                rx[0].set_nonblocking(false).unwrap();
            }
            for k in 0..3u8 {
                let (n, from) = rx[0].recv_from(&mut buf).unwrap();
                assert_eq!((n, buf[0], from), (1200, k, shared.local_addr().unwrap()));
            }
            let mut got = vec![];
            for _ in 0..4 {
                let (n, from) = rx[1].recv_from(&mut buf).unwrap();
                got.push((buf[..n].to_vec(), from == other.local_addr().unwrap()));
            }
            assert_eq!(got.iter().filter(|(_, o)| *o).map(|(d, _)| d.as_slice()).collect::<Vec<_>>(), vec![b"other".as_slice()]);
            assert_eq!(got.iter().filter(|(_, o)| !*o).map(|(d, _)| (d.len(), d[0])).collect::<Vec<_>>(), vec![(100, 10), (100, 11), (100, 12)]);
            // More than a batch holds: the overflow flushes early, nothing is lost.
            {
                let _b = batch_sends();
                for k in 0..(MAX_BATCH as u16 + 10) {
                    udp_send_to(&shared, &k.to_be_bytes(), to(0)).unwrap();
                }
            }
            for k in 0..(MAX_BATCH as u16 + 10) {
                let (n, _) = rx[0].recv_from(&mut buf).unwrap();
                assert_eq!(&buf[..n], &k.to_be_bytes());
            }
        });
    }

    /// recvmmsg batches: every queued datagram comes out whole, in order, with its sender; one
    /// longer than a slot is dropped; what is left after the per-event cap waits for the next.
    #[test]
    fn drain_udp_reads_batches_in_order_and_drops_oversized() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap();
        rt.block_on(async {
            let std_rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            std_rx.set_nonblocking(true).unwrap();
            let _ = socket2::SockRef::from(&std_rx).set_recv_buffer_size(1 << 20);
            let rx = UdpSocket::from_std(std_rx).unwrap();
            let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            let total = RECV_BATCH * RECV_ROUNDS + 5;
            for k in 0..total {
                let len = if k == 3 { RECV_SLOT + 1 } else { 20 + k };
                tx.send_to(&vec![k as u8; len], rx.local_addr().unwrap()).unwrap();
            }
            let mut got = vec![];
            while got.len() < total - 1 {
                rx.readable().await.unwrap();
                drain_udp(&rx, |d, from| {
                    assert_eq!(from, tx.local_addr().unwrap());
                    got.push((d.len(), d[0]));
                })
                .unwrap();
            }
            let want: Vec<(usize, u8)> = (0..total).filter(|&k| k != 3).map(|k| (20 + k, k as u8)).collect();
            assert_eq!(got, want);
        });
    }

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
            let tx = Rc::new(UdpSocket::from_std(std_tx).unwrap());
            // No await between registering the socket and sending: the reactor has not run.
            assert_eq!(udp_send_to(&tx, b"first", rx.local_addr().unwrap()).unwrap(), 5);
            let mut buf = [0u8; 16];
            let (n, from) = rx.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"first");
            assert_eq!(from, tx.local_addr().unwrap());
        });
    }

    fn decode_in_pieces(stream: &[u8], piece: usize) -> (Vec<Vec<u8>>, usize) {
        let mut d = FrameDecoder::new();
        let mut frames = vec![];
        for chunk in stream.chunks(piece.max(1)) {
            d.push(chunk, |f| frames.push(f.to_vec()));
        }
        (frames, d.buffered())
    }

    #[test]
    fn frames_come_out_whole_however_the_stream_is_cut() {
        let datagrams: Vec<Vec<u8>> = vec![vec![1, 2, 3], vec![], vec![9; 1500], vec![0xde, 0xad]];
        let mut stream: Vec<u8> = datagrams.iter().flat_map(|d| encode_frame(d).unwrap()).collect();
        stream.extend_from_slice(&[0x00, 0x05, 7, 7]); // an incomplete frame at the end
        for piece in [1, 2, 3, 7, 1501, stream.len()] {
            let (frames, left) = decode_in_pieces(&stream, piece);
            assert_eq!(frames, datagrams, "pieces of {piece}");
            assert_eq!(left, 4, "pieces of {piece}");
        }
    }

    #[test]
    fn the_largest_frame_fits_and_a_larger_datagram_is_refused() {
        assert!(encode_frame(&vec![0; MAX_FRAME + 1]).is_none());
        let f = encode_frame(&vec![5; MAX_FRAME]).unwrap();
        assert_eq!(&f[..2], &[0xff, 0xff]);
        let (frames, left) = decode_in_pieces(&f, 1000);
        assert_eq!((frames.len(), frames[0].len(), left), (1, MAX_FRAME, 0));
    }
}
