import { describe, expect, it } from 'vitest';
import { mergeCsv, parseCsv } from './csv.js';

describe('CSV', () => {
  it('parses quoted fields with commas, quotes and line ends', () => {
    expect(parseCsv('"a","b"\n"x, ""y""","2"\r\n')).toEqual([['a', 'b'], ['x, "y"', '2']]);
  });

  it('merges tables into one header, each row under its own columns', () => {
    const grouped = '"timestamp","metric","host","value"\n"t1","cpu","a","1"\n';
    const plain = '"timestamp","metric","value"\n"t1","mem","5"\n';
    expect(mergeCsv([grouped, plain])).toBe(
      '"timestamp","metric","host","value"\n"t1","cpu","a","1"\n"t1","mem","","5"\n');
  });
});
