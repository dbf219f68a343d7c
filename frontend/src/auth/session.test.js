import { describe, expect, it } from 'vitest';
import { setupCode } from './session.js';

describe('setupCode', () => {
  it('reads the code make up prints in the address', () => {
    expect(setupCode('#setup=abc.def-_')).toBe('abc.def-_');
    expect(setupCode('#x=1&setup=a%2Eb')).toBe('a.b');
  });
  it('is empty without one', () => {
    expect(setupCode('')).toBe('');
    expect(setupCode('#nosetup=1')).toBe('');
  });
});
