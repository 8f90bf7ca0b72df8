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
    /// Bytes queued for the writer (bounded by [`MAX_TCP_QUEUED`]).
    queued: std::cell::Cell<usize>,
}

impl Route {
    /// Sends one datagram (a framed message on TCP); false when it could not be queued.
    pub(crate) fn send(&self, to: SocketAddr, data: &[u8]) -> bool {
        match self {
            Route::Udp(s) => udp_send_to(s, data, to).is_ok(),
            Route::Tcp(c) => {
                if c.queued.get() + data.len() + 2 > MAX_TCP_QUEUED {
                    return false; // the peer does not read: drop, as a full UDP buffer does
                }
                match encode_frame(data) {
                    Some(f) => {
                        let len = f.len();
                        let ok = c.tx.send(f).is_ok();
                        if ok {
                            c.queued.set(c.queued.get() + len);
                        }
                        ok
                    }
                    None => false,
                }
            }
        }
    }

    pub(crate) fn protocol(&self) -> Protocol {
        match self {
            Route::Udp(_) => Protocol::Udp,
            Route::Tcp(_) => Protocol::Tcp,
        }
    }

    /// [`Route::send`] for a datagram that `write` appends to the vector it is given (see
    /// [`udp_send_with`]); false when `write` declines or the send fails.
    pub(crate) fn send_with(&self, to: SocketAddr, write: impl FnOnce(&mut Vec<u8>) -> bool) -> bool {
        match self {
            Route::Udp(s) => udp_send_with(s, to, write),
            Route::Tcp(_) => with_write_scratch(|out| write(out) && self.send(to, out)),
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
/// Inside [`batch_sends`] the datagram is queued instead (and counts as sent), and leaves with
/// the batch (see [`SendBatch::flush`]).
#[inline]
pub(crate) fn udp_send_to(socket: &Rc<UdpSocket>, data: &[u8], to: SocketAddr) -> std::io::Result<usize> {
    let queued = BATCH.with(|b| {
        let mut b = b.borrow_mut();
        if b.depth == 0 {
            return false;
        }
        let start = b.data.len();
        b.data.extend_from_slice(data);
        b.queue_written(socket, to, start);
        true
    });
    if queued {
        return Ok(data.len());
    }
    send_one(socket, data, &to.into())
}

thread_local! {
    /// Where [`udp_send_with`] writes a datagram sent outside a batch (reused).
    static WRITE_SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// [`udp_send_to`] for a datagram that `write` appends to the vector it is given (returning
/// false to send nothing): inside [`batch_sends`] straight into the batch, so a packet
/// encrypted on its way out is copied once (into the batch, then encrypted in place) instead of
/// into an encryption buffer and again into the batch. Outside a batch it is written to a
/// reused buffer and sent at once. True when queued or sent.
pub(crate) fn udp_send_with(socket: &Rc<UdpSocket>, to: SocketAddr, write: impl FnOnce(&mut Vec<u8>) -> bool) -> bool {
    let mut write = Some(write);
    let queued = BATCH.with(|b| {
        let mut b = b.borrow_mut();
        if b.depth == 0 {
            return None;
        }
        let start = b.data.len();
        if !(write.take()?)(&mut b.data) {
            b.data.truncate(start);
            return Some(false);
        }
        b.queue_written(socket, to, start);
        Some(true)
    });
    if let Some(sent) = queued {
        return sent;
    }
    let Some(write) = write.take() else { return false };
    with_write_scratch(|out| write(out) && send_one(socket, out, &to.into()).is_ok())
}

/// Runs `f` on the thread's reused write buffer, emptied.
fn with_write_scratch<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    WRITE_SCRATCH.with(|w| {
        let mut out = std::mem::take(&mut *w.borrow_mut());
        out.clear();
        let r = f(&mut out);
        *w.borrow_mut() = out;
        r
    })
}

/// One non-blocking `sendto`. A send the kernel refuses for another reason than a full buffer
/// is noted for [`take_socket_errors`].
///
/// The sockets have `IP_RECVERR` on (see [`enable_error_queue`]), and Linux then fails the next
/// send on the socket — whatever its destination — with the error of an ICMP message that came
/// back for an earlier datagram (once). So a refused send reads the error queue (that ICMP
/// error is noted there, for the destination it was about) and is tried once more: only what
/// fails again is this datagram's own error (EPERM from a firewall, no route, ...).
fn send_one(socket: &UdpSocket, data: &[u8], to: &socket2::SockAddr) -> std::io::Result<usize> {
    let sock = socket2::SockRef::from(socket);
    match sock.send_to(data, to) {
        Err(e) if e.kind() != std::io::ErrorKind::WouldBlock => {
            use std::os::fd::AsRawFd;
            read_error_queue(socket.as_raw_fd());
            let r = sock.send_to(data, to);
            if let (Err(e), Some(to)) = (&r, to.as_socket()) {
                if let (Some(errno), false) = (e.raw_os_error(), e.kind() == std::io::ErrorKind::WouldBlock) {
                    note_socket_error(socket.as_raw_fd(), to, errno, SocketErrorOrigin::Send, None);
                }
            }
            r
        }
        r => r,
    }
}

/// Where a socket error was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SocketErrorOrigin {
    /// `sendto` refused the datagram (a firewall's EPERM, no route, ...).
    Send,
    /// An ICMP error came back for a datagram sent to the remote (port or host unreachable, ...).
    Icmp {
        /// ICMP (or ICMPv6) type and code.
        icmp_type: u8,
        icmp_code: u8,
    },
    /// The kernel reported a local error for a datagram sent (e.g. EMSGSIZE).
    Local,
}

/// A socket error, noted on the worker thread and picked up by its next tick, which reports it
/// on the transport that sends to `remote` from that socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SocketErrorReport {
    pub(crate) fd: std::os::fd::RawFd,
    /// The address the failed datagram was sent to.
    pub(crate) remote: SocketAddr,
    pub(crate) errno: i32,
    pub(crate) origin: SocketErrorOrigin,
    /// Who sent the ICMP error (the remote host or a router on the way).
    pub(crate) offender: Option<std::net::IpAddr>,
    /// How many times since the last pick-up.
    pub(crate) count: u64,
}

/// Distinct errors kept between two ticks; more are dropped (the same error again only counts).
const MAX_SOCKET_ERRORS: usize = 64;

thread_local! {
    static SOCKET_ERRORS: std::cell::RefCell<Vec<SocketErrorReport>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn note_socket_error(fd: std::os::fd::RawFd, remote: SocketAddr, errno: i32, origin: SocketErrorOrigin, offender: Option<std::net::IpAddr>) {
    SOCKET_ERRORS.with(|e| {
        let mut e = e.borrow_mut();
        if let Some(r) = e.iter_mut().find(|r| r.fd == fd && r.remote == remote && r.errno == errno && r.origin == origin) {
            r.count += 1;
            r.offender = offender.or(r.offender);
        } else if e.len() < MAX_SOCKET_ERRORS {
            e.push(SocketErrorReport { fd, remote, errno, origin, offender, count: 1 });
        }
    });
}

/// The socket errors noted on this thread since the last call.
pub(crate) fn take_socket_errors() -> Vec<SocketErrorReport> {
    SOCKET_ERRORS.with(|e| {
        let mut e = e.borrow_mut();
        if e.is_empty() {
            Vec::new()
        } else {
            std::mem::take(&mut *e)
        }
    })
}

/// Turns on `IP_RECVERR` (and `IPV6_RECVERR`): ICMP errors for datagrams the socket sent are
/// queued on it with the destination they were about. Without it an unconnected UDP socket
/// never hears of them, and a plain transport sending to a dead port would be silent.
pub(crate) fn enable_error_queue(sock: &std::net::UdpSocket, ipv6: bool) {
    if ipv6 {
        turn_on(sock, libc::SOL_IPV6, libc::IPV6_RECVERR);
    }
    // Also for an IPv6 socket: IPv4-mapped traffic reports through the IPv4 option.
    turn_on(sock, libc::SOL_IP, libc::IP_RECVERR);
}

/// Sets an on/off socket option to on; where the kernel lacks it, nothing happens.
fn turn_on(sock: &std::net::UdpSocket, level: libc::c_int, opt: libc::c_int) {
    use std::os::fd::AsRawFd;
    let on: libc::c_int = 1;
    // SAFETY: a valid fd and a c_int option value of the right size.
    unsafe { libc::setsockopt(sock.as_raw_fd(), level, opt, (&on as *const libc::c_int).cast(), std::mem::size_of::<libc::c_int>() as libc::socklen_t) };
}

/// Reads the socket's error queue (`MSG_ERRQUEUE`) empty and notes each error. Errors queued
/// there count against the socket's receive buffer, so they must not stay.
pub(crate) fn read_error_queue(fd: std::os::fd::RawFd) {
    // Bounded: the queue is bounded by the receive buffer, but a flood should not hold the
    // worker here; what is left raises the socket's readiness again.
    for _ in 0..256 {
        // SAFETY: all-zero sockaddr_storage / msghdr are valid empty values.
        let mut name: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let mut payload = [0u8; 64];
        let mut iov = libc::iovec { iov_base: payload.as_mut_ptr().cast(), iov_len: payload.len() };
        let mut control = [0u64; 64];
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_name = (&mut name as *mut libc::sockaddr_storage).cast();
        msg.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control);
        // SAFETY: msg points at live buffers of this frame.
        let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT) };
        if n < 0 {
            return; // EAGAIN: empty
        }
        // SAFETY: the kernel wrote a sockaddr of `msg_namelen` bytes (the original destination).
        let Some(remote) = (unsafe { socket2::SockAddr::new(name, msg.msg_namelen) }).as_socket() else { continue };
        // SAFETY: CMSG_* walk the control buffer the kernel filled (msg_controllen bytes).
        let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
        while !cmsg.is_null() {
            let c = unsafe { &*cmsg };
            if (c.cmsg_level == libc::SOL_IP && c.cmsg_type == libc::IP_RECVERR) || (c.cmsg_level == libc::SOL_IPV6 && c.cmsg_type == libc::IPV6_RECVERR) {
                // SAFETY: an IP(V6)_RECVERR cmsg holds a sock_extended_err, then the offender.
                let ee = unsafe { std::ptr::read_unaligned(libc::CMSG_DATA(cmsg) as *const libc::sock_extended_err) };
                let origin = match ee.ee_origin {
                    libc::SO_EE_ORIGIN_ICMP | libc::SO_EE_ORIGIN_ICMP6 => SocketErrorOrigin::Icmp { icmp_type: ee.ee_type, icmp_code: ee.ee_code },
                    _ => SocketErrorOrigin::Local,
                };
                let offender = if matches!(origin, SocketErrorOrigin::Icmp { .. }) {
                    let have = c.cmsg_len as usize;
                    let off = unsafe { libc::CMSG_DATA(cmsg) as usize - cmsg as usize } + std::mem::size_of::<libc::sock_extended_err>();
                    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
                    let len = have.saturating_sub(off).min(std::mem::size_of::<libc::sockaddr_storage>());
                    if len >= std::mem::size_of::<libc::sa_family_t>() {
                        unsafe { std::ptr::copy_nonoverlapping((cmsg as *const u8).add(off), (&mut storage as *mut libc::sockaddr_storage).cast::<u8>(), len) };
                        unsafe { socket2::SockAddr::new(storage, len as libc::socklen_t) }.as_socket().map(|a| a.ip())
                    } else {
                        None
                    }
                } else {
                    None
                };
                note_socket_error(fd, remote, ee.ee_errno as i32, origin, offender);
            }
            cmsg = unsafe { libc::CMSG_NXTHDR(&msg, cmsg) };
        }
    }
}

