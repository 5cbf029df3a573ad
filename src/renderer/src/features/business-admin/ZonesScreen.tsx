/**
 * Back office → Zones (admins): every operating / no-parking / service zone on a map of its own, drawn as the fleet
 * map draws them. Draw a new zone or edit one's outline on the map (leaflet-geoman), name it, choose its kind,
 * save: the server checks the outline and its answer is shown as it is. Retiring asks first. Every change is a new
 * version on the server (kept with who and why); every desk's map follows within seconds through the replica.
 */
import { useState } from 'react';
import { ZONE_KINDS, ZONE_NAME_MAX, type ZoneKind, type ZoneView } from '../../../../shared/zones.js';
import { useReplica } from '../../data/hooks';
import { formatWhen, plural } from '../../lib/format';
import { useConfirm } from '../panels/ConfirmDialog';
import { FieldInput, Field, useFieldProblems } from '../panels/Field';
import { ZONE_KIND_LABELS, ZONE_STYLES } from '../fleet-map/zone-styles';
import { refusalText } from './staff-answer';
import { useTileSettings } from './tile-settings';
import { useStaffResource } from './use-staff-resource';
import { ZonesMap, type MapMode, type Ring } from './ZonesMap';
import './business-admin.css';

type FormField = 'name' | 'reason' | 'outline';

