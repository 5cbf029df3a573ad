/**
 * Electron's security checklist (electronjs.org/docs/latest/tutorial/security), each item that applies to our
 * shell asserted on the code that implements it. The Electron binary cannot run on this machine (it is
 * downloaded on first launch), so the `electron` module is replaced by a stand-in that records what our code
 * asks of it (vi.mock below): what is tested is our configuration and our handlers, not Electron itself.
 * The packaging half (fuses, the builder config against electron-builder's own JSON schema) is checked from
 * electron-builder.yml.
 */
import { Ajv } from 'ajv';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DESKTOP_CHANNELS, FLEET_ACK_CHANNEL, type FleetFrame } from '../../shared/desktop-api.js';
import { decodeFleetFrame } from '../../shared/fleet-frame-codec.js';
import { silentLogger } from '../log.js';

const recorded = vi.hoisted(() => ({
  schemes: [] as unknown[],
  handlers: new Map<string, (event: unknown, ...args: unknown[]) => Promise<unknown>>(),
  listeners: new Map<string, Set<(event: unknown, ...args: unknown[]) => void>>(),
}));

vi.mock('electron', () => ({
  protocol: { registerSchemesAsPrivileged: (schemes: unknown[]) => recorded.schemes.push(...schemes) },
  session: { defaultSession: undefined },
  ipcMain: {
    handle: (channel: string, fn: (event: unknown, ...args: unknown[]) => Promise<unknown>) => recorded.handlers.set(channel, fn),
    removeHandler: (channel: string) => recorded.handlers.delete(channel),
    on: (channel: string, fn: (event: unknown, ...args: unknown[]) => void) => {
      if (!recorded.listeners.has(channel)) recorded.listeners.set(channel, new Set());
      recorded.listeners.get(channel)!.add(fn);
    },
    removeListener: (channel: string, fn: (event: unknown, ...args: unknown[]) => void) => recorded.listeners.get(channel)?.delete(fn),
  },
}));

const { denyAllPermissions, installContentSecurityPolicy, isAppUrl, isTrustedIpcSender, lockDownWebContents, mainWindowOptions } =
  await import('./security.js');
const { registerAppScheme, rendererUrl, serveRenderer } = await import('./security.js');
const { forwardEvents, registerIpcHandlers } = await import('./ipc.js');

const APP = { kind: 'app', root: '/opt/fleetdesk/resources/app.asar/out/renderer' } as const;
const root = join(import.meta.dirname, '../../..');

type PermissionRequest = (wc: unknown, permission: string, cb: (granted: boolean) => void) => void;
type HeadersReceived = (
  details: { responseHeaders?: Record<string, string[]> },
  cb: (r: { responseHeaders: Record<string, string[]> }) => void,
) => void;

/** A stand-in session: records the handlers our code installs. */
function fakeSession() {
  const s: {
    permissionRequest?: PermissionRequest;
    permissionCheck?: (...args: unknown[]) => boolean;
    headersReceived?: HeadersReceived;
    protocolHandlers: Map<string, (request: Request) => Promise<Response>>;
  } = { protocolHandlers: new Map() };
  return Object.assign(s, {
    setPermissionRequestHandler: (fn: PermissionRequest) => (s.permissionRequest = fn),
    setPermissionCheckHandler: (fn: (...args: unknown[]) => boolean) => (s.permissionCheck = fn),
    webRequest: { onHeadersReceived: (fn: HeadersReceived) => (s.headersReceived = fn) },
    protocol: { handle: (scheme: string, fn: (request: Request) => Promise<Response>) => s.protocolHandlers.set(scheme, fn) },
  });
}

/** A stand-in webContents: an emitter with the window-open handler recorded. */
function fakeContents() {
  const contents = Object.assign(new EventEmitter(), {
    windowOpen: undefined as undefined | ((details: { url: string }) => { action: string }),
    setWindowOpenHandler(fn: (details: { url: string }) => { action: string }) {
      contents.windowOpen = fn;
    },
  });
  return contents;
}

/** Emits an Electron-style event and tells whether a listener prevented it. */
function prevented(contents: EventEmitter, name: string, ...args: unknown[]): boolean {
  let stopped = false;
  contents.emit(name, { preventDefault: () => (stopped = true) }, ...args);
  return stopped;
}

beforeEach(() => {
  recorded.schemes.length = 0;
  recorded.handlers.clear();
});

describe('the window (checklist 2, 3, 4, 6, 8, 9, 10, 12)', () => {
  it('isolates, sandboxes, gives no Node to any frame, keeps web security, no insecure content, no experimental features, no webview', () => {
    const options = mainWindowOptions('/app/preload/index.cjs');
    expect(options.webPreferences).toEqual({
      preload: '/app/preload/index.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
    });
    expect(options.webPreferences).not.toHaveProperty('enableBlinkFeatures');
    expect(options.show).toBe(false);
  });
});

