/** The alias swap of `nova reindex`: one `_aliases` request, old indices out, the new one in. */
import { describe, expect, it } from 'vitest';
import { swapActions } from '../../../src/bootstrap/elastic/reindex.js';

const add = { add: { index: 'nova_tickets-v3', alias: 'nova_tickets', is_write_index: true } };

describe('swapActions', () => {
  it('moves the alias from the one index behind it to the new one', () => {
    expect(
      swapActions('nova_tickets', 'nova_tickets-v3', {
        indices: ['nova_tickets-v2'],
        legacy: false,
      }),
    ).toEqual([{ remove: { index: 'nova_tickets-v2', alias: 'nova_tickets' } }, add]);
  });

  it('takes the alias off every index behind it (a half-finished earlier swap)', () => {
    expect(
      swapActions('nova_tickets', 'nova_tickets-v3', {
        indices: ['nova_tickets-v1', 'nova_tickets-v2'],
        legacy: false,
      }),
    ).toEqual([
      { remove: { index: 'nova_tickets-v1', alias: 'nova_tickets' } },
      { remove: { index: 'nova_tickets-v2', alias: 'nova_tickets' } },
      add,
    ]);
  });

  it('removes a legacy concrete index carrying the alias name in the same request', () => {
    expect(
      swapActions('nova_tickets', 'nova_tickets-v3', {
        indices: ['nova_tickets'],
        legacy: true,
      }),
    ).toEqual([{ remove_index: { index: 'nova_tickets' } }, add]);
  });

  it('only adds when nothing is behind the alias yet', () => {
    const actions = swapActions('nova_kb', 'nova_kb-v1', { indices: [], legacy: false });
    expect(actions).toEqual([
      { add: { index: 'nova_kb-v1', alias: 'nova_kb', is_write_index: true } },
    ]);
  });
});
