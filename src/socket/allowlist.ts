/**
 * `tcp.allow`: which producer addresses may connect. The CIDR blocks are
 * compiled once into Node's `net.BlockList` (a native prefix matcher; no
 * hand-written bit arithmetic to get wrong), and `allows(address)` is one
 * family test plus one native lookup per accepted connection.
 *
 * Why BlockList and not a library: it ships with Node, handles both families,
 * and matches an IPv4-mapped IPv6 address (`::ffff:10.1.2.3`, what a
 * dual-stack listener reports for IPv4 peers) against IPv4 blocks. Its only
 * per-check allocation is the parsed address (a SocketAddress), made once
 * per connection, never per packet. The mapping works both ways: an IPv6
 * block that contains ::ffff:0:0/96 (`::/0` does) also admits IPv4 peers.
 *
 * State: an Allowlist is immutable. SIGHUP builds a new one and swaps the
 * reference; a connection is checked once, at accept (or once its PROXY
 * header is parsed), against whichever list is current then.
 */
import net from 'node:net';

export interface CidrBlock {
  /** The network address as written (validated). */
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

/**
 * Parses `a.b.c.d/n` (n 0..32), `x:x::/n` (n 0..128), or a bare address (a
 * single host: /32 or /128). Returns null for anything else; the caller names
 * the key. Leading zeros in the prefix are refused so `/08` is not read as 8
 * by accident of a typo.
 */
export function parseCidr(text: string): CidrBlock | null {
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const kind = net.isIP(address);
  if (kind === 0 || address.includes('%')) return null;
  const family = kind === 4 ? 'ipv4' : 'ipv6';
  const max = kind === 4 ? 32 : 128;
  if (slash === -1) return { address, prefix: max, family };
  const prefixText = text.slice(slash + 1);
  if (!/^(0|[1-9]\d{0,2})$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  return prefix <= max ? { address, prefix, family } : null;
}

/** One line saying what a tcp.allow entry must look like. */
export const CIDR_HELP = 'an IPv4 block a.b.c.d/0..32 or an IPv6 block x:x::/0..128 (e.g. "10.0.0.0/8", "2001:db8::/32"), or a single address';

export class Allowlist {
  /** Blocks as given, for the log line that says what a reload applied. */
  readonly blocks: readonly CidrBlock[];
  private readonly list = new net.BlockList();

  /** Throws a TypeError naming the entry; config validation has normally caught it already. */
  constructor(entries: readonly string[]) {
    const blocks: CidrBlock[] = [];
    for (const entry of entries) {
      const block = parseCidr(entry);
      if (block === null) throw new TypeError(`${JSON.stringify(entry)} is not ${CIDR_HELP}`);
      this.list.addSubnet(block.address, block.prefix, block.family);
      blocks.push(block);
    }
    this.blocks = Object.freeze(blocks);
  }

  /** An empty list allows everyone (OPERATIONS.md, `tcp.allow`). */
  get allowsEveryone(): boolean {
    return this.blocks.length === 0;
  }

  /**
   * Whether `address` (as Node reports `socket.remoteAddress`, or as a PROXY
   * header carries it) may connect. An unparsable or missing address is
   * refused: a socket that lost its peer before we looked has nothing to allow.
   */
  allows(address: string | undefined): boolean {
    if (this.blocks.length === 0) return true;
    if (address === undefined) return false;
    const kind = net.isIP(address);
    if (kind === 0) return false;
    return this.list.check(address, kind === 4 ? 'ipv4' : 'ipv6');
  }
}
