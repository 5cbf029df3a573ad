/** Opens the replica for the operator in AppInfo (or the remembered one, so it opens without the host). */
import { useEffect, useState } from 'react';
import type { AppInfo } from '../../../../shared/desktop-api.js';
import { openReplica, rememberedSyncConfig, rememberSyncConfig, replicaDbName, syncConfigFrom, type OpenReplica } from '../../data/open';
import { replicaVehicles } from './vehicle-index';

export function useOpenReplica(appInfo: AppInfo | undefined): OpenReplica | undefined {
  const [open, setOpen] = useState<OpenReplica | undefined>(undefined);
  const fromHost = syncConfigFrom(appInfo);
  const config = fromHost ?? rememberedSyncConfig();
  const key = config ? `${replicaDbName(config)}|${config.syncUrl}` : '';
  useEffect(() => {
    if (fromHost) rememberSyncConfig(fromHost);
  }, [fromHost?.syncUrl, fromHost?.operator.id, fromHost?.operator.role]);
  useEffect(() => {
    if (!config) return;
    let cancelled = false;
    let opened: OpenReplica | undefined;
    let unsubscribe: (() => void) | undefined;
    openReplica(config).then(
      (o) => {
        if (cancelled) return void o.close();
        opened = o;
        const sub = o.db.vehicles?.find().$.subscribe((docs) => replicaVehicles.replace(docs.map((d) => d.toJSON() as never)));
        unsubscribe = () => sub?.unsubscribe();
        setOpen(o);
      },
      (err: unknown) => console.error('[replica] could not open the local replica', err),
    );
    return () => {
      cancelled = true;
      unsubscribe?.();
      setOpen(undefined);
      void opened?.close();
    };
    // `key` identifies the config
  }, [key]);
  return open;
}