/// Errors an ICMP message (or a local error queued with it) can leave pending on a socket.
fn is_icmp_errno(errno: i32) -> bool {
    matches!(
        errno,
        libc::ECONNREFUSED | libc::EHOSTUNREACH | libc::ENETUNREACH | libc::EHOSTDOWN | libc::ENETDOWN | libc::EPROTO | libc::EMSGSIZE | libc::EACCES | libc::EPERM | libc::ETIMEDOUT | libc::ENOPROTOOPT
    )
}

/// errno's symbolic name for the errors a UDP socket reports (`ERRNO_<n>` for others).
pub(crate) fn errno_name(errno: i32) -> String {
    let name = match errno {
        libc::ECONNREFUSED => "ECONNREFUSED",
        libc::EHOSTUNREACH => "EHOSTUNREACH",
        libc::ENETUNREACH => "ENETUNREACH",
        libc::EPERM => "EPERM",
        libc::EACCES => "EACCES",
        libc::EMSGSIZE => "EMSGSIZE",
        libc::ENOBUFS => "ENOBUFS",
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
        libc::ENETDOWN => "ENETDOWN",
        libc::EHOSTDOWN => "EHOSTDOWN",
        libc::EPROTO => "EPROTO",
        libc::EINVAL => "EINVAL",
        libc::ENOPROTOOPT => "ENOPROTOOPT",
        libc::ETIMEDOUT => "ETIMEDOUT",
        _ => return format!("ERRNO_{errno}"),
    };
    name.to_owned()
}

