import { describe, expect, it } from 'vitest';
import { ReadBudget } from '../../src/socket/read-budget.js';

describe('ReadBudget', () => {
  it('is spent once a turn read more than its budget, and resumes the yielded on the next turn', async () => {
    const budget = new ReadBudget(1000);
    const resumed: string[] = [];
    const a = { resumeAfterYield: () => resumed.push('a') };
    const b = { resumeAfterYield: () => resumed.push('b') };
    expect(budget.spend(600, a)).toBe(false);
    expect(budget.spend(600, b)).toBe(true);
    expect(resumed).toEqual([]);
    await new Promise((r) => setImmediate(r));
    // Only the connection that went over the budget was stopped, so only it is resumed.
    expect(resumed).toEqual(['b']);
    // A new turn starts with a full budget.
    expect(budget.spend(900, a)).toBe(false);
  });

  it('keeps separate accounts per instance', () => {
    const a = new ReadBudget(1000);
    const b = new ReadBudget(1000);
    const conn = { resumeAfterYield: () => {} };
    expect(a.spend(1001, conn)).toBe(true);
    expect(b.spend(500, conn)).toBe(false);
  });
});