describe('permissions (checklist 5)', () => {
  it('denies every permission request and check', () => {
    const ses = fakeSession();
    denyAllPermissions(ses as never);
    for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal', 'fullscreen']) {
      let granted: boolean | undefined;
      ses.permissionRequest!({}, permission, (g) => (granted = g));
      expect(granted, permission).toBe(false);
      expect(ses.permissionCheck!({}, permission, 'app://fleetdesk', {})).toBe(false);
    }
  });
});

describe('content security policy (checklist 7, 18)', () => {
  it('replaces any policy of a response with ours, whatever its header case', () => {
    const ses = fakeSession();
    installContentSecurityPolicy("default-src 'self'", ses as never);
    let out: Record<string, string[]> | undefined;
    ses.headersReceived!(
      { responseHeaders: { 'content-security-policy': ['default-src *'], 'CONTENT-SECURITY-POLICY': ['script-src *'], 'x-other': ['1'] } },
      (r) => (out = r.responseHeaders),
    );
    expect(out).toEqual({ 'Content-Security-Policy': ["default-src 'self'"], 'x-other': ['1'] });
  });

  it('serves the renderer from app://, a standard secure scheme, with the CSP on every answer, refusing traversal', async () => {
    registerAppScheme();
    expect(recorded.schemes).toEqual([
      { scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: false } },
    ]);
    expect(rendererUrl(APP)).toBe('app://fleetdesk/index.html');
    const ses = fakeSession();
    serveRenderer(join(root, 'src/renderer'), "default-src 'self'", ses as never);
    const handle = ses.protocolHandlers.get('app')!;
    const page = await handle(new Request('app://fleetdesk/index.html'));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBe("default-src 'self'");
    const escape = await handle(new Request('app://fleetdesk/..%2f..%2fpackage.json'));
    expect(escape.status).toBe(403);
    expect(await escape.text()).not.toContain('fleetdesk');
  });
});

describe('navigation, new windows, webviews (checklist 11, 13, 14)', () => {
  it('denies every new window and every navigation or redirect away from the app; blocks webviews', () => {
    const contents = fakeContents();
    lockDownWebContents(contents as never, APP);
    expect(contents.windowOpen!({ url: 'https://evil.example/' })).toEqual({ action: 'deny' });
    expect(contents.windowOpen!({ url: 'app://fleetdesk/index.html' })).toEqual({ action: 'deny' });
    for (const url of ['https://evil.example/', 'file:///etc/passwd', 'app://other/index.html', 'javascript:alert(1)', 'not a url']) {
      expect(prevented(contents, 'will-navigate', url), url).toBe(true);
      expect(prevented(contents, 'will-redirect', url), url).toBe(true);
    }
    expect(prevented(contents, 'will-navigate', 'app://fleetdesk/index.html#/customers')).toBe(false);
    expect(prevented(contents, 'will-attach-webview', {}, {})).toBe(true);
  });

  it('counts only app://fleetdesk (or the dev server in development) as the app', () => {
    expect(isAppUrl('app://fleetdesk/index.html?x=1#/a', APP)).toBe(true);
    expect(isAppUrl('file:///opt/fleetdesk/resources/app.asar/out/renderer/index.html', APP)).toBe(false);
    expect(isAppUrl('http://localhost:5173/', APP)).toBe(false);
    expect(isAppUrl(undefined, APP)).toBe(false);
    const dev = { kind: 'dev', url: 'http://localhost:5173/' } as const;
    expect(isAppUrl('http://localhost:5173/src/main.tsx', dev)).toBe(true);
    expect(isAppUrl('http://localhost:5174/', dev)).toBe(false);
  });
});

