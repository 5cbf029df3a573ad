/**
 * The DesktopApi over Electron IPC: one `ipcMain.handle` per channel from the shared handler map, with the
 * channel and the sender frame checked on every message, and errors returned as `{code, message}` in the
 * shared envelope (DesktopReply). Events go only to our window.
 */
import { ipcMain, type BrowserWindow, type IpcMainInvokeEvent } from 'electron';
import {
  DESKTOP_CHANNELS,
  DESKTOP_EVENTS,
  isDesktopChannel,
  replyTo,
  type DesktopHandlers,
  type DesktopReply,
  type Unsubscribe,
} from '../../shared/desktop-api.js';
import type { Logger } from '../log.js';
import type { DesktopEvents } from '../services/desktop-services.js';

export function registerIpcHandlers(
  handlers: DesktopHandlers,
  isTrustedSender: (event: IpcMainInvokeEvent) => boolean,
  logger: Logger,
): Unsubscribe {
  for (const channel of DESKTOP_CHANNELS) {
    ipcMain.handle(channel, async (event, ...args: unknown[]): Promise<DesktopReply> => {
      if (!isDesktopChannel(channel) || !isTrustedSender(event)) {
        logger.warn('IPC from an untrusted sender refused', { channel, url: event.senderFrame?.url });
        return { ok: false, error: { code: 'forbidden', message: 'sender not allowed' } };
      }
      return replyTo(handlers, channel, args);
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
