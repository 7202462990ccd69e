/**
 * Certificates made at test time with /usr/bin/openssl (execFile, into a
 * temp dir removed on exit): never committed. EC P-256 keys, so a whole set
 * takes well under a second.
 *
 *   test CA ──┬── server      CN=localhost, SAN IP:127.0.0.1 DNS:localhost IP:::1
 *             ├── server2     the same names, another key: a rotated server certificate
 *             ├── client      CN=producer-1,O=pkt-ingest tests, SAN DNS:producer-1.test
 *             └── expired     same subject, valid 2020-01-01..2020-01-02 (openssl ca -startdate/-enddate,
 *                             since `x509 -days` cannot go negative and OpenSSL 3.0 lacks -not_after)
 *   other CA ──── stranger    a client certificate the test CA never signed
 *
 * openssl is an external binary: `opensslStatus()` says whether it runs; a
 * test file skips when it does not, except under CI where that fails.
 */
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect } from 'vitest';

const run = promisify(execFile);
const OPENSSL = fs.existsSync('/usr/bin/openssl') ? '/usr/bin/openssl' : 'openssl';

/** Whether openssl runs here, and whether its absence must fail (CI). */
export function opensslStatus(): { available: boolean; required: boolean } {
  return { available: spawnSync(OPENSSL, ['version']).status === 0, required: Boolean(process.env.CI) };
}

export interface CertPair {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

export interface TestCerts {
  dir: string;
  caFile: string;
  ca: string;
  otherCaFile: string;
  server: CertPair;
  /** Another server certificate for the same names (rotation). */
  server2: CertPair;
  client: CertPair;
  expiredClient: CertPair;
  /** Signed by the other CA. */
  strangerClient: CertPair;
  /** Removes the directory (also done at process exit). */
  remove(): void;
}

const EXTENSIONS = `
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost, IP:::1
[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:producer-1.test
`;

const caConfig = (dir: string) => `
[ca]
default_ca = test_ca
[test_ca]
database = ${dir}/index.txt
new_certs_dir = ${dir}
serial = ${dir}/serial
default_md = sha256
policy = any_subject
unique_subject = no
x509_extensions = client_ext
[any_subject]
commonName = supplied
organizationName = optional
${EXTENSIONS}`;

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run(OPENSSL, args, { cwd });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`openssl ${args[0]} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

async function makeCa(dir: string, name: string, subject: string): Promise<void> {
  await openssl(['req', '-x509', ...EC, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', subject,
    '-config', 'ext.cnf', '-extensions', 'ca_ext'], dir);
}

async function makeCsr(dir: string, name: string, subject: string): Promise<void> {
  await openssl(['req', '-new', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject, '-config', 'ext.cnf'], dir);
}

async function sign(dir: string, name: string, ca: string, extensions: string): Promise<void> {
  const serial = `0x${Math.floor(Math.random() * 2 ** 48).toString(16)}`;
  await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-set_serial', serial,
    '-days', '2', '-extfile', 'ext.cnf', '-extensions', extensions, '-out', `${name}.pem`], dir);
}

function pair(dir: string, name: string): CertPair {
  const certFile = path.join(dir, `${name}.pem`);
  const keyFile = path.join(dir, `${name}.key`);
  return { certFile, keyFile, cert: fs.readFileSync(certFile, 'utf8'), key: fs.readFileSync(keyFile, 'utf8') };
}

/** A fresh set of certificates in a new temp dir. */
export async function makeTestCerts(): Promise<TestCerts> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkt-ingest-certs-'));
  const remove = (): void => fs.rmSync(dir, { recursive: true, force: true });
  process.once('exit', remove);
  // req needs a config with a [req] section; the same file carries the extensions.
  fs.writeFileSync(path.join(dir, 'ext.cnf'), `[req]\ndistinguished_name = dn\n[dn]\n${EXTENSIONS}`);
  fs.writeFileSync(path.join(dir, 'ca.cnf'), caConfig(dir));
  fs.writeFileSync(path.join(dir, 'index.txt'), '');
  fs.writeFileSync(path.join(dir, 'serial'), '1000\n');
  const clientSubject = '/CN=producer-1/O=pkt-ingest tests';
  await Promise.all([
    makeCa(dir, 'ca', '/CN=pkt-ingest test CA/O=pkt-ingest tests'),
    makeCa(dir, 'other-ca', '/CN=some other CA'),
    makeCsr(dir, 'server', '/CN=localhost'),
    makeCsr(dir, 'server2', '/CN=localhost'),
    makeCsr(dir, 'client', clientSubject),
    makeCsr(dir, 'expired', clientSubject),
    makeCsr(dir, 'stranger', clientSubject),
  ]);
  await Promise.all([
    sign(dir, 'server', 'ca', 'server_ext'),
    sign(dir, 'server2', 'ca', 'server_ext'),
    sign(dir, 'client', 'ca', 'client_ext'),
    sign(dir, 'stranger', 'other-ca', 'client_ext'),
    openssl(['ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.pem', '-keyfile', 'ca.key', '-in', 'expired.csr', '-out', 'expired.pem',
      '-startdate', '20200101000000Z', '-enddate', '20200102000000Z', '-notext'], dir),
  ]);
  return {
    dir,
    caFile: path.join(dir, 'ca.pem'),
    ca: fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8'),
    otherCaFile: path.join(dir, 'other-ca.pem'),
    server: pair(dir, 'server'),
    server2: pair(dir, 'server2'),
    client: pair(dir, 'client'),
    expiredClient: pair(dir, 'expired'),
    strangerClient: pair(dir, 'stranger'),
    remove,
  };
}

/**
 * Inside a describe: test certificates made once before its tests (a
 * missing openssl fails there: the describe is skipped outside CI when it is
 * missing) and removed after them. Returns the certificates' getter.
 */
export function useTestCerts(): () => TestCerts {
  let certs: TestCerts | null = null;
  beforeAll(async () => {
    expect(opensslStatus().available, 'openssl not found (apt-get install openssl)').toBe(true);
    certs = await makeTestCerts();
  }, 30_000);
  afterAll(() => certs?.remove());
  return () => {
    if (certs === null) throw new Error('useTestCerts: the certificates are made in beforeAll; read them inside a test');
    return certs;
  };
}
