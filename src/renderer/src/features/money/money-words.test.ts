import { describe, expect, it } from 'vitest';
import { mismatchWords, providerErrorWords } from './money-words';

describe('providerErrorWords', () => {
  it('turns the outbox’s recorded errors into sentences', () => {
    expect(providerErrorWords(null)).toBeNull();
    expect(
      providerErrorWords(
        'gave up after 3 attempts: payment provider answered 503 to capture: the sandbox is having a bad moment (injected fault)',
      ),
    ).toBe('The payment provider did not answer properly after 3 tries (it reported a problem on its side (error 503)).');
    expect(providerErrorWords('gave up after 1 attempts: payment provider gave no answer within 1000 ms (capture)')).toBe(
      'The payment provider did not answer properly after 1 try (it did not answer in time).',
    );
    expect(providerErrorWords('gave up after 40 attempts: payment provider unreachable (refund): ECONNREFUSED')).toMatch(
      /could not be reached/,
    );
    expect(providerErrorWords('hold_voided: payment provider answered 409 to capture: hold h_1 is voided')).toBe(
      'The card hold had already been released at the provider, so there was nothing left to charge. The provider refused it.',
    );
    expect(providerErrorWords('hold h_9 is already captured: cannot void')).toBe(
      'The hold had already been charged, so it could not be released.',
    );
    expect(providerErrorWords('no hold to capture')).toBe('No card hold was ever placed for this payment.');
    expect(providerErrorWords('something_odd happened')).toBe('Something odd happened.');
  });

  it('names reconciliation problems', () => {
    expect(mismatchWords('double_capture')).toBe('The provider charged this hold more than once.');
    expect(mismatchWords('brand_new_problem')).toBe('Brand new problem.');
  });
});
