/** See self-signed-cert.mjs. */
export function makeSelfSignedCert(dir: string, name: string, days: number): { cert: string; key: string } | undefined;
