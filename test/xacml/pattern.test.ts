/** The ECMAScript-to-XPath pattern translation: exact where it translates, null (fail closed) elsewhere; the real PDP is exercised in standalone.test.ts. */
import { describe, expect, it } from 'vitest';
import { translatePattern } from '../../src/compiler/xacml/pattern.js';

describe('translatePattern', () => {
  it('translates literals, classes, groups, quantifiers and anchors', () => {
    expect(translatePattern('^[A-Z]{2}-\\d{3}$')).toBe('^[A-Z]{2}\\-[0-9]{3}$');
    expect(translatePattern('a+?(?:b|c)*')).toBe('a+(b|c)*');
    expect(translatePattern('(?<year>\\d{4})')).toBe('([0-9]{4})');
    expect(translatePattern('[.$^-]')).toBe('[\\.\\$\\^\\-]');
    expect(translatePattern('\\x41\\u0042\\u{43}\\/')).toBe('ABC/');
    expect(translatePattern('')).toBe('');
  });

  it('writes code points, not UTF-16 units: . and negated classes take a surrogate pair whole', () => {
    const dot = translatePattern('^.$') as string;
    expect(dot).toContain('IsHighSurrogates');
    expect(dot).toContain('\u2028');
    expect(translatePattern('[^a]')).toContain('IsLowSurrogates');
    expect(translatePattern('\\s')).toBe('[\\t-\\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]');
  });

  it('refuses what it cannot translate exactly', () => {
    for (const pattern of ['(?=a)', '(?!a)', '(?<=a)b', '(a)\\1', '\\bword', '\\p{L}', '😀', '[😀]', '[\\ud7ff-\\ue000]', '\\v', '\\f', '\\0', '\\cA', '[\\D]', '[]', '[^]', 'a{', '(', '\\u0001', '[\\s-a]', 'a|', '(|a)', '()']) {
      expect(translatePattern(pattern), pattern).toBeNull();
    }
  });
});
