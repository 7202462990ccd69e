/**
 * TLS material for the ingest listener (`tcp.tls`) and the HTTP listener
 * (`http.tls`): the PEM files read and checked, Node server options built
 * from them, and a holder that re-reads them on SIGHUP.
 *
 *   start-up   new ReloadableTlsContext(cfg, 'tcp.tls')   bad file -> StartupError (exit 1), one line
 *   listen     tls.createServer(holder.serverOptions())   requestCert/rejectUnauthorized per clientAuth
 *              holder.attach(server)
 *   SIGHUP     holder.reload()                            ok: server.setSecureContext(new files),
 *                                                         new handshakes use them, open connections keep theirs
 *                                                         bad: the old context stays; the result says why
 *
 * State: the holder owns the current material; only reload() replaces it,
 * and only after the new files parsed, matched and built a secure context.
 * Nothing here touches a connection.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import tls from 'node:tls';
import type { HttpTlsConfig, TcpTlsConfig } from '../config/schema.js';
import { StartupError } from '../errors.js';

/** Where the settings came from, for messages: `tcp.tls` or `http.tls`. */
export type TlsKey = 'tcp.tls' | 'http.tls';

export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | undefined;
  /** For the log line at start and reload. */
  readonly subject: string;
  readonly fingerprint256: string;
  readonly validTo: string;
}

/** Default TLS handshake bound: a slow or silent client costs one pending socket this long. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

type AnyTlsConfig = TcpTlsConfig | HttpTlsConfig;

/** A problem with one file, as one line: key, path, what is wrong, the fix. */
class TlsFileError extends Error {}

function readPem(key: string, file: string, what: string): Buffer {
  const path = resolve(file);
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'not found' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code ?? String(err)})`;
    throw new TlsFileError(`${key}: ${path} ${why}; fix: point ${key} at a readable PEM ${what}`);
  }
}

function parseCert(key: string, file: string, pem: Buffer, what: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    throw new TlsFileError(`${key}: ${resolve(file)} is not a PEM ${what}; fix: give the PEM file (-----BEGIN CERTIFICATE-----)`);
  }
}

/** Reads and checks the files of `cfg`; throws TlsFileError (a plain Error) naming the key. */
function readMaterial(cfg: AnyTlsConfig, prefix: TlsKey): TlsMaterial {
  const cert = readPem(`${prefix}.certFile`, cfg.certFile, 'certificate');
  const key = readPem(`${prefix}.keyFile`, cfg.keyFile, 'private key');
  const caFile = 'caFile' in cfg ? cfg.caFile : undefined;
  const ca = caFile === undefined ? undefined : readPem(`${prefix}.caFile`, caFile, 'CA certificate');
  const x509 = parseCert(`${prefix}.certFile`, cfg.certFile, cert, 'certificate');
  if (ca !== undefined && caFile !== undefined) parseCert(`${prefix}.caFile`, caFile, ca, 'CA certificate');
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new TlsFileError(
      `${prefix}.keyFile: ${resolve(cfg.keyFile)} is not an unencrypted PEM private key; fix: give the key without a passphrase (-----BEGIN PRIVATE KEY-----)`,
    );
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new TlsFileError(
      `${prefix}.keyFile: ${resolve(cfg.keyFile)} does not match the certificate in ${resolve(cfg.certFile)}; fix: give the key the certificate was issued for`,
    );
  }
  try {
    // The same call the server makes: anything it would refuse, refuse now.
    tls.createSecureContext({ cert, key, ca });
  } catch (err) {
    throw new TlsFileError(`${prefix}: the files cannot be used together (${(err as Error).message}); fix: check ${prefix}.certFile, keyFile and caFile`);
  }
  return { cert, key, ca, subject: x509.subject.replace(/\n/g, ','), fingerprint256: x509.fingerprint256, validTo: x509.validTo };
}

/** Server options for `tls.createServer` from `tcp.tls` (or `http.tls`, which has no client authentication). */
export function tlsServerOptions(cfg: AnyTlsConfig, material: TlsMaterial, handshakeTimeoutMs = DEFAULT_HANDSHAKE_TIMEOUT_MS): tls.TlsOptions {
  const clientAuth = 'clientAuth' in cfg ? cfg.clientAuth : 'none';
  return {
    cert: material.cert,
    key: material.key,
    ca: material.ca,
    minVersion: 'minVersion' in cfg ? cfg.minVersion : 'TLSv1.2',
    // request: ask for a certificate, let the handshake finish without a valid one (`authorized` says which);
    // require: refuse the handshake without one the CA verifies (expired, wrong CA, none).
    requestCert: clientAuth !== 'none',
    rejectUnauthorized: clientAuth === 'require',
    handshakeTimeout: handshakeTimeoutMs,
  };
}

export type TlsReloadResult =
  | { ok: true; subject: string; fingerprint256: string; validTo: string; changed: boolean }
  | { ok: false; error: string };

/** The current TLS material of one listener, re-read on SIGHUP. */
export class ReloadableTlsContext {
  readonly key: TlsKey;
  private readonly cfg: AnyTlsConfig;
  private current: TlsMaterial;
  private server: tls.Server | null = null;

  /** Reads the files now; a bad one is a StartupError (exit 1) naming the key, path and fix. */
  constructor(cfg: AnyTlsConfig, key: TlsKey) {
    this.cfg = cfg;
    this.key = key;
    try {
      this.current = readMaterial(cfg, key);
    } catch (err) {
      throw err instanceof TlsFileError ? new StartupError(err.message) : err;
    }
  }

  get material(): TlsMaterial {
    return this.current;
  }

  serverOptions(handshakeTimeoutMs?: number): tls.TlsOptions {
    return tlsServerOptions(this.cfg, this.current, handshakeTimeoutMs);
  }

  /** The server whose context reload() replaces (tls.Server, or https.Server, which is one). */
  attach(server: tls.Server): void {
    this.server = server;
  }

  /**
   * Re-reads the files. On success new handshakes use them (open connections
   * keep theirs); on failure nothing changes and the result says why, in the
   * same one-line form as at start-up, for the caller to log.
   */
  reload(): TlsReloadResult {
    let next: TlsMaterial;
    try {
      next = readMaterial(this.cfg, this.key);
    } catch (err) {
      return { ok: false, error: `${(err as Error).message}; the previous certificate stays in use` };
    }
    const changed = !next.cert.equals(this.current.cert) || !next.key.equals(this.current.key) || !sameBuffer(next.ca, this.current.ca);
    if (changed) {
      const { cert, key, ca } = next;
      this.server?.setSecureContext({ cert, key, ca });
      this.current = next;
    }
    return { ok: true, subject: next.subject, fingerprint256: next.fingerprint256, validTo: next.validTo, changed };
  }
}

function sameBuffer(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.equals(b);
}
