import { describe, expect, it } from 'vitest';
import type { CustomerDoc } from '../../../shared/sync-protocol.js';
import { searchCustomers } from './customer-index';

const customer = (id: string, over: Partial<CustomerDoc>): CustomerDoc => ({
  id,
  updatedAt: 1,
  email: `${id}@example.test`,
  name: id,
  phone: '+49 30 000',
  status: 'active',
  blockedReason: null,
  blockedAt: null,
  licenceStatus: 'none',
  licenceNumber: null,
  licenceCountry: null,
  licenceExpiresOn: null,
  createdAt: 1,
  ...over,
});

const docs = [
  customer('c1', { name: 'Greta Lindqvist', email: 'greta@example.test', phone: '+49 30 5550 1234', licenceNumber: 'B072RRE2I55' }),
  customer('c2', { name: 'Jürgen Groß', email: 'jg@mail.test', phone: '0172 999 8888' }),
  customer('c3', { name: 'Ana Greta', email: 'ana@example.test', phone: '+34 600 100 200' }),
];

describe('searchCustomers (the Customers tab, offline too)', () => {
  it('finds by name, e-mail, licence number and phone digits, every word must match', () => {
    expect(searchCustomers(docs, 'lindq').map((d) => d.id)).toEqual(['c1']);
    expect(
      searchCustomers(docs, 'greta')
        .map((d) => d.id)
        .sort(),
    ).toEqual(['c1', 'c3']);
    expect(searchCustomers(docs, 'greta example ana').map((d) => d.id)).toEqual(['c3']);
    expect(searchCustomers(docs, 'jg@mail').map((d) => d.id)).toEqual(['c2']);
    expect(searchCustomers(docs, 'b072rre').map((d) => d.id)).toEqual(['c1']);
    expect(searchCustomers(docs, '5550 1234').map((d) => d.id)).toEqual(['c1']);
    expect(searchCustomers(docs, '+49305550').map((d) => d.id)).toEqual(['c1']);
    expect(searchCustomers(docs, '9998888').map((d) => d.id)).toEqual(['c2']);
    expect(searchCustomers(docs, 'gross jurgen').map((d) => d.id)).toEqual([]); // ß is not ss; ü folds to u
    expect(searchCustomers(docs, 'groß jurgen').map((d) => d.id)).toEqual(['c2']);
    expect(searchCustomers(docs, '   ')).toEqual([]);
    expect(searchCustomers(docs, 'nobody')).toEqual([]);
  });
  it('ranks a match at the start of a word first and caps the list', () => {
    expect(searchCustomers(docs, 'greta').map((d) => d.id)).toEqual(['c1', 'c3']); // the name starts with it, then a later word
    expect(searchCustomers(docs, 'example', 1)).toHaveLength(1);
  });
});