/// Datagrams queued at most before a flush. Large enough that a video frame's packets (~6 per
/// consumer) for a few hundred consumers wait together: each consumer's packets then leave as
/// one GSO send (the kernel's send path once for the lot), where a 256-datagram batch split a
/// frame over several flushes and sent most packets one by one. It also bounds how long the first
/// datagram waits (its batch's SRTP and rewriting work, ~1–3 ms at most).
const MAX_BATCH: usize = 2048;
/// Bytes queued at most before a flush (the batch's buffer is reused: at most this much per
/// worker thread, and only once a fan-out that large happened).
const MAX_BATCH_BYTES: usize = 2 << 20;
/// Datagrams in one GSO send at most (the kernel's limit is 64 on older kernels).
pub(crate) const MAX_GSO_SEGMENTS: usize = 64;
/// Bytes in one GSO send at most (below an IP datagram's 64 KiB, headers included).
pub(crate) const MAX_GSO_BYTES: usize = 60_000;

thread_local! {
    /// The worker thread's send batch (see [`batch_sends`]).
    static BATCH: std::cell::RefCell<SendBatch> = std::cell::RefCell::new(SendBatch::default());
    /// UDP GSO is used until the kernel refuses it once (no UDP_SEGMENT, or a device without
    /// checksum offload: EIO); then this thread sends each datagram on its own. The
    /// environment variable `LIBSFU_UDP_GSO=0` turns it off from the start (a device that
    /// mishandles GSO without an error; A/B measurements).
    static GSO: std::cell::Cell<bool> = std::cell::Cell::new(std::env::var_os("LIBSFU_UDP_GSO").is_none_or(|v| v != "0"));
    /// Largest segment this thread still sends with GSO. A GSO send whose segments do not fit
    /// the path MTU is refused whole (EMSGSIZE; EINVAL on older kernels), where the same
    /// datagrams sent one by one would be fragmented and leave: after such a refusal, runs of
    /// that segment size or more go one by one, and GSO stays on for the rest.
    static GSO_MAX_SEGMENT: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
}

/// Whether this thread sends with UDP GSO (until the kernel refuses it; `LIBSFU_UDP_GSO=0`).
pub(crate) fn gso_enabled() -> bool {
    GSO.with(|g| g.get())
}

/// A refused GSO send of `seg`-byte segments below this says something else than "too large
/// for the path" (every IP path carries 1280 bytes): GSO is turned off.
const MIN_PATH_SEGMENT: usize = 1_200;

/// One queued datagram: its socket, destination, and where its bytes are in the batch.
struct Queued {
    sock: Rc<UdpSocket>,
    to: SocketAddr,
    addr: socket2::SockAddr,
    start: usize,
    len: usize,
}

/// Datagrams queued during a batch: their bytes back to back in `data`, reused from batch to
/// batch (no allocation per packet once warm).
struct SendBatch {
    depth: u32,
    data: Vec<u8>,
    msgs: Vec<Queued>,
    /// `msgs` indices grouped by socket, then destination (reused).
    order: Vec<u16>,
    /// The sort keys `order` comes from: (socket, address, port, index) (reused).
    keys: Vec<(usize, u128, u16, u16)>,
    /// `sendmmsg`'s arrays (reused).
    scratch: SendScratch,
    /// Flush thresholds ([`MAX_BATCH`], [`MAX_BATCH_BYTES`]; tests lower them).
    max_datagrams: usize,
    max_bytes: usize,
}

impl Default for SendBatch {
    fn default() -> Self {
        SendBatch {
            depth: 0,
            data: Vec::new(),
            msgs: Vec::new(),
            order: Vec::new(),
            keys: Vec::new(),
            scratch: SendScratch::default(),
            max_datagrams: MAX_BATCH,
            max_bytes: MAX_BATCH_BYTES,
        }
    }
}

/// The arrays one `sendmmsg` is built in, kept from flush to flush (a batch of 2048 would need
/// ~270 KiB of them: too much for the stack).
#[derive(Default)]
struct SendScratch {
    /// Per message: (first datagram in the run, datagrams, GSO segment size or 0).
    entries: Vec<(usize, usize, u16)>,
    iovs: Vec<libc::iovec>,
    /// One control buffer per message: a UDP_SEGMENT cmsg (CMSG_SPACE(2) = 24 bytes).
    controls: Vec<[u64; 4]>,
    hdrs: Vec<libc::mmsghdr>,
}

impl SendBatch {
    /// Queues the datagram written into `data` from `start` to its end; flushes when the
    /// batch is full.
    fn queue_written(&mut self, socket: &Rc<UdpSocket>, to: SocketAddr, start: usize) {
        let len = self.data.len() - start;
        self.msgs.push(Queued { sock: socket.clone(), to, addr: to.into(), start, len });
        if self.msgs.len() >= self.max_datagrams || self.data.len() >= self.max_bytes {
            self.flush();
        }
    }

