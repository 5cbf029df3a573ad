/**
 * Back office → Tariffs (admins): per vehicle type, the version in force, the upcoming ones and the past ones; a new
 * version with the date and time it takes effect (now or later — a version in force is never changed, and every
 * rental keeps the version it started with); an upcoming version nobody was quoted can be withdrawn. Prices are
 * typed in major units ("0.29") and sent in minor units; what the server refuses is shown as it says it.
 */
import { useMemo, useState } from 'react';
import { TARIFF_FIGURE_MAX, type TariffOverview, type TariffVersionView } from '../../../../shared/tariffs.js';
import { useReplica } from '../../data/hooks';
import { formatDateTime, formatMoney, parseMoney } from '../../lib/format';
import { useConfirm } from '../panels/ConfirmDialog';
import { FieldInput, useFieldProblems } from '../panels/Field';
import { useStaffNames } from '../panels/staff-names';
import { refusalText } from './staff-answer';
import { useStaffResource } from './use-staff-resource';
import './business-admin.css';

const STATUS_LABELS: Record<TariffVersionView['status'], string> = {
  in_force: 'In force',
  upcoming: 'Upcoming',
  past: 'Past',
  withdrawn: 'Withdrawn',
};

type MoneyField = 'perMinuteDrivingCents' | 'perMinuteParkedCents' | 'perKmCents' | 'dailyCapCents' | 'reservationFeePerMinuteCents';
type FormField = MoneyField | 'includedKm' | 'currency' | 'effectiveFrom';

const MONEY_FIELDS: Array<{ field: MoneyField; label: string }> = [
  { field: 'perMinuteDrivingCents', label: 'Driving, per minute' },
  { field: 'perMinuteParkedCents', label: 'Parked, per minute' },
  { field: 'perKmCents', label: 'Per km beyond the included' },
  { field: 'dailyCapCents', label: 'Daily cap (0: none)' },
  { field: 'reservationFeePerMinuteCents', label: 'Reservation, per minute after the free hold' },
];

type Draft = Record<FormField, string>;

const major = (cents: number) => (cents / 100).toFixed(2);
const draftFrom = (v: TariffVersionView | undefined): Draft => ({
  effectiveFrom: '',
  currency: v?.currency ?? 'EUR',
  includedKm: String(v?.includedKm ?? 200),
  perMinuteDrivingCents: v ? major(v.perMinuteDrivingCents) : '',
  perMinuteParkedCents: v ? major(v.perMinuteParkedCents) : '',
  perKmCents: v ? major(v.perKmCents) : '',
  dailyCapCents: v ? major(v.dailyCapCents) : '',
  reservationFeePerMinuteCents: v ? major(v.reservationFeePerMinuteCents) : '',
});

/** The server names the field its refusal is about first ("perKmCents must …"): shown under that field. */
function fieldOfRefusal(detail: string): FormField | undefined {
  const first = /^(\w+)/.exec(detail)?.[1];
  const all: FormField[] = ['effectiveFrom', 'currency', 'includedKm', ...MONEY_FIELDS.map((m) => m.field)];
  return all.find((f) => f === first);
}

