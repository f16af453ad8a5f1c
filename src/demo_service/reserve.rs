//! Loopback ports the demo names in its plan, held from the moment they are
//! picked until the demo ends, so that its instances find them free.
//!
//! A port picked by binding to port 0 and letting go is anyone's again at
//! once: another demo's pick, or the source port of any outgoing
//! connection. The demo's canary binds its port only when prod's canary
//! step starts, seconds later, and under a busy test suite it once found it
//! taken ("Address already in use") and the good demo rolled back.
//!
//! Held here means bound, never listening, with `SO_REUSEADDR`: the kernel
//! gives a port with such a socket on it neither to a bind to port 0 nor to
//! an outgoing connection, while a listener that asks for it by number with
//! `SO_REUSEADDR` itself (as std's and tokio's do) still binds it, and gets
//! every connection (a socket that does not listen accepts none).

use std::os::fd::OwnedFd;

use nix::sys::socket::{
    AddressFamily, SockFlag, SockType, SockaddrIn, bind, getsockname, setsockopt, socket, sockopt,
};

/// One loopback port, held while this lives.
#[derive(Debug)]
pub struct Reserved {
    pub port: u16,
    _socket: OwnedFd,
}

/// `n` distinct free loopback ports, each held until its [`Reserved`] is
/// dropped. Close-on-exec: no stage command inherits them.
pub fn loopback_ports(n: usize) -> std::io::Result<Vec<Reserved>> {
    (0..n).map(|_| loopback_port()).collect()
}

fn loopback_port() -> std::io::Result<Reserved> {
    let socket = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    setsockopt(&socket, sockopt::ReuseAddr, &true)?;
    bind(
        std::os::fd::AsRawFd::as_raw_fd(&socket),
        &SockaddrIn::new(127, 0, 0, 1, 0),
    )?;
    let port = getsockname::<SockaddrIn>(std::os::fd::AsRawFd::as_raw_fd(&socket))?.port();
    Ok(Reserved {
        port,
        _socket: socket,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the demo relies on: while held, a port is given to no bind to
    /// port 0 and no outgoing connection (tried far more often than a busy
    /// suite does between a demo's pick and its canary's start; the kernel
    /// picks at random, so a port let go would be hit several times), and a
    /// listener asking for it by number gets it and its connections.
    #[test]
    fn a_held_port_goes_to_its_listener_and_to_nobody_else() {
        let held = loopback_ports(5).unwrap();
        let ports: Vec<u16> = held.iter().map(|r| r.port).collect();
        let mut distinct = ports.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), ports.len(), "{ports:?}");
        for _ in 0..20_000 {
            let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let port = other.local_addr().unwrap().port();
            assert!(!ports.contains(&port), "port {port} of {ports:?} given out");
        }
        let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let to = server.local_addr().unwrap();
        for _ in 0..2_000 {
            let client = std::net::TcpStream::connect(to).unwrap();
            let port = client.local_addr().unwrap().port();
            assert!(!ports.contains(&port), "port {port} of {ports:?} given out");
            drop(server.accept().unwrap());
        }
        let listener = std::net::TcpListener::bind(("127.0.0.1", ports[3])).unwrap();
        let client = std::net::TcpStream::connect(("127.0.0.1", ports[3])).unwrap();
        let (_, from) = listener.accept().unwrap();
        assert_eq!(from, client.local_addr().unwrap());
    }
}
