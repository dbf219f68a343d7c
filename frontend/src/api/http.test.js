import { describe, expect, it } from 'vitest';
import { retryDelay } from './http.js';

describe('retryDelay', () => {
  it("waits what the server's Retry-After asks, at most 10 s", () => {
    expect(retryDelay('2', 0)).toBe(2000);
    expect(retryDelay('0', 3)).toBe(0);
    expect(retryDelay('120', 0)).toBe(10_000);
  });

  it('backs off 0.5 s, 1 s, 2 s with ±25 % jitter when the server names no wait', () => {
    expect([0, 1, 2].map((a) => retryDelay(null, a, () => 0.5))).toEqual([500, 1000, 2000]);
    expect(retryDelay(null, 0, () => 0)).toBe(375);
    expect(retryDelay('soon', 1, () => 1)).toBe(1250);
    expect(retryDelay(null, 9, () => 0.5)).toBe(10_000);
  });
});
