import type net from 'node:net';

// Slowloris guard. Node enforces headersTimeout only for servers that listen themselves; ours
// is fed sockets, so each connection carries its own timer: a request head must be complete
// within headersTimeoutMs of the connection opening or of the previous response finishing
// (http-proxy.ts re-arms it), or the connection is closed.
const headTimers = new WeakMap<net.Socket, NodeJS.Timeout>();

export function armHeadTimer(sock: net.Socket, ms: number): void {
  clearHeadTimer(sock);
  if (sock.destroyed) return;
  const t = setTimeout(() => sock.destroy(), ms);
  headTimers.set(sock, t);
  if (!watched.has(sock)) {
    watched.add(sock);
    sock.once('close', () => clearHeadTimer(sock));
  }
}

const watched = new WeakSet<net.Socket>();

export function clearHeadTimer(sock: net.Socket): void {
  const t = headTimers.get(sock);
  if (t) { clearTimeout(t); headTimers.delete(sock); }
}