export function TariffsScreen() {
  const r = useReplica();
  const resource = useStaffResource<{ tariffs: TariffOverview[] }>('/ops/v1/tariffs');
  const tariffs = resource.data?.tariffs;
  const loadError = resource.error;
  const load = resource.reload;
  const [typeId, setTypeId] = useState<string | undefined>(undefined);
  const [draft, setDraft] = useState<Draft | undefined>(undefined);
  const [saving, setSaving] = useState(false);
  const [serverError, setServerError] = useState<string | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const fields = useFieldProblems<FormField>();
  const [confirm, confirmElement] = useConfirm();
  const staffName = useStaffNames();

  const selected = useMemo(() => tariffs?.find((t) => t.vehicleType.id === typeId) ?? tariffs?.[0], [tariffs, typeId]);
  const inForce = selected?.versions.find((v) => v.status === 'in_force');
  const mayManage = r?.actions.can('tariff.manage') ?? false;

  const choose = (id: string) => {
    setTypeId(id);
    setDraft(undefined);
    setServerError(undefined);
    setNotice(undefined);
    fields.reset();
  };
  const set = (field: FormField) => (value: string) => setDraft((d) => (d ? { ...d, [field]: value } : d));

  const save = async () => {
    if (!r || !draft || !selected) return;
    const cents = Object.fromEntries(MONEY_FIELDS.map(({ field }) => [field, parseMoney(draft[field])])) as Record<
      MoneyField,
      number | undefined
    >;
    const km = /^\d{1,6}$/.test(draft.includedKm.trim()) ? Number(draft.includedKm.trim()) : undefined;
    const from = draft.effectiveFrom ? new Date(draft.effectiveFrom).getTime() : undefined;
    const checks: Partial<Record<FormField, string | undefined>> = {
      currency: /^[A-Z]{3}$/.test(draft.currency.trim()) ? undefined : 'Three capital letters, e.g. EUR.',
      includedKm:
        km === undefined
          ? 'Whole kilometres, 0 or more.'
          : km > TARIFF_FIGURE_MAX.includedKm
            ? `At most ${TARIFF_FIGURE_MAX.includedKm} km.`
            : undefined,
      effectiveFrom:
        from !== undefined && (!Number.isFinite(from) || from < Date.now() - 60_000)
          ? 'Now or later: a version in force is never changed after the fact.'
          : undefined,
    };
    for (const { field } of MONEY_FIELDS) {
      const v = cents[field];
      checks[field] =
        v === undefined
          ? 'An amount such as 0.29 (0 or more).'
          : v > TARIFF_FIGURE_MAX[field]
            ? `At most ${formatMoney(TARIFF_FIGURE_MAX[field], draft.currency)}.`
            : undefined;
    }
    if (!fields.check(checks)) return;
    setSaving(true);
    setServerError(undefined);
    try {
      const created = await r.staffPost<TariffVersionView>(`/ops/v1/tariffs/${encodeURIComponent(selected.vehicleType.id)}/versions`, {
        ...(from !== undefined ? { effectiveFrom: from } : {}),
        currency: draft.currency.trim(),
        includedKm: km,
        ...cents,
      });
      await load();
      setDraft(undefined);
      fields.reset();
      setNotice(
        created.status === 'in_force'
          ? `The new version is in force now. Rentals already running keep the version they started with.`
          : `The new version takes effect ${formatDateTime(created.effectiveFrom)}.`,
      );
    } catch (err) {
      const text = refusalText(err);
      const field = fieldOfRefusal(text);
      if (field) fields.check({ [field]: text });
      else setServerError(text);
    } finally {
      setSaving(false);
    }
  };

  const withdraw = (v: TariffVersionView) => {
    if (!selected) return;
    confirm({
      title: `Withdraw the version from ${formatDateTime(v.effectiveFrom)}?`,
      detail: `It will not take effect; ${selected.vehicleType.name} stays on the version before it. Nobody was quoted with it yet.`,
      confirmLabel: 'Withdraw version',
      onConfirm: () => {
        void (async () => {
          if (!r) return;
          try {
            await r.staffPost(
              `/ops/v1/tariffs/${encodeURIComponent(selected.vehicleType.id)}/versions/${encodeURIComponent(v.id)}/withdraw`,
              {
                reason: 'withdrawn from the desk before it took effect',
              },
            );
            setNotice('The upcoming version was withdrawn.');
            await load();
          } catch (err) {
            setServerError(refusalText(err));
          }
        })();
      },
    });
  };

  return (
    <div className="admin-screen tariffs-screen" data-testid="tariffs-screen">
      <aside className="tariff-types replica-panel">
        <div className="panel-toolbar">
          <strong>Vehicle types</strong>
        </div>
        {loadError ? (
          <div className="admin-error" role="alert">
            The tariffs could not be loaded: {loadError}
          </div>
        ) : null}
        {tariffs && tariffs.length === 0 ? (
          <div className="panel-empty">No vehicle types yet: they appear when vehicles are registered.</div>
        ) : null}
        {!tariffs && !loadError ? <div className="panel-empty">Loading the tariffs…</div> : null}
        <ul className="tariff-type-list">
          {tariffs?.map((t) => {
            const current = t.versions.find((v) => v.status === 'in_force');
            const upcoming = t.versions.filter((v) => v.status === 'upcoming').length;
            return (
              <li key={t.vehicleType.id}>
                <button
                  type="button"
                  className={`tariff-type${t === selected ? ' tariff-type-active' : ''}`}
                  aria-current={t === selected ? 'true' : undefined}
                  data-testid={`tariff-type-${t.vehicleType.id}`}
                  onClick={() => choose(t.vehicleType.id)}
                >
                  <span className="tariff-type-name">{t.vehicleType.name}</span>
                  <span className="muted">
                    {current ? `${formatMoney(current.perMinuteDrivingCents, current.currency)}/min driving` : 'no version in force'}
                    {upcoming > 0 ? ` · ${upcoming} upcoming` : ''}
                  </span>
                </button>
              </li>
            );
          })}
        </ul>
      </aside>
      <section className="tariff-detail replica-panel" data-testid="tariff-detail">
        {selected ? (
          <>
            <div className="panel-toolbar">
              <strong>{selected.vehicleType.name}</strong>
              <span className="muted">{selected.vehicleType.propulsion === 'electric' ? 'Electric' : 'Combustion'}</span>
              {mayManage && !draft ? (
                <button
                  type="button"
                  className="admin-primary"
                  data-testid="tariff-new-version"
                  onClick={() => {
                    setDraft(draftFrom(inForce));
                    setNotice(undefined);
                    setServerError(undefined);
                  }}
                >
                  New version…
                </button>
              ) : null}
            </div>
            {notice ? (
              <div className="admin-notice" role="status" data-testid="tariff-notice">
                {notice}
              </div>
            ) : null}
            {serverError && !draft ? (
              <div className="admin-error" role="alert">
                {serverError}
              </div>
            ) : null}
            {draft ? (
              <form
                className="admin-form tariff-form"
                data-testid="tariff-form"
                onSubmit={(e) => {
                  e.preventDefault();
                  void save();
                }}
              >
                <div className="admin-form-title">New version — the one in force is kept for the rentals that started with it</div>
                <div className="tariff-form-grid">
                  <label>
                    Takes effect (empty: now)
                    <FieldInput
                      type="datetime-local"
                      {...fields.input('effectiveFrom', draft.effectiveFrom, set('effectiveFrom'))}
                      data-testid="tariff-effective-from"
                    />
                  </label>
                  <label>
                    Currency
                    <FieldInput
                      {...fields.input('currency', draft.currency, set('currency'))}
                      maxLength={3}
                      data-testid="tariff-currency"
                    />
                  </label>
                  <label>
                    Included km per day
                    <FieldInput
                      inputMode="numeric"
                      {...fields.input('includedKm', draft.includedKm, set('includedKm'))}
                      data-testid="tariff-includedKm"
                    />
                  </label>
                  {MONEY_FIELDS.map(({ field, label }) => (
                    <label key={field}>
                      {label}
                      <FieldInput inputMode="decimal" {...fields.input(field, draft[field], set(field))} data-testid={`tariff-${field}`} />
                    </label>
                  ))}
                </div>
                {serverError ? (
                  <div className="admin-error" role="alert" data-testid="tariff-save-error">
                    {serverError}
                  </div>
                ) : null}
                <div className="admin-form-actions">
                  <button type="submit" className="admin-primary" disabled={saving} data-testid="tariff-save">
                    {saving ? 'Saving…' : 'Add version'}
                  </button>
                  <button
                    type="button"
                    disabled={saving}
                    onClick={() => {
                      setDraft(undefined);
                      fields.reset();
                      setServerError(undefined);
                    }}
                  >
                    Cancel
                  </button>
                </div>
              </form>
            ) : null}
            <table className="replica-table" data-testid="tariff-versions">
              <thead>
                <tr>
                  <th>Status</th>
                  <th>From</th>
                  <th>Driving</th>
                  <th>Parked</th>
                  <th>Included</th>
                  <th>Per km</th>
                  <th>Daily cap</th>
                  <th>Reservation</th>
                  <th>By</th>
                  {mayManage ? <th /> : null}
                </tr>
              </thead>
              <tbody>
                {selected.versions.map((v) => (
                  <tr key={v.id} data-version-id={v.id} data-status={v.status} className={`tariff-row-${v.status}`}>
                    <td>
                      <span className={`tariff-status tariff-status-${v.status}`}>{STATUS_LABELS[v.status]}</span>
                    </td>
                    <td>{v.effectiveFrom === null ? 'From the start' : formatDateTime(v.effectiveFrom)}</td>
                    <td>{formatMoney(v.perMinuteDrivingCents, v.currency)}/min</td>
                    <td>{formatMoney(v.perMinuteParkedCents, v.currency)}/min</td>
                    <td>{v.includedKm} km/day</td>
                    <td>{formatMoney(v.perKmCents, v.currency)}</td>
                    <td>{v.dailyCapCents > 0 ? formatMoney(v.dailyCapCents, v.currency) : 'none'}</td>
                    <td>{formatMoney(v.reservationFeePerMinuteCents, v.currency)}/min</td>
                    <td>{v.createdBy === 'system' ? 'initial' : staffName(v.createdBy)}</td>
                    {mayManage ? (
                      <td className="row-actions">
                        {v.status === 'upcoming' && !v.used ? (
                          <button type="button" onClick={() => withdraw(v)}>
                            Withdraw…
                          </button>
                        ) : null}
                      </td>
                    ) : null}
                  </tr>
                ))}
              </tbody>
            </table>
            {selected.versions.every((v) => v.status !== 'upcoming') ? (
              <p className="muted tariff-footnote">No upcoming version. A new version can take effect now or at a later date and time.</p>
            ) : null}
          </>
        ) : null}
      </section>
      {confirmElement}
    </div>
  );
}
