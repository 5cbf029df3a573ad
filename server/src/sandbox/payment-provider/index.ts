/** The sandbox payment provider, started in-process (embedded mode, tests) or by start.ts as its own program. */
export { startPaymentSandbox, type PaymentSandbox, type PaymentSandboxOptions, type SandboxStats } from './sandbox-server.js';
export { DEFAULT_SANDBOX_SETTINGS, type SandboxSettings } from './sandbox-faults.js';
export { SANDBOX_TOKENS, type SandboxHold } from './sandbox-ledger.js';
export { SIGNATURE_HEADER, signPayload } from './sandbox-webhooks.js';
