/**
 * Desktop notifications in the browser console: the Web Notifications API for the console's own origin (the
 * console host is a Node process and cannot show anything on this screen). Clicking one focuses this tab and
 * hands its target to the desk, as Electron's main process does with `notify:click`.
 */
import type { DesktopApi, NoticeTarget, NotificationPermissionState } from '../../../shared/desktop-api.js';
import { parseNotice } from '../../../shared/desktop-api.js';

export function createWebNotifications(): DesktopApi['notifications'] {
  const listeners = new Set<(target: NoticeTarget) => void>();
  const supported = typeof Notification !== 'undefined';
  const permission = (): NotificationPermissionState => (supported ? Notification.permission : 'denied');
  return {
    permission: async () => permission(),
    requestPermission: async () => (supported ? Notification.requestPermission() : 'denied'),
    async show(raw) {
      const notice = parseNotice(raw);
      if (!notice) return { shown: false, reason: 'bad_request' };
      if (!supported) return { shown: false, reason: 'unsupported' };
      if (permission() !== 'granted') return { shown: false, reason: 'permission' };
      const n = new Notification(notice.title, { body: notice.body, tag: notice.tag, requireInteraction: false });
      n.onclick = () => {
        window.focus();
        n.close();
        for (const cb of [...listeners]) cb(notice.target);
      };
      return { shown: true };
    },
    onClick(cb) {
      listeners.add(cb);
      return () => {
        listeners.delete(cb);
      };
    },
  };
}
