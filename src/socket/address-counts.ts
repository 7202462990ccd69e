/**
 * tcp.maxConnectionsPerAddress: how many connections each remote address
 * holds (the PROXY-carried one where there is one). A place is claimed at
 * accept, before any read, and released when the connection (or a pending
 * PROXY/TLS socket) goes. Addresses at 0 are forgotten, so the map holds
 * only addresses with a connection.
 */
export class AddressCounts {
  private readonly counts = new Map<string, number>();

  constructor(private readonly perAddress: number) {}

  /** Takes a place for `address`; false when it already holds perAddress. */
  claim(address: string): boolean {
    const n = this.counts.get(address) ?? 0;
    if (n >= this.perAddress) return false;
    this.counts.set(address, n + 1);
    return true;
  }

  release(address: string): void {
    const n = (this.counts.get(address) ?? 1) - 1;
    if (n > 0) this.counts.set(address, n);
    else this.counts.delete(address);
  }
}
