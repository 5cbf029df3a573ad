/**
 * What the desk shows of alerts outside the queue: the number of unacknowledged (open) alerts of kinds the operator
 * did not mute — for the Alerts tab and the window title — and desktop notifications for new ones (only for roles
 * that work alerts; see alert-notifier.ts for which and how often). A click on a notification comes back through
 * the DesktopApi (`notifications.onClick`) and is handed to `onOpen`.
 */
import { useEffect, useRef, useState } from 'react';
import type { DesktopApi, NoticeTarget } from '../../../../shared/desktop-api.js';
import { can } from '../../../../shared/permissions.js';
import type { AlertDoc } from '../../../../shared/sync-protocol.js';
import type { OpenReplica } from '../../data/open';
import { AlertNotifier } from './alert-notifier';
import { mutedKinds, useMutedKinds } from './muted-kinds';

const OPEN_ALERTS = { selector: { status: 'open' as const }, sort: [{ openedAt: 'desc' as const }], limit: 5_000 };

export function useAlertAttention(
  replica: OpenReplica | undefined,
  api: DesktopApi,
  plateOf: (vehicleId: string) => string,
  onOpen: (target: NoticeTarget) => void,
): { unacknowledged: number } {
  const operator = replica?.identity.operator;
  const operatorId = operator?.id ?? '';
  const muted = useMutedKinds(operatorId);
  const [open, setOpen] = useState<readonly AlertDoc[]>([]);
  const plateRef = useRef(plateOf);
  plateRef.current = plateOf;
  const onOpenRef = useRef(onOpen);
  onOpenRef.current = onOpen;
  const notifies = !!operator && can(operator.role, 'alert.work');

  useEffect(() => {
    const alerts = replica?.db.alerts;
    if (!alerts) {
      setOpen([]);
      return;
    }
    const notifier = notifies
      ? new AlertNotifier({
          show: (notice) => void api.notifications.show(notice).catch((err: unknown) => console.error('[alerts] notification failed', err)),
          plateOf: (id) => plateRef.current(id),
          isMuted: (kind) => mutedKinds(operatorId).has(kind),
          startedAt: Date.now(),
        })
      : undefined;
    const sub = alerts.find(OPEN_ALERTS).$.subscribe((res) => {
      const docs = res.map((d) => d.toJSON() as AlertDoc);
      setOpen(docs);
      notifier?.update(docs);
    });
    return () => {
      sub.unsubscribe();
      notifier?.dispose();
    };
  }, [replica, api, operatorId, notifies]);

  useEffect(() => api.notifications.onClick((target) => onOpenRef.current(target)), [api]);

  let unacknowledged = 0;
  for (const a of open) if (!muted.has(a.kind)) unacknowledged++;
  return { unacknowledged };
}
