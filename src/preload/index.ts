/**
 * The preload: builds the narrow DesktopApi over IPC and exposes exactly that as `window.fleetdesk`.
 * Sandboxed, so it may only require 'electron'; everything else (src/shared) is bundled in by electron-vite.
 * ipcRenderer itself is never exposed, and only the known channel/event names can be used.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import {
  FLEET_ACK_CHANNEL,
  createDesktopApi,
  isDesktopChannel,
  isDesktopEvent,
  type DesktopApi,
  type DesktopError,
  type DesktopReply,
  type DesktopTransport,
} from '../shared/desktop-api.js';
import { deliverFleetFrame } from '../shared/fleet-frame-codec.js';

const transport: DesktopTransport = {
  async invoke(channel, ...args) {
    if (!isDesktopChannel(channel))
      throw { code: 'unknown_channel', message: `unknown channel: ${String(channel)}` } satisfies DesktopError;
    let reply: DesktopReply;
    try {
      reply = (await ipcRenderer.invoke(channel, ...args)) as DesktopReply;
    } catch (err) {
      throw { code: 'ipc_failed', message: err instanceof Error ? err.message : String(err) } satisfies DesktopError;
    }
    // A plain {code, message} object survives the context bridge; an Error's extra fields would not.
    if (!reply.ok) throw { code: reply.error.code, message: reply.error.message } satisfies DesktopError;
    return reply.result as never;
  },
  subscribe(event, cb) {
    if (!isDesktopEvent(event)) throw new Error(`unknown event: ${String(event)}`);
    // fleet frames come as bytes: decoded, handed on, then acknowledged (flow control, as over the console's WebSocket)
    const listener =
      event === 'fleet:frame'
        ? (_e: IpcRendererEvent, payload: unknown): void => {
            if (!deliverFleetFrame(payload, cb as never, (seq) => ipcRenderer.send(FLEET_ACK_CHANNEL, seq)))
              console.warn('[preload] dropped a fleet frame that could not be read');
          }
        : (_e: IpcRendererEvent, payload: unknown): void => cb(payload as never);
    ipcRenderer.on(event, listener);
    return () => {
      ipcRenderer.removeListener(event, listener);
    };
  },
};

const api = createDesktopApi(transport) satisfies DesktopApi;
contextBridge.exposeInMainWorld('fleetdesk', api);
