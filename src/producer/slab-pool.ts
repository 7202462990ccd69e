/**
 * Reusable write slabs.
 *
 * Frames are encoded back to back into a slab, and each flushed region of it
 * is a view that the socket holds until that write's callback runs. A slab is
 * reused only when no region of it is still held (refs === 0): overwriting it
 * earlier would change bytes the kernel has not copied yet, the
 * pg-protocol #3776 class of bug.
 *
 *   slab: [ written, released | in flight (refs) | open region | free ]
 *                                                ^start        ^end
 */
export class Slab {
  readonly buf: Buffer;
  /** Regions handed to a write (or queued for one) and not yet released. */
  refs = 0;
  /** Set once the producer stopped appending here: recycle when refs drops to 0. */
  retired = false;

  constructor(bytes: number) {
    // Slabs are long-lived and large: an own ArrayBuffer, not Node's shared pool.
    this.buf = Buffer.allocUnsafeSlow(bytes);
  }
}

export class SlabPool {
  private readonly free: Slab[] = [];

  /** `maxFree` bounds the memory kept idle between bursts. */
  constructor(
    readonly slabBytes: number,
    private readonly maxFree: number,
  ) {}

  acquire(): Slab {
    const slab = this.free.pop() ?? new Slab(this.slabBytes);
    slab.retired = false;
    return slab;
  }

  /** The producer moved past `slab`; it returns to the pool after its last region is released. */
  retire(slab: Slab): void {
    slab.retired = true;
    if (slab.refs === 0) this.recycle(slab);
  }

  /** One region of `slab` was written (or dropped): the socket no longer holds it. */
  release(slab: Slab): void {
    slab.refs--;
    if (slab.refs === 0 && slab.retired) this.recycle(slab);
  }

  private recycle(slab: Slab): void {
    if (this.free.length < this.maxFree) this.free.push(slab);
  }
}
