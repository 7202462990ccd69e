/**
 * What a handler learns about a TLS connection (OPERATIONS.md, TLS on the
 * ingest port): `connection.tls` is `{ protocol, authorized, peer }`, `peer`
 * null or `{ subject: 'CN=...,O=...', subjectAltNames, fingerprint256 }`.
 * Built once per connection when the handshake completes, then frozen; the
 * same object goes into the connection's log bindings.
 */
import type { PeerCertificate, TLSSocket } from 'node:tls';

export interface TlsPeer {
  /** RFC 4514-style, in certificate order: `CN=producer-1,O=Example`. */
  readonly subject: string;
  /** As OpenSSL prints them: `DNS:a.example`, `IP Address:10.0.0.1`, `URI:spiffe://...`. */
  readonly subjectAltNames: readonly string[];
  /** SHA-256 of the DER certificate, `AB:CD:...`. */
  readonly fingerprint256: string;
}

export interface TlsIdentity {
  /** `TLSv1.3`, `TLSv1.2`. */
  readonly protocol: string | null;
  /** The client certificate was verified against tcp.tls.caFile. */
  readonly authorized: boolean;
  /** The client certificate, verified or not (see `authorized`); null when none was sent. */
  readonly peer: TlsPeer | null;
  /** Why the certificate was not verified (`CERT_HAS_EXPIRED`, ...), when one was sent and not verified. */
  readonly authorizationError?: string;
}

/**
 * Why a handshake failed, for the rate-limited log line of a
 * `tls_handshake` rejection. When the server refuses a client certificate
 * (clientAuth require) Node reports only "socket hang up"; the verification
 * result it refused is on the socket. The caller must destroy the socket:
 * after a handshake timeout Node leaves it open.
 */
export function handshakeFailure(error: Error & { code?: string }, socket: TLSSocket): string {
  const verify = socket.authorizationError;
  if (verify !== undefined && verify !== null) return String(verify);
  return error.code ?? error.message;
}

export function tlsIdentity(socket: TLSSocket): TlsIdentity {
  const cert = socket.getPeerCertificate();
  // An empty object means no certificate (Node's convention).
  const peer = cert !== null && cert !== undefined && Object.keys(cert).length > 0 ? peerOf(cert) : null;
  const identity: TlsIdentity = {
    protocol: socket.getProtocol(),
    authorized: socket.authorized,
    peer,
    ...(peer !== null && !socket.authorized && socket.authorizationError !== undefined
      ? { authorizationError: String(socket.authorizationError) }
      : {}),
  };
  return Object.freeze(identity);
}

function peerOf(cert: PeerCertificate): TlsPeer {
  return Object.freeze({
    subject: distinguishedName(cert.subject as unknown as Record<string, string | string[]> | undefined),
    subjectAltNames: Object.freeze(cert.subjectaltname ? cert.subjectaltname.split(', ') : []),
    fingerprint256: cert.fingerprint256,
  });
}

/** `{ CN: 'a', O: ['b', 'c'] }` -> `CN=a,O=b,O=c`, values escaped as RFC 4514 says. */
export function distinguishedName(subject: Record<string, string | string[]> | undefined): string {
  if (subject === undefined) return '';
  const parts: string[] = [];
  for (const [type, value] of Object.entries(subject)) {
    for (const v of Array.isArray(value) ? value : [value]) parts.push(`${type}=${escapeValue(v)}`);
  }
  return parts.join(',');
}

function escapeValue(v: string): string {
  return v
    .replace(/[\\,+"<>;=]/g, '\\$&')
    .replace(/^[ #]/, '\\$&')
    .replace(/ $/, '\\ ');
}
