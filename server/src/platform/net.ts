/** The host to put in a URL for a listening address: wildcard binds are reached on loopback; IPv6 in brackets. */
export function hostForUrl(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