export function ZonesScreen({ now }: { now: number }) {
  const r = useReplica();
  const tiles = useTileSettings();
  const resource = useStaffResource<{ zones: ZoneView[] }>('/ops/v1/zones');
  const zones = resource.data?.zones;
  const loadError = resource.error;
  const load = resource.reload;
  const [mode, setMode] = useState<MapMode>({ kind: 'view' });
  const [name, setName] = useState('');
  const [kind, setKind] = useState<ZoneKind>('no_parking');
  const [reason, setReason] = useState('');
  const [saving, setSaving] = useState(false);
  const [serverError, setServerError] = useState<string | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const fields = useFieldProblems<FormField>();
  const [confirm, confirmElement] = useConfirm();

  const editing = mode.kind === 'edit' ? mode : undefined;
  const editedZone = editing?.zoneId ? zones?.find((z) => z.id === editing.zoneId) : undefined;

  const reset = () => {
    setMode({ kind: 'view' });
    setServerError(undefined);
    fields.reset();
    setReason('');
  };
  const startDrawing = () => {
    reset();
    setNotice(undefined);
    setName('');
    setMode({ kind: 'draw', zoneKind: kind });
  };
  const startEditing = (zoneId: string) => {
    const z = zones?.find((x) => x.id === zoneId);
    if (!z) return;
    reset();
    setNotice(undefined);
    setName(z.name);
    setKind(z.kind);
    setMode({ kind: 'edit', zoneId: z.id, zoneKind: z.kind, ring: z.polygon });
  };
  const onRing = (ring: Ring) => {
    fields.clear('outline');
    setServerError(undefined);
    setMode((m) =>
      m.kind === 'draw' ? { kind: 'edit', zoneId: null, zoneKind: m.zoneKind, ring } : m.kind === 'edit' ? { ...m, ring } : m,
    );
  };
  const chooseKind = (k: ZoneKind) => {
    setKind(k);
    setMode((m) => (m.kind === 'view' ? m : { ...m, zoneKind: k }));
  };

  const save = async () => {
    if (!r || !editing) return;
    const ok = fields.check({
      name: name.trim()
        ? name.trim().length > ZONE_NAME_MAX
          ? `At most ${ZONE_NAME_MAX} characters.`
          : undefined
        : 'Give the zone a name.',
      outline: editing.ring.length < 4 ? 'Draw the outline on the map: click each corner, then the first one again.' : undefined,
    });
    if (!ok) return;
    setSaving(true);
    setServerError(undefined);
    try {
      const saved = editing.zoneId
        ? await r.staffRequest<ZoneView>('PATCH', `/ops/v1/zones/${encodeURIComponent(editing.zoneId)}`, {
            body: {
              name: name.trim(),
              kind,
              polygon: editing.ring,
              ...(editedZone ? { expectedVersion: editedZone.version } : {}),
              ...(reason.trim() ? { reason: reason.trim() } : {}),
            },
          })
        : await r.staffPost<ZoneView>('/ops/v1/zones', { name: name.trim(), kind, polygon: editing.ring });
      await load();
      reset();
      setNotice(`${saved.name} saved (version ${saved.version}). Every desk's map and the public feed follow within seconds.`);
    } catch (err) {
      setServerError(refusalText(err));
    } finally {
      setSaving(false);
    }
  };

  const retire = (z: ZoneView) => {
    if (!fields.check({ reason: reason.trim() ? undefined : 'Say why the zone is retired (kept with its history).' })) return;
    confirm({
      title: `Retire ${z.name}?`,
      detail: `${ZONE_KIND_LABELS[z.kind]} “${z.name}” disappears from every desk's map and from the public feed${
        z.kind === 'operating'
          ? '; rentals can no longer end inside it'
          : z.kind === 'no_parking'
            ? '; rentals may end inside it again'
            : ''
      }. Its history is kept.`,
      confirmLabel: 'Retire zone',
      onConfirm: () => {
        void (async () => {
          if (!r) return;
          setSaving(true);
          setServerError(undefined);
          try {
            await r.staffPost(`/ops/v1/zones/${encodeURIComponent(z.id)}/retire`, { reason: reason.trim() });
            await load();
            reset();
            setNotice(`${z.name} retired.`);
          } catch (err) {
            setServerError(refusalText(err));
          } finally {
            setSaving(false);
          }
        })();
      },
    });
  };

  const mayManage = r?.actions.can('zone.manage') ?? false;
  return (
    <div className="admin-screen zones-screen" data-testid="zones-screen">
      <div className="zones-map-frame" data-mode={mode.kind} data-testid="zones-map">
        <ZonesMap
          zones={zones ?? []}
          mode={mode}
          tiles={tiles}
          onRing={onRing}
          onSelect={(id) => mayManage && mode.kind === 'view' && startEditing(id)}
        />
        {mode.kind === 'draw' ? (
          <div className="zones-map-hint" role="status" data-testid="zones-draw-hint">
            Click each corner of the zone on the map, then click the first corner again to close it.
          </div>
        ) : null}
      </div>
      <aside className="zones-side replica-panel">
        <div className="panel-toolbar">
          <strong>Zones</strong>
          {mayManage && mode.kind === 'view' ? (
            <button type="button" className="admin-primary" data-testid="zone-draw" onClick={startDrawing}>
              Draw a new zone
            </button>
          ) : null}
        </div>
        {loadError ? (
          <div className="admin-error" role="alert">
            The zones could not be loaded: {loadError}
          </div>
        ) : null}
        {notice ? (
          <div className="admin-notice" role="status" data-testid="zone-notice">
            {notice}
          </div>
        ) : null}

        {mode.kind !== 'view' ? (
          <form
            className="admin-form"
            data-testid="zone-form"
            onSubmit={(e) => {
              e.preventDefault();
              void save();
            }}
          >
            <div className="admin-form-title">{editing?.zoneId ? `Edit ${editedZone?.name ?? 'zone'}` : 'New zone'}</div>
            <label>
              Name
              <FieldInput
                {...fields.input('name', name, setName)}
                data-testid="zone-name"
                maxLength={ZONE_NAME_MAX + 20}
                placeholder="e.g. Station forecourt"
              />
            </label>
            <label>
              Kind
              <Field error={undefined}>
                <select value={kind} data-testid="zone-kind" onChange={(e) => chooseKind(e.target.value as ZoneKind)}>
                  {ZONE_KINDS.map((k) => (
                    <option key={k} value={k}>
                      {ZONE_KIND_LABELS[k]}
                    </option>
                  ))}
                </select>
              </Field>
            </label>
            <div className="zone-outline-state" data-testid="zone-outline">
              <Field error={fields.problems.outline}>
                <span>
                  {editing
                    ? `${plural(editing.ring.length - 1, 'corner')} — drag a corner to move it, drag a middle marker to add one, right-click a corner to remove it.`
                    : 'Drawing on the map…'}
                </span>
              </Field>
            </div>
            {editing?.zoneId ? (
              <label>
                Why (kept with the change)
                <FieldInput
                  {...fields.input('reason', reason, setReason)}
                  data-testid="zone-reason"
                  placeholder="optional for an edit, needed to retire"
                />
              </label>
            ) : null}
            {serverError ? (
              <div className="admin-error" role="alert" data-testid="zone-save-error">
                {serverError}
              </div>
            ) : null}
            <div className="admin-form-actions">
              <button type="submit" className="admin-primary" disabled={saving || !editing} data-testid="zone-save">
                {saving ? 'Saving…' : 'Save zone'}
              </button>
              <button type="button" onClick={reset} disabled={saving}>
                Cancel
              </button>
              {editedZone ? (
                <button
                  type="button"
                  className="admin-danger"
                  onClick={() => retire(editedZone)}
                  disabled={saving}
                  data-testid="zone-retire"
                >
                  Retire…
                </button>
              ) : null}
            </div>
          </form>
        ) : null}

        {zones && zones.length === 0 ? <div className="panel-empty">No zones yet. Draw the operating zone first.</div> : null}
        {zones && zones.length > 0 ? (
          <table className="replica-table zone-list" data-testid="zone-list">
            <thead>
              <tr>
                <th>Zone</th>
                <th>Kind</th>
                {mayManage ? <th /> : null}
              </tr>
            </thead>
            <tbody>
              {zones.map((z) => (
                <tr key={z.id} data-zone-id={z.id} aria-selected={editing?.zoneId === z.id}>
                  <td className="cell-note">
                    <span
                      className="zone-swatch"
                      style={{ borderColor: ZONE_STYLES[z.kind].color, background: ZONE_STYLES[z.kind].fillColor }}
                    />
                    {z.name}
                    <div className="muted zone-changed">
                      version {z.version} · {formatWhen(z.updatedAt, now)}
                    </div>
                  </td>
                  <td>{ZONE_KIND_LABELS[z.kind]}</td>
                  {mayManage ? (
                    <td>
                      <div className="row-actions">
                        <button
                          type="button"
                          data-testid="zone-edit"
                          onClick={() => startEditing(z.id)}
                          disabled={editing?.zoneId === z.id}
                        >
                          Edit
                        </button>
                      </div>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
        {!zones && !loadError ? <div className="panel-empty">Loading the zones…</div> : null}
      </aside>
      {confirmElement}
    </div>
  );
}