    /// Sends everything queued: per socket, one `sendmmsg` (a `sendto` for a single datagram),
    /// in which the datagrams for one destination — in the order they were queued — go as GSO
    /// sends (`UDP_SEGMENT`: equal-size datagrams, the last may be shorter, handed to the
    /// kernel as one). A batch held over a loop turn catches several packets of a frame for
    /// each consumer, so they leave in one send path instead of one each. What the kernel
    /// refuses for a full buffer is dropped.
    fn flush(&mut self) {
        let n = self.msgs.len();
        if n > 0 {
            let msgs = &self.msgs;
            // Grouped by socket, then destination, as plain integers (comparing `SocketAddr`s
            // cost more than the rest of the sort); the index last keeps each destination's
            // datagrams in the order they were queued.
            self.keys.clear();
            self.keys.extend(msgs.iter().enumerate().map(|(i, m)| {
                let ip = match m.to.ip() {
                    std::net::IpAddr::V4(a) => u128::from(u32::from(a)),
                    std::net::IpAddr::V6(a) => u128::from(a),
                };
                (Rc::as_ptr(&m.sock) as usize, ip, m.to.port(), i as u16)
            }));
            self.keys.sort_unstable();
            self.order.clear();
            self.order.extend(self.keys.iter().map(|k| k.3));
            let mut i = 0;
            while i < n {
                let sock = &msgs[self.order[i] as usize].sock;
                let run = self.order[i..].iter().take_while(|&&k| Rc::ptr_eq(&msgs[k as usize].sock, sock)).count();
                send_run(&self.data, msgs, &self.order[i..i + run], &mut self.scratch);
                i += run;
            }
        }
        self.msgs.clear();
        self.data.clear();
    }
}

/// Sends the datagrams `run` (indices into `msgs`, all on one socket, grouped by destination)
/// with `sendmmsg`, a GSO send per run of one destination's datagrams where they allow it.
fn send_run(data: &[u8], msgs: &[Queued], run: &[u16], scratch: &mut SendScratch) {
    use std::os::fd::AsRawFd;
    let at = |k: usize| &msgs[run[k] as usize];
    if run.len() == 1 {
        let q = at(0);
        let _ = send_one(&q.sock, &data[q.start..q.start + q.len], &q.addr);
        return;
    }
    let gso = GSO.with(|g| g.get());
    let max_segment = GSO_MAX_SEGMENT.with(|m| m.get()).min(usize::from(u16::MAX));
    let SendScratch { entries, iovs, controls, hdrs } = scratch;
    entries.clear();
    let mut j = 0;
    while j < run.len() {
        let first = at(j);
        let (mut count, mut bytes) = (1, first.len);
        if gso && first.len <= max_segment {
            while j + count < run.len() && count < MAX_GSO_SEGMENTS {
                let next = at(j + count);
                if next.to != first.to || next.len > first.len || bytes + next.len > MAX_GSO_BYTES {
                    break;
                }
                count += 1;
                bytes += next.len;
                if next.len < first.len {
                    break; // only the last segment may be shorter
                }
            }
        }
        entries.push((j, count, if count > 1 { first.len as u16 } else { 0 }));
        j += count;
    }
    let ne = entries.len();
    iovs.clear();
    iovs.extend((0..run.len()).map(|k| {
        let q = at(k);
        libc::iovec { iov_base: data[q.start..].as_ptr() as *mut libc::c_void, iov_len: q.len }
    }));
    controls.clear();
    controls.resize(ne, [0; 4]);
    hdrs.clear();
    // SAFETY: an all-zero mmsghdr is a valid empty header.
    hdrs.resize_with(ne, || unsafe { std::mem::zeroed() });
    // (No vector grows from here on: the pointers taken below stay valid.)
    for (e, &(first, count, seg)) in entries.iter().enumerate() {
        let h = &mut hdrs[e].msg_hdr;
        let q = at(first);
        h.msg_name = q.addr.as_ptr() as *mut libc::c_void;
        h.msg_namelen = q.addr.len();
        h.msg_iov = &mut iovs[first];
        h.msg_iovlen = count;
        if seg > 0 {
            set_udp_segment(h, &mut controls[e], seg);
        }
    }
    let fd = at(0).sock.as_raw_fd();
    let mut sent = 0;
    while sent < ne {
        // SAFETY: hdrs[sent..ne] point at live iovecs, addresses, control buffers and bytes.
        let n = unsafe { libc::sendmmsg(fd, hdrs[sent..].as_mut_ptr(), (ne - sent) as u32, libc::MSG_DONTWAIT) };
        if n > 0 {
            sent += n as usize;
            continue;
        }
        let err = std::io::Error::last_os_error();
        if n < 0 && err.kind() == std::io::ErrorKind::WouldBlock {
            break; // full buffer: the rest is dropped
        }
        // The kernel refused message `sent`: its own error, a pending ICMP error of an earlier
        // datagram, or GSO itself. Its datagrams go one by one, and the rest of the run follows.
        let (first, count, seg) = entries[sent];
        if seg > 0 {
            gso_refused(usize::from(seg), &err);
        }
        for k in first..first + count {
            let q = at(k);
            let _ = send_one(&q.sock, &data[q.start..q.start + q.len], &q.addr);
        }
        sent += 1;
    }
}

/// What a refused GSO send of `seg`-byte segments teaches: segments too large for the path
/// (EMSGSIZE, or EINVAL for a large segment) lower [`GSO_MAX_SEGMENT`]; no GSO at all (EIO: a
/// device without checksum offload, ENOPROTOOPT/EOPNOTSUPP: no UDP_SEGMENT, EINVAL for a small
/// segment) turns it off for the thread. Other errors are the datagram's own.
fn gso_refused(seg: usize, err: &std::io::Error) {
    match err.raw_os_error() {
        Some(libc::EMSGSIZE) | Some(libc::EINVAL) if seg > MIN_PATH_SEGMENT => {
            if GSO_MAX_SEGMENT.with(|m| m.replace(m.get().min(seg - 1))) > seg - 1 {
                tracing::info!("UDP GSO refused for {seg}-byte segments ({err}): datagrams of {seg} bytes or more go one by one on this worker");
            }
        }
        Some(libc::EIO | libc::EINVAL | libc::ENOPROTOOPT | libc::EOPNOTSUPP) => {
            if GSO.with(|g| g.replace(false)) {
                tracing::info!("UDP GSO refused ({err}): sending datagrams one by one on this worker");
            }
        }
        _ => {}
    }
}

