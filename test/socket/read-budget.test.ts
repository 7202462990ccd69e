import { describe, expect, it } from 'vitest';
import { ReadBudget } from '../../src/socket/read-budget.js';

describe('ReadBudget', () => {
  it('is spent once a turn read more than its budget, and resumes the yielded on the next turn', async () => {
    const budget = new ReadBudget(1000);
    expect(budget.spend(600)).toBe(false);
    expect(budget.spend(600)).toBe(true);
    let resumed = 0;
    budget.yieldTurn({ resumeAfterYield: () => resumed++ });
    expect(resumed).toBe(0);
    await new Promise((r) => setImmediate(r));
    expect(resumed).toBe(1);
    // A new turn starts with a full budget.
    expect(budget.spend(900)).toBe(false);
  });

  it('keeps separate accounts per instance', () => {
    const a = new ReadBudget(1000);
    const b = new ReadBudget(1000);
    expect(a.spend(1001)).toBe(true);
    expect(b.spend(500)).toBe(false);
  });
});
