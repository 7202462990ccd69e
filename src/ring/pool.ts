/**
 * Rings are taken from and returned to a pool, so a busy server allocates
 * no ring for a new connection, and an idle connection holds none.
 * The pool keeps at most `maxFree` spare rings: beyond that, returned rings
 * are dropped for the GC, so a burst does not pin memory forever.
 */
import { Ring } from './ring.js';

export class RingPool {
  readonly ringBytes: number;
  readonly maxFree: number;
  private readonly free: Ring[] = [];
  /** Rings currently lent out. */
  inUse = 0;

  constructor(ringBytes: number, maxFree = 256) {
    this.ringBytes = ringBytes;
    this.maxFree = maxFree;
  }

  acquire(): Ring {
    this.inUse++;
    // allocUnsafeSlow: a ring is long-lived and large, not worth the shared slab.
    return this.free.pop() ?? new Ring(Buffer.allocUnsafeSlow(this.ringBytes));
  }

  release(ring: Ring): void {
    this.inUse--;
    ring.reset();
    if (this.free.length < this.maxFree) this.free.push(ring);
  }

  get freeCount(): number {
    return this.free.length;
  }
}
