/**
 * The DesktopApi over Electron IPC: one `ipcMain.handle` per channel from the shared handler map, with the
 * channel and the sender frame checked on every message, and errors returned as `{code, message}` in an
 * envelope (a thrown error would cross IPC as a bare message string, losing its code). Events go only to
 * our window.
 */
import { ipcMain, type BrowserWindow, type IpcMainInvokeEvent } from 'electron';
import { DESKTOP_CHANNELS, DESKTOP_EVENTS, isDesktopChannel, type DesktopHandlers, type Unsubscribe } from '../../shared/desktop-api.js';
import { toErrorPayload } from '../../shared/errors.js';
import type { Logger } from '../log.js';
import type { DesktopEvents } from '../services/desktop-services.js';

/** What an invoke resolves to in the preload (mirrored there; the preload cannot import src/main). */
export type IpcEnvelope = { ok: true; result: unknown } | { ok: false; error: { code: string; message: string } };

export function registerIpcHandlers(
  handlers: DesktopHandlers,
  isTrustedSender: (event: IpcMainInvokeEvent) => boolean,
  logger: Logger,
): Unsubscribe {
  for (const channel of DESKTOP_CHANNELS) {
    ipcMain.handle(channel, async (event, ...args: unknown[]): Promise<IpcEnvelope> => {
      if (!isDesktopChannel(channel) || !isTrustedSender(event)) {
        logger.warn({ channel, url: event.senderFrame?.url }, 'IPC from an untrusted sender refused');
        return { ok: false, error: { code: 'forbidden', message: 'sender not allowed' } };
      }
      try {
        const handler = handlers[channel] as (...a: unknown[]) => Promise<unknown>;
        return { ok: true, result: await handler(...args) };
      } catch (err) {
        return { ok: false, error: toErrorPayload(err) };
      }
    });
  }
  return () => {
    for (const channel of DESKTOP_CHANNELS) ipcMain.removeHandler(channel);
  };
}

export function forwardEvents(events: DesktopEvents, getWindow: () => BrowserWindow | null): Unsubscribe {
  const offs = DESKTOP_EVENTS.map((event) =>
    events.on(event, (payload) => {
      const win = getWindow();
      if (!win || win.isDestroyed() || win.webContents.isDestroyed()) return;
      win.webContents.send(event, payload);
    }),
  );
  return () => offs.forEach((off) => off());
}