/// Makes `h` a UDP GSO send of `seg`-byte segments: a `UDP_SEGMENT` cmsg written into
/// `control` (which must outlive the send), its only control message.
pub fn set_udp_segment(h: &mut libc::msghdr, control: &mut [u64; 4], seg: u16) {
    h.msg_control = control.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE/LEN are pure arithmetic; the header and its data lie within `control`
    // (32 bytes >= CMSG_SPACE(2)).
    unsafe {
        h.msg_controllen = libc::CMSG_SPACE(2) as usize;
        let c = libc::CMSG_FIRSTHDR(h);
        (*c).cmsg_level = libc::SOL_UDP;
        (*c).cmsg_type = libc::UDP_SEGMENT;
        (*c).cmsg_len = libc::CMSG_LEN(2) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(c) as *mut u16, seg);
    }
}

/// While the returned guard lives (on this thread), UDP sends are queued, and flushed when it
/// drops (or when [`MAX_BATCH`] datagrams or [`MAX_BATCH_BYTES`] are waiting). A receive loop turn ([`drain_udp`]) holds one, and
/// so do `on_rtp`/`on_rtcp` for what reaches them other ways (ICE-TCP, in-memory pipes, direct
/// transports); nested guards flush with the outermost.
pub(crate) fn batch_sends() -> SendBatchGuard {
    BATCH.with(|b| b.borrow_mut().depth += 1);
    SendBatchGuard(())
}

/// Flushes the send batch now if at least `n` datagrams wait in it (between consumers of a
/// deferred fan-out, so that a consumer's packets stay together).
pub(crate) fn flush_sends_over(n: usize) {
    BATCH.with(|b| {
        let mut b = b.borrow_mut();
        if b.msgs.len() >= n {
            b.flush();
        }
    });
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
/// Bytes per receive slot: a whole IP datagram, since with UDP GRO one read can return several
/// datagrams of a flow coalesced (see [`enable_gro`]).
const RECV_SLOT: usize = 65536;

/// The worker thread's receive buffers (one set per thread, not per socket: 1 MiB per worker
/// instead of per transport).
struct RecvBufs {
    data: Box<[u8]>,
}

thread_local! {
    static RECV_BUFS: std::cell::Cell<Option<Box<RecvBufs>>> = const { std::cell::Cell::new(None) };
}

/// Turns on UDP GRO (`UDP_GRO`): the kernel may hand over equal-size datagrams of one flow that
/// arrived back to back (a publisher's frame, a GSO send) in one read, with their segment size;
/// [`drain_udp`] splits them. Ignored where the kernel lacks it.
pub fn enable_gro(sock: &std::net::UdpSocket) {
    turn_on(sock, libc::SOL_UDP, libc::UDP_GRO);
}

/// The GRO segment size the kernel reported for a read (`None`: a single datagram).
pub fn gro_segment_size(h: &libc::msghdr) -> Option<usize> {
    if h.msg_controllen == 0 {
        return None;
    }
    // SAFETY: CMSG_* walk the control buffer the kernel filled (msg_controllen bytes).
    let mut c = unsafe { libc::CMSG_FIRSTHDR(h) };
    while !c.is_null() {
        let cm = unsafe { &*c };
        if cm.cmsg_level == libc::SOL_UDP && cm.cmsg_type == libc::UDP_GRO {
            let size = unsafe { std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const libc::c_int) };
            return usize::try_from(size).ok().filter(|s| *s > 0);
        }
        c = unsafe { libc::CMSG_NXTHDR(h, c) };
    }
    None
}

/// Reads what is queued on `sock` — `recvmmsg` batches of [`RECV_BATCH`], at most
/// [`RECV_ROUNDS`] of them — and hands each datagram to `f` (a GRO read's datagrams one by
/// one). WouldBlock (all read) is not an error; tokio's readiness is cleared then, so the next
/// `readable().await` waits. This is one turn of a receive loop: what `f` sends is batched
/// over it (see [`batch_sends`]) and leaves when it returns — a GSO send per consumer, one
/// `sendmmsg` per socket.
pub(crate) fn drain_udp(sock: &UdpSocket, mut f: impl FnMut(&[u8], SocketAddr)) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let _batch = batch_sends();
    // Taken out of the thread-local while in use: a nested drain (none today) gets its own.
    let mut bufs = RECV_BUFS.with(|b| b.take()).unwrap_or_else(|| Box::new(RecvBufs { data: vec![0; RECV_SLOT * RECV_BATCH].into_boxed_slice() }));
    let fd = sock.as_raw_fd();
    let mut result = Ok(());
    let mut got_any = false;
    for _ in 0..RECV_ROUNDS {
        // SAFETY: all-zero sockaddr_storage / mmsghdr are valid empty values.
        let mut addrs: [libc::sockaddr_storage; RECV_BATCH] = unsafe { std::mem::zeroed() };
        let mut iovs: [libc::iovec; RECV_BATCH] = [libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 0 }; RECV_BATCH];
        let mut hdrs: [libc::mmsghdr; RECV_BATCH] = unsafe { std::mem::zeroed() };
        // Room for a UDP_GRO cmsg (CMSG_SPACE(4) = 24 bytes) per datagram.
        let mut controls = [[0u64; 4]; RECV_BATCH];
        for (i, d) in bufs.data.chunks_exact_mut(RECV_SLOT).enumerate() {
            iovs[i] = libc::iovec { iov_base: d.as_mut_ptr().cast(), iov_len: RECV_SLOT };
        }
        for (i, h) in hdrs.iter_mut().enumerate() {
            h.msg_hdr.msg_name = (&mut addrs[i] as *mut libc::sockaddr_storage).cast();
            h.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_hdr.msg_iov = &mut iovs[i];
            h.msg_hdr.msg_iovlen = 1;
            h.msg_hdr.msg_control = controls[i].as_mut_ptr().cast();
            h.msg_hdr.msg_controllen = std::mem::size_of_val(&controls[i]);
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
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if !got_any {
                    // Woken with nothing to read: an error queued (EPOLLERR) whose pending
                    // error a send already consumed.
                    read_error_queue(fd);
                }
                break;
            }
            Err(e) if e.raw_os_error().is_some_and(is_icmp_errno) => {
                // An ICMP error for a datagram sent earlier (IP_RECVERR), reported once,
                // before the data still queued: note it and read on.
                read_error_queue(fd);
                got_any = true;
                continue;
            }
            Err(e) => {
                result = Err(e);
                break;
            }
        };
        got_any = true;
        for i in 0..n {
            let h = &hdrs[i];
            if h.msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
                tracing::debug!("dropped a UDP datagram longer than {RECV_SLOT} bytes");
                continue;
            }
            // SAFETY: the kernel wrote a sockaddr of `msg_namelen` bytes into addrs[i].
            let from = unsafe { socket2::SockAddr::new(addrs[i], h.msg_hdr.msg_namelen) }.as_socket();
            let Some(from) = from else { continue };
            let read = &bufs.data[i * RECV_SLOT..i * RECV_SLOT + (h.msg_len as usize).min(RECV_SLOT)];
            match gro_segment_size(&h.msg_hdr) {
                Some(seg) if seg < read.len() => read.chunks(seg).for_each(|d| f(d, from)),
                _ => f(read, from),
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
#[cfg(test)]
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

/// Limits of ICE-TCP connections: a TCP connect costs an attacker nothing, so what a connection
/// may hold, how many there are and how long they may live are bounded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TcpLimits {
    /// Live connections per listener; more are closed as soon as they are accepted.
    pub(crate) max_connections: usize,
    /// A connection that has not carried a valid ICE connectivity check (become a route of its
    /// transport) within this long is closed.
    pub(crate) attach_timeout: std::time::Duration,
    /// A connection that carried no frame for this long is closed (ICE consent checks arrive
    /// every few seconds; ICE gives up on a path silent for 30 s).
    pub(crate) idle_timeout: std::time::Duration,
}

