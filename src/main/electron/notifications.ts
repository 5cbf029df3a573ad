/**
 * Desktop notifications from the main process (Electron's `Notification`): clicking one brings our window to the
 * front (restored, shown, focused) and tells the renderer what to select. Notifications are kept referenced until
 * closed or clicked: Electron drops the click handler of one that was garbage-collected.
 */
import { Notification, type BrowserWindow } from 'electron';
import type { DesktopNotifier } from '../services/desktop-services.js';

export function createElectronNotifier(getWindow: () => BrowserWindow | null): DesktopNotifier {
  const live = new Set<Notification>();
  return {
    show(notice, onClick) {
      if (!Notification.isSupported()) return false;
      const n = new Notification({ title: notice.title, body: notice.body, urgency: 'critical' });
      live.add(n);
      n.on('click', () => {
        live.delete(n);
        const win = getWindow();
        if (win && !win.isDestroyed()) {
          if (win.isMinimized()) win.restore();
          win.show();
          win.focus();
        }
        onClick();
      });
      n.on('close', () => live.delete(n));
      n.show();
      return true;
    },
  };
}
