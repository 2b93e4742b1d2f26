import { describe, expect, it } from 'vitest';
import { pageArrays } from '../../../gateway/routes/mcp/page-arrays.ts';

describe('pageArrays', () => {
  const data = {
    business: { id: 'shop', name: 'Shop' },
    catalogue: { items: Array.from({ length: 120 }, (_, i) => ({ sku: `s${i}` })), currency: 'EUR' },
    operations: ['buy', 'refund'],
  };

  it('cuts every long array to the page and says where, keeping everything else', () => {
    const first = pageArrays(data, 0, 50);
    expect(first.data).toEqual({
      business: { id: 'shop', name: 'Shop' },
      catalogue: { items: data.catalogue.items.slice(0, 50), currency: 'EUR' },
      operations: ['buy', 'refund'],
    });
    expect(first.page).toEqual({ offset: 0, limit: 50, nextOffset: 50, truncated: ['$.catalogue.items'] });
  });

  it('the last page has no next offset; arrays shorter than the offset come back empty', () => {
    const last = pageArrays(data, 100, 50);
    expect((last.data as typeof data).catalogue.items.map((i) => i.sku)).toEqual(
      Array.from({ length: 20 }, (_, i) => `s${100 + i}`),
    );
    expect((last.data as typeof data).operations).toEqual([]);
    expect(last.page.nextOffset).toBeNull();
  });

  it('leaves scalars and null alone', () => {
    expect(pageArrays('text', 0, 10)).toEqual({
      data: 'text',
      page: { offset: 0, limit: 10, nextOffset: null, truncated: [] },
    });
    expect(pageArrays(null, 0, 10).data).toBeNull();
  });
});
