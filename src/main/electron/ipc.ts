/**
 * The DesktopApi over Electron IPC: one `ipcMain.handle` per channel from the shared handler map, with the
 * channel and the sender frame checked on every message, and errors returned as `{code, message}` in the
 * shared envelope (DesktopReply). Events go only to our window; fleet frames as the browser console sends them —
 * as bytes, flow-controlled by the renderer's acknowledgements (FrameLink, shared with the console's WebSocket).
 */
import { ipcMain, type BrowserWindow, type IpcMainEvent, type IpcMainInvokeEvent } from 'electron';
import {
  DESKTOP_CHANNELS,
  DESKTOP_EVENTS,
  FLEET_ACK_CHANNEL,
  isDesktopChannel,
  replyTo,
  type DesktopHandlers,
  type DesktopReply,
  type FleetFrame,
  type FleetSnapshot,
  type Unsubscribe,
} from '../../shared/desktop-api.js';
import { encodeFleetFrame } from '../../shared/fleet-frame-codec.js';
import type { Logger } from '../log.js';
import type { DesktopEvents } from '../services/desktop-services.js';
import { FrameLink } from '../services/frame-link.js';

export type TrustedSenderCheck = (event: Pick<IpcMainInvokeEvent, 'sender' | 'senderFrame'>) => boolean;

export function registerIpcHandlers(
  handlers: DesktopHandlers,
  isTrustedSender: TrustedSenderCheck,
  logger: Logger,
  /** the renderer read the fleet snapshot as of this frame seq (frames held for it up to there are superseded) */
  onSnapshotRead?: (seq: number) => void,
): Unsubscribe {
  for (const channel of DESKTOP_CHANNELS) {
    ipcMain.handle(channel, async (event, ...args: unknown[]): Promise<DesktopReply> => {
      if (!isDesktopChannel(channel) || !isTrustedSender(event)) {
        logger.warn('IPC from an untrusted sender refused', { channel, url: event.senderFrame?.url });
        return { ok: false, error: { code: 'forbidden', message: 'sender not allowed' } };
      }
      const reply = await replyTo(handlers, channel, args);
      if (channel === 'fleet:getSnapshot' && reply.ok) onSnapshotRead?.((reply.result as FleetSnapshot).seq);
      return reply;
    });
  }
  return () => {
    for (const channel of DESKTOP_CHANNELS) ipcMain.removeHandler(channel);
  };
}

export interface EventForwarding {
  /** the renderer read the fleet snapshot as of `seq` (see registerIpcHandlers) */
  snapshotRead(seq: number): void;
  dispose: Unsubscribe;
}

export function forwardEvents(
  events: DesktopEvents,
  getWindow: () => BrowserWindow | null,
  isTrustedSender: TrustedSenderCheck,
): EventForwarding {
  const usable = (win: BrowserWindow | null): win is BrowserWindow => !!win && !win.isDestroyed() && !win.webContents.isDestroyed();
  // one flow per renderer: a new window (or a reloaded page) starts unacknowledged, as a new console client does
  let frames: { contents: unknown; link: FrameLink } | undefined;
  const linkFor = (win: BrowserWindow): FrameLink => {
    if (frames?.contents !== win.webContents) {
      const contents = win.webContents;
      frames = {
        contents,
        link: new FrameLink((frame) => {
          if (!contents.isDestroyed()) contents.send('fleet:frame', encodeFleetFrame(frame));
        }),
      };
    }
    return frames.link;
  };
  const offs = DESKTOP_EVENTS.map((event) =>
    events.on(event, (payload) => {
      const win = getWindow();
      if (!usable(win)) return;
      if (event === 'fleet:frame') linkFor(win).offer(payload as FleetFrame);
      else win.webContents.send(event, payload);
    }),
  );
  const onAck = (event: IpcMainEvent, seq: unknown): void => {
    if (!isTrustedSender(event) || frames?.contents !== event.sender) return;
    frames.link.ack(seq);
  };
  ipcMain.on(FLEET_ACK_CHANNEL, onAck);
  return {
    snapshotRead: (seq) => frames?.link.snapshotRead(seq),
    dispose: () => {
      offs.forEach((off) => off());
      ipcMain.removeListener(FLEET_ACK_CHANNEL, onAck);
    },
  };
}