describe('IPC (checklist 17)', () => {
  const mainFrame = { url: 'app://fleetdesk/index.html' };
  const webContents = { mainFrame };
  const window = { webContents };

  it('trusts only our window, its main frame, showing the app', () => {
    expect(isTrustedIpcSender({ sender: webContents, senderFrame: mainFrame } as never, window as never, APP)).toBe(true);
    expect(isTrustedIpcSender({ sender: {}, senderFrame: mainFrame } as never, window as never, APP)).toBe(false);
    expect(
      isTrustedIpcSender({ sender: webContents, senderFrame: { url: 'app://fleetdesk/index.html' } } as never, window as never, APP),
    ).toBe(false);
    const navigatedAway = { mainFrame: { url: 'https://evil.example/' } };
    expect(
      isTrustedIpcSender(
        { sender: navigatedAway, senderFrame: navigatedAway.mainFrame } as never,
        { webContents: navigatedAway } as never,
        APP,
      ),
    ).toBe(false);
    expect(isTrustedIpcSender({ sender: webContents, senderFrame: mainFrame } as never, null, APP)).toBe(false);
  });

  it('answers a foreign sender on every channel with forbidden, and never runs the handler', async () => {
    let ran = 0;
    const handlers = Object.fromEntries(DESKTOP_CHANNELS.map((c) => [c, async () => ++ran]));
    const trusted = (event: { trusted: boolean }) => event.trusted;
    const off = registerIpcHandlers(handlers as never, trusted as never, silentLogger());
    expect([...recorded.handlers.keys()].sort()).toEqual([...DESKTOP_CHANNELS].sort());
    for (const channel of DESKTOP_CHANNELS) {
      const reply = await recorded.handlers.get(channel)!({ trusted: false, senderFrame: { url: 'https://evil.example/' } });
      expect(reply, channel).toEqual({ ok: false, error: { code: 'forbidden', message: 'sender not allowed' } });
    }
    expect(ran).toBe(0);
    const first = DESKTOP_CHANNELS[0]!;
    expect(await recorded.handlers.get(first)!({ trusted: true })).toMatchObject({ ok: true });
    off();
    expect(recorded.handlers.size).toBe(0);
  });

  it('sends fleet frames to our window as bytes, flow-controlled by acknowledgements from our renderer only', async () => {
    const sent: Array<{ event: string; payload: unknown }> = [];
    const webContents = { isDestroyed: () => false, send: (event: string, payload: unknown) => sent.push({ event, payload }) };
    const win = { isDestroyed: () => false, webContents };
    const emitters = new Map<string, (payload: unknown) => void>();
    const events = { on: (event: string, cb: (payload: unknown) => void) => (emitters.set(event, cb), () => emitters.delete(event)) };
    const trusted = (event: { trusted: boolean }) => event.trusted;
    const forwarding = forwardEvents(events as never, () => win as never, trusted as never);
    const frame = (seq: number): FleetFrame => ({ seq, at: seq, upserts: [], registry: [] });
    const ack = (seq: number, from: { trusted: boolean; sender: unknown }) =>
      recorded.listeners.get(FLEET_ACK_CHANNEL)!.forEach((fn) => fn(from, seq));
    const frames = () => sent.filter((m) => m.event === 'fleet:frame').map((m) => decodeFleetFrame(m.payload as Uint8Array));

    emitters.get('fleet:frame')!(frame(1));
    expect(frames().map((f) => f.seq)).toEqual([1]);
    ack(1, { trusted: true, sender: webContents });
    for (let s = 2; s <= 6; s++) emitters.get('fleet:frame')!(frame(s));
    expect(frames().map((f) => f.seq)).toEqual([1, 2, 3]); // two unacknowledged, the rest held and merged
    ack(3, { trusted: false, sender: webContents }); // a foreign frame cannot release anything
    ack(3, { trusted: true, sender: { other: true } }); // nor another renderer
    expect(frames()).toHaveLength(3);
    ack(3, { trusted: true, sender: webContents });
    expect(frames().at(-1)).toMatchObject({ fromSeq: 4, seq: 6 });
    // the snapshot as of frame 9 supersedes frames held up to it
    ack(6, { trusted: true, sender: webContents });
    for (let s = 7; s <= 9; s++) emitters.get('fleet:frame')!(frame(s));
    forwarding.snapshotRead(9);
    ack(8, { trusted: true, sender: webContents });
    expect(frames().map((f) => f.seq)).toEqual([1, 2, 3, 6, 7, 8]);
    // other events go as they are
    emitters.get('auth:change')!({ status: 'signed_out' });
    expect(sent.at(-1)).toEqual({ event: 'auth:change', payload: { status: 'signed_out' } });
    forwarding.dispose();
    expect(recorded.listeners.get(FLEET_ACK_CHANNEL)!.size).toBe(0);
    expect(emitters.size).toBe(0);
  });
});

describe('packaging: fuses and the builder config (checklist 16, 19)', () => {
  const config = parseYaml(readFileSync(join(root, 'electron-builder.yml'), 'utf8')) as Record<string, unknown>;

  it('flips the fuses: no RunAsNode, no NODE_OPTIONS or --inspect, cookies encrypted, asar integrity, app only from asar', () => {
    expect(config['asar']).toBe(true);
    expect(config['electronFuses']).toEqual({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableCookieEncryption: true,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      grantFileProtocolExtraPrivileges: false,
    });
  });

  it("is valid against electron-builder's own JSON schema", () => {
    const require = createRequire(import.meta.url);
    const schema = JSON.parse(readFileSync(require.resolve('app-builder-lib/scheme.json'), 'utf8')) as object;
    const ajv = new Ajv({ strict: false, allErrors: true });
    const validate = ajv.compile(schema);
    expect(validate(config), JSON.stringify(validate.errors)).toBe(true);
    // and the schema really rejects what it should (the check can fail)
    expect(validate({ ...config, electronFuses: { runAsNode: 'no' } })).toBe(false);
  });

  it('ships a current Electron major', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    expect(Number(pkg.devDependencies['electron']!.split('.')[0])).toBeGreaterThanOrEqual(38);
  });
});