impl TcpLimits {
    /// A WebRtcTransport's own listener: one peer, a few interfaces.
    pub(crate) const TRANSPORT: TcpLimits = TcpLimits { max_connections: 64, attach_timeout: ATTACH_TIMEOUT, idle_timeout: IDLE_TIMEOUT };
    /// A WebRtcServer's listener, shared by all its transports.
    pub(crate) const SERVER: TcpLimits = TcpLimits { max_connections: 4096, attach_timeout: ATTACH_TIMEOUT, idle_timeout: IDLE_TIMEOUT };
}

#[cfg(not(test))]
const ATTACH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
#[cfg(not(test))]
const IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
// Unit tests watch the timeouts fire without waiting half a minute.
#[cfg(test)]
const ATTACH_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(1000);
#[cfg(test)]
const IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(2000);

/// Bytes of frames queued for one connection's writer at most: past it (a peer that does not
/// read) frames are dropped, as a full UDP socket buffer drops datagrams.
const MAX_TCP_QUEUED: usize = 1 << 20;

/// Bytes read from a connection at a time (frames longer than this are assembled by the
/// decoder; a connection holds at most one incomplete frame).
const TCP_READ_CHUNK: usize = 8192;

/// Serves an accepted ICE-TCP connection until it ends: reads RFC 4571 frames and hands each to
/// `on_frame` (which says whether the connection now is a route of its transport, i.e. carried a
/// valid connectivity check), writes what its [`TcpConn`] queues, and closes it when the peer
/// does, on an error, when it is not attached within `limits.attach_timeout`, or when idle for
/// `limits.idle_timeout`. `on_close` runs once at the end (not when the future is dropped).
pub(crate) async fn serve_tcp(
    stream: TcpStream,
    id: u64,
    limits: TcpLimits,
    mut on_frame: impl FnMut(&Rc<TcpConn>, SocketAddr, &[u8]) -> bool,
    on_close: impl FnOnce(&Rc<TcpConn>, SocketAddr),
) {
    let (Ok(remote), Ok(local)) = (stream.peer_addr(), stream.local_addr()) else { return };
    let _ = stream.set_nodelay(true);
    let (mut rd, mut wr) = stream.into_split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let conn = Rc::new(TcpConn { id, local, tx, queued: std::cell::Cell::new(0) });
    let writer = {
        let conn = conn.clone();
        async move {
            while let Some(f) = rx.recv().await {
                let r = wr.write_all(&f).await;
                conn.queued.set(conn.queued.get().saturating_sub(f.len()));
                if r.is_err() {
                    break;
                }
            }
        }
    };
    let reader = async {
        let mut buf = vec![0u8; TCP_READ_CHUNK];
        let mut frames = FrameDecoder::new();
        let mut attached = false;
        let deadline = tokio::time::sleep(limits.attach_timeout);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                r = rd.read(&mut buf) => match r {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let mut got_frame = false;
                        frames.push(&buf[..n], |frame| {
                            got_frame = true;
                            attached |= on_frame(&conn, remote, frame);
                        });
                        if got_frame && attached {
                            deadline.as_mut().reset(tokio::time::Instant::now() + limits.idle_timeout);
                        }
                    }
                },
                _ = &mut deadline => {
                    tracing::debug!("ICE-TCP connection {id} from {remote} closed: {}", if attached { "idle" } else { "no valid connectivity check" });
                    break;
                }
            }
        }
    };
    tokio::pin!(writer, reader);
    tokio::select! {
        _ = &mut reader => {}
        _ = &mut writer => {}
    }
    on_close(&conn, remote);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With IP_RECVERR on, Linux fails the next send on a socket with the error of an ICMP
    /// message that came back for an earlier datagram, whatever that send's destination: the
    /// error is noted for the destination it was about and no other datagram is lost for it —
    /// single sends, batched ones (`sendmmsg`), and the receive side.
    #[test]
    fn an_icmp_error_is_noted_for_its_destination_and_costs_no_other_datagram() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap();
        rt.block_on(async {
            let _ = take_socket_errors();
            let std_tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            enable_error_queue(&std_tx, false);
            std_tx.set_nonblocking(true).unwrap();
            let tx = Rc::new(UdpSocket::from_std(std_tx).unwrap());
            let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            rx.set_read_timeout(Some(std::time::Duration::from_millis(500))).unwrap();
            let dead = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
            let good = rx.local_addr().unwrap();
            let settle = || std::thread::sleep(std::time::Duration::from_millis(20));
            let mut buf = [0u8; 64];

            udp_send_to(&tx, b"to-dead", dead).unwrap();
            settle(); // the ICMP error is pending now
            assert_eq!(udp_send_to(&tx, b"single", good).unwrap(), 6, "a send after an ICMP error still goes out");
            let n = rx.recv(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"single");

            udp_send_to(&tx, b"to-dead", dead).unwrap();
            settle();
            {
                let _b = batch_sends();
                for k in 0..5u8 {
                    udp_send_to(&tx, &[k], good).unwrap();
                }
            }
            for k in 0..5u8 {
                let n = rx.recv(&mut buf).unwrap();
                assert_eq!(&buf[..n], &[k], "the whole sendmmsg run arrives");
            }

            // Receiving: the pending error comes first, then the data queued behind it.
            let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            peer.send_to(b"queued", tx.local_addr().unwrap()).unwrap();
            udp_send_to(&tx, b"to-dead", dead).unwrap();
            settle();
            let mut got = vec![];
            tx.readable().await.unwrap();
            drain_udp(&tx, |d, _| got.push(d.to_vec())).unwrap();
            assert_eq!(got, vec![b"queued".to_vec()]);

            let errors = take_socket_errors();
            assert_eq!(errors.len(), 1, "{errors:?}");
            let e = &errors[0];
            assert_eq!((e.remote, e.errno, e.origin), (dead, libc::ECONNREFUSED, SocketErrorOrigin::Icmp { icmp_type: 3, icmp_code: 3 }));
            assert_eq!(e.count, 3, "three ICMP errors, one per datagram to the dead port");
            assert_eq!(e.offender, Some(dead.ip()));
            assert!(take_socket_errors().is_empty());
        });
    }

    /// A peer that does not read its ICE-TCP connection cannot make frames pile up: past
    /// MAX_TCP_QUEUED bytes queued, sends fail (the frame is dropped); what the writer takes
    /// frees room again.
    #[test]
    fn an_ice_tcp_write_queue_is_bounded() {
        let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let conn = Rc::new(TcpConn { id: 1, local: "127.0.0.1:1".parse().unwrap(), tx, queued: std::cell::Cell::new(0) });
        let route = Route::Tcp(conn.clone());
        let to = "127.0.0.1:2".parse().unwrap();
        let sent = (0..2000).take_while(|_| route.send(to, &[7u8; 1200])).count();
        assert_eq!(sent, MAX_TCP_QUEUED / 1202);
        assert!(conn.queued.get() <= MAX_TCP_QUEUED);
        // The writer took one frame and wrote it: room for one more.
        let f = rx.try_recv().unwrap();
        conn.queued.set(conn.queued.get() - f.len());
        assert!(route.send(to, &[7u8; 1200]));
        assert!(!route.send(to, &[7u8; 1200]));
    }

    /// Reads one datagram (or one GRO-coalesced run of them) with its GRO segment size.
    fn recv_gro(sock: &std::net::UdpSocket, buf: &mut [u8]) -> (usize, Option<usize>) {
        use std::os::fd::AsRawFd;
        let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
        let mut control = [0u64; 4];
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control);
        let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, 0) };
        assert!(n >= 0, "{}", std::io::Error::last_os_error());
        (n as usize, gro_segment_size(&msg))
    }

    /// A GSO send whose segments exceed the path MTU is refused whole (here: IPv6 loopback with
    /// the socket's IPV6_MTU at 1280); its datagrams still leave, one by one (fragmented), later
    /// runs that large skip GSO, and smaller segments keep it.
    #[test]
    fn a_gso_send_too_large_for_the_path_falls_back_and_caps_the_segment_size() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap();
        rt.block_on(async {
            let std_tx = std::net::UdpSocket::bind("[::1]:0").expect("IPv6 loopback");
            let mtu: libc::c_int = 1280;
            // SAFETY: setsockopt reads one c_int from a live local.
            let r = unsafe { libc::setsockopt(std::os::fd::AsRawFd::as_raw_fd(&std_tx), libc::IPPROTO_IPV6, libc::IPV6_MTU, (&mtu as *const libc::c_int).cast(), std::mem::size_of::<libc::c_int>() as libc::socklen_t) };
            assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
            std_tx.set_nonblocking(true).unwrap();
            let tx = Rc::new(UdpSocket::from_std(std_tx).unwrap());
            let rx = std::net::UdpSocket::bind("[::1]:0").unwrap();
            enable_gro(&rx);
            rx.set_read_timeout(Some(std::time::Duration::from_millis(500))).unwrap();
            let to = rx.local_addr().unwrap();
            let pkt = |k: u8, len: usize| (0..len).map(|i| k.wrapping_add(i as u8)).collect::<Vec<u8>>();
            let mut buf = vec![0u8; 65536];
            for round in 0..2 {
                {
                    let _batch = batch_sends();
                    for k in 0..3u8 {
                        udp_send_to(&tx, &pkt(k, 1300), to).unwrap();
                    }
                }
                for k in 0..3u8 {
                    let (n, _) = recv_gro(&rx, &mut buf);
                    assert_eq!(&buf[..n], &pkt(k, 1300)[..], "round {round}: datagram {k} whole, alone");
                }
                assert_eq!(GSO_MAX_SEGMENT.with(|m| m.get()), 1299, "round {round}");
                assert!(GSO.with(|g| g.get()), "GSO stays on");
            }
            {
                let _batch = batch_sends();
                for k in 0..3u8 {
                    udp_send_to(&tx, &pkt(k, 1200), to).unwrap();
                }
            }
            let (n, seg) = recv_gro(&rx, &mut buf);
            assert_eq!((n, seg), (3 * 1200, Some(1200)), "segments that fit still go as one GSO send");
        });
    }

    /// In a batch, one destination's datagrams leave as one GSO send (equal sizes, the last may
    /// be shorter): a GRO receiver gets them in one read, another receiver gets each datagram as
    /// sent, in order; and `drain_udp` splits a GRO read back into the datagrams.
    #[test]
    fn one_destinations_datagrams_leave_as_a_gso_send_and_drain_udp_splits_gro_reads() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap();
        rt.block_on(async {
            let std_tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            std_tx.set_nonblocking(true).unwrap();
            let tx = Rc::new(UdpSocket::from_std(std_tx).unwrap());
            let gro_rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            enable_gro(&gro_rx);
            let plain_rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            for r in [&gro_rx, &plain_rx] {
                r.set_read_timeout(Some(std::time::Duration::from_millis(500))).unwrap();
            }
            let (a, b) = (gro_rx.local_addr().unwrap(), plain_rx.local_addr().unwrap());
            let pkt = |k: u8, len: usize| (0..len).map(|i| k.wrapping_add(i as u8)).collect::<Vec<u8>>();
            {
                let _batch = batch_sends();
                for k in 0..4u8 {
                    udp_send_to(&tx, &pkt(k, 1200), a).unwrap();
                    if k < 3 {
                        udp_send_to(&tx, &pkt(100 + k, 1200), b).unwrap();
                    }
                }
                udp_send_to(&tx, &pkt(4, 500), a).unwrap();
            }
            let mut buf = vec![0u8; 65536];
            let (n, seg) = recv_gro(&gro_rx, &mut buf);
            assert_eq!((n, seg), (4 * 1200 + 500, Some(1200)), "one GSO send, one GRO read");
            let want: Vec<u8> = (0..4u8).flat_map(|k| pkt(k, 1200)).chain(pkt(4, 500)).collect();
            assert_eq!(&buf[..n], &want[..]);
            for k in 0..3u8 {
                let n = plain_rx.recv(&mut buf).unwrap();
                assert_eq!(&buf[..n], &pkt(100 + k, 1200)[..], "a receiver without GRO gets each datagram");
            }

            // drain_udp on a GRO socket hands over the datagrams one by one.
            let std_rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            enable_gro(&std_rx);
            std_rx.set_nonblocking(true).unwrap();
            let rx = UdpSocket::from_std(std_rx).unwrap();
            let to = rx.local_addr().unwrap();
            {
                let _batch = batch_sends();
                for k in 0..5u8 {
                    udp_send_to(&tx, &pkt(k, if k == 4 { 300 } else { 1000 }), to).unwrap();
                }
            }
            let mut got = vec![];
            while got.len() < 5 {
                rx.readable().await.unwrap();
                drain_udp(&rx, |d, from| {
                    assert_eq!(from, tx.local_addr().unwrap());
                    got.push(d.to_vec());
                })
                .unwrap();
            }
            assert_eq!(got, (0..5u8).map(|k| pkt(k, if k == 4 { 300 } else { 1000 })).collect::<Vec<_>>());
        });
    }

    /// Sends inside a batch wait for its end, keep their order per destination, and leave
    /// whatever their sockets (a run per socket).
    #[test]
    fn batched_sends_leave_when_the_batch_ends_in_order_one_sendmmsg_per_socket_run() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap();
        rt.block_on(async {
            let rx: Vec<std::net::UdpSocket> = (0..2).map(|_| std::net::UdpSocket::bind("127.0.0.1:0").unwrap()).collect();
            for r in &rx {
                r.set_read_timeout(Some(std::time::Duration::from_millis(200))).unwrap();
                socket2::SockRef::from(r).set_recv_buffer_size(1 << 20).unwrap();
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
            // More than a batch holds (datagrams, then bytes; lowered limits, this thread's
            // batch only): the overflow flushes early, nothing is lost.
            BATCH.with(|b| {
                let mut b = b.borrow_mut();
                (b.max_datagrams, b.max_bytes) = (40, 20_000);
            });
            for (count, len) in [(50u16, 2), (30, 1000)] {
                {
                    let _b = batch_sends();
                    for k in 0..count {
                        let mut d = vec![0u8; len];
                        d[..2].copy_from_slice(&k.to_be_bytes());
                        udp_send_to(&shared, &d, to(0)).unwrap();
                        if k == 19 && len == 1000 || k == 39 && len == 2 {
                            rx[0].set_nonblocking(true).unwrap();
                            let (n, _) = rx[0].recv_from(&mut buf).expect("a full batch leaves before the batch ends");
                            assert_eq!((n, &buf[..2]), (len, &0u16.to_be_bytes()[..]));
                            rx[0].set_nonblocking(false).unwrap();
                        }
                    }
                }
                for k in 1..count {
                    let (n, _) = rx[0].recv_from(&mut buf).unwrap();
                    assert_eq!((n, &buf[..2]), (len, &k.to_be_bytes()[..]));
                }
            }
            BATCH.with(|b| *b.borrow_mut() = SendBatch::default());
        });
    }

    /// recvmmsg batches: every queued datagram comes out whole, in order, with its sender, the
    /// largest UDP datagram too; what is left after the per-event cap waits for the next.
    #[test]
    fn drain_udp_reads_batches_in_order() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap();
        rt.block_on(async {
            let std_rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            std_rx.set_nonblocking(true).unwrap();
            let _ = socket2::SockRef::from(&std_rx).set_recv_buffer_size(1 << 20);
            let rx = UdpSocket::from_std(std_rx).unwrap();
            let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            let total = RECV_BATCH * RECV_ROUNDS + 5;
            for k in 0..total {
                let len = if k == 3 { 65507 } else { 20 + k };
                tx.send_to(&vec![k as u8; len], rx.local_addr().unwrap()).unwrap();
            }
            let mut got = vec![];
            while got.len() < total {
                rx.readable().await.unwrap();
                drain_udp(&rx, |d, from| {
                    assert_eq!(from, tx.local_addr().unwrap());
                    got.push((d.len(), d[0]));
                })
                .unwrap();
            }
            let want: Vec<(usize, u8)> = (0..total).map(|k| (if k == 3 { 65507 } else { 20 + k }, k as u8)).collect();
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
