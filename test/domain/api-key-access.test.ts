import { keyRefusal, parseDuration } from '../../domain/api-key-access';

describe('what an API key may do', () => {
  const at = Date.parse('2026-12-02T12:00:00.000Z');
  const key = { keyId: 'k1', scopes: ['requests'] };
  it.each<[string, Parameters<typeof keyRefusal>[0], Parameters<typeof keyRefusal>[1], string | undefined]>([
    ['a key in scope, without expiry', key, 'requests', undefined],
    ['a key before its expiry', { ...key, expiresAt: '2026-12-02T12:00:00.001Z' }, 'requests', undefined],
    [
      'a key at its expiry',
      { ...key, expiresAt: '2026-12-02T12:00:00.000Z' },
      'requests',
      'key k1 expired at 2026-12-02T12:00:00.000Z',
    ],
    [
      'a revoked key, whatever its expiry',
      { ...key, revokedAt: '2026-12-01T00:00:00.000Z', expiresAt: '2026-11-01T00:00:00.000Z' },
      'requests',
      'key k1 was revoked at 2026-12-01T00:00:00.000Z',
    ],
    [
      'a key revoked later than the time judged',
      { ...key, revokedAt: '2026-12-03T00:00:00.000Z' },
      'requests',
      undefined,
    ],
    ['a key without the scope', key, 'audit', "key k1 lacks scope 'audit' (it has: requests)"],
  ])('%s', (_case, access, scope, expected) => {
    expect(keyRefusal(access, scope, at)).toBe(expected);
  });

  it('reads lifetimes in days, hours and minutes', () => {
    expect(parseDuration('30d')).toBe(30 * 86_400_000);
    expect(parseDuration('12h')).toBe(12 * 3_600_000);
    expect(parseDuration('90m')).toBe(90 * 60_000);
    expect(parseDuration('1w')).toBeUndefined();
    expect(parseDuration('-3d')).toBeUndefined();
  });
});
