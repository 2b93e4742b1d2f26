import { describe, expect, it } from 'vitest';
import { HOP_BY_HOP_HEADERS, stripHopByHop } from '../../adapters/http/hop-by-hop.ts';

describe('stripHopByHop (RFC 9110 §7.6.1)', () => {
  it('drops every fixed hop-by-hop header, whatever its case', () => {
    const input: Record<string, string> = { 'X-Keep': 'yes' };
    for (const name of HOP_BY_HOP_HEADERS) input[name.toUpperCase()] = 'v';
    expect(stripHopByHop(input)).toEqual({ 'x-keep': 'yes' });
  });

  it('drops the headers that Connection names, in any case and spacing', () => {
    const out = stripHopByHop({
      Connection: 'close, X-Hop-One ,x-hop-two',
      'x-hop-one': '1',
      'X-Hop-Two': '2',
      'x-end-to-end': '3',
    });
    expect(out).toEqual({ 'x-end-to-end': '3' });
  });

  it('reads Connection given as several values', () => {
    const out = stripHopByHop({ connection: ['x-a', 'x-b, keep-alive'], 'x-a': '1', 'x-b': '2', 'x-c': '3' });
    expect(out).toEqual({ 'x-c': '3' });
  });

  it('keeps end-to-end headers, copies arrays, skips undefined, and leaves its input alone', () => {
    const cookies = ['a=1', 'b=2'];
    const input = { traceparent: '00-x', 'set-cookie': cookies, 'x-none': undefined, TE: 'trailers' };
    const out = stripHopByHop(input);
    expect(out).toEqual({ traceparent: '00-x', 'set-cookie': ['a=1', 'b=2'] });
    expect(out['set-cookie']).not.toBe(cookies);
    expect(input.TE).toBe('trailers');
  });

  it('an empty Connection value names nothing', () => {
    expect(stripHopByHop({ connection: ' , ', 'x-a': '1' })).toEqual({ 'x-a': '1' });
  });
});
